"""`kdcs demo --quick` data stages: synthesize and prepare a tiny scenario, then reuse both.

The study is cut to the teacher alone (`--set`), so this test is about the data layer; the whole
quick demo is tested in test_experiment_demo.py.
"""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from kdcs.cli.main import app

runner = CliRunner()
TEACHER_ONLY = ["--set", "students=[]", "--set", "collab=[]", "--set", "self_kd=null"]


def test_quick_demo_runs_then_reuses_its_data(tmp_path: Path):
    args = ["demo", "--quick", "--out", str(tmp_path / "demo"), "--cache-workers", "1", *TEACHER_ONLY]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "synthesize: wrote" in first.output and "prepare: ap1 built" in first.output
    assert "floor: linear_fit" in first.output
    assert (tmp_path / "demo" / "scenario" / "manifest.json").is_file()
    report = (tmp_path / "demo" / "report.md").read_text()  # 8 test windows, 2 epochs: not a result
    assert "**A smoke run, not a result**: 8 test windows" in report and "cut at 2 epoch(s)" in report
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert "reused the scenario" in second.output and "prepare: ap1 reused" in second.output
    assert "reused   teacher" in second.output
