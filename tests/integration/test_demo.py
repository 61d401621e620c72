"""`kdcs demo --quick`: synthesize, prepare and inspect a tiny scenario; a second run reuses it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from kdcs.cli.main import app

runner = CliRunner()


def test_quick_demo_runs_then_reuses_its_data(tmp_path: Path):
    first = runner.invoke(app, ["demo", "--quick", "--out", str(tmp_path / "demo"), "--workers", "1"])
    assert first.exit_code == 0, first.output
    assert "wrote" in first.output and "repeat_last top1" in first.output
    assert (tmp_path / "demo" / "scenario" / "manifest.json").is_file()
    second = runner.invoke(app, ["demo", "--quick", "--out", str(tmp_path / "demo"), "--workers", "1"])
    assert second.exit_code == 0, second.output
    assert "reused the identical scenario" in second.output and "reused" in second.output.split("2/3")[1]
