"""The data CLI end to end on generated data and on the real scenario-5 folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from kdcs.cli.main import app
from tests.fixtures.scenario_factory import make_scenario, nan_in_power

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth") / "street"
    result = invoke("data", "synth", "--out", root, "--quick", "--workers", "1", "--json")
    assert result.exit_code == 0, result.output
    return root


def test_synth_writes_one_deepsense_folder_per_ap(tiny_root: Path):
    manifest = json.loads((tiny_root / "manifest.json").read_text())
    names = [ap["name"] for ap in manifest["aps"]]
    assert names == sorted(p.name for p in tiny_root.iterdir() if p.is_dir())
    for name in names:
        assert (tiny_root / name / f"{name}.csv").is_file()


def test_synth_refuses_to_overwrite_without_flag(tiny_root: Path):
    result = runner.invoke(app, ["data", "synth", "--out", str(tiny_root), "--quick", "--workers", "1"])
    assert result.exit_code == 2
    assert "error" in result.output


def test_synth_unknown_override_names_the_key(tmp_path: Path):
    result = runner.invoke(app, ["data", "synth", "--out", str(tmp_path / "x"), "--quick", "--set", "num_apz=3"])
    assert result.exit_code == 2
    assert "num_apz" in result.output
    assert not (tmp_path / "x").exists()


def test_prepare_then_reuse_then_inspect_json(tiny_root: Path, tmp_path: Path):
    first = invoke("data", "prepare", "--scenario", tiny_root, "--out", tmp_path, "--cache-workers", "1", "--json")
    second = invoke("data", "prepare", "--scenario", tiny_root, "--out", tmp_path, "--cache-workers", "1", "--json")
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert {r["status"] for r in json.loads(first.stdout)} == {"built"}
    assert {r["status"] for r in json.loads(second.stdout)} == {"reused"}
    summaries = json.loads(invoke("data", "inspect", "--scenario", tiny_root, "-L", "4", "-J", "2", "--json").stdout)
    assert [s["name"] for s in summaries] == [r["name"] for r in json.loads(first.stdout)]
    for summary in summaries:
        slots = summary["splits"]["test"]["floors"]["repeat_last"]["top1"]["per_slot"]
        assert len(slots) == 3 and all(0.0 <= v <= 1.0 for v in slots)
        assert sum(summary["beam_histogram"]) == summary["samples"]


def test_inspect_human_output_mentions_floors(tiny_root: Path):
    result = invoke("data", "inspect", "--scenario", tiny_root, "-L", "4", "-J", "1")
    assert result.exit_code == 0
    assert "repeat_last top1" in result.output and "linear_fit top5" in result.output


def test_bad_power_file_is_one_clear_error_and_skip_works(tmp_path: Path):
    folder = make_scenario(tmp_path / "scn", modalities=("power", "gps"))
    nan_in_power(folder, csv_row=5)
    failed = runner.invoke(app, ["data", "inspect", "--scenario", str(folder)])
    assert failed.exit_code == 2
    assert "line 5" in failed.output and "unit1_pwr_60ghz" in failed.output
    skipped = runner.invoke(app, ["data", "inspect", "--scenario", str(folder), "--skip-bad-rows", "--json"])
    assert skipped.exit_code == 0
    assert len(json.loads(skipped.stdout)[0]["skipped_rows"]) == 1


def test_bad_split_argument(tiny_root: Path):
    result = runner.invoke(app, ["data", "inspect", "--scenario", str(tiny_root), "--split-fractions", "0.5,0.5"])
    assert result.exit_code == 2 and "--split-fractions" in result.output


def test_old_spellings_still_work_and_say_what_replaced_them(tiny_root: Path, tmp_path: Path):
    old = runner.invoke(app, ["data", "inspect", str(tiny_root), "--split", "0.7,0.1,0.2", "--json"])
    new = invoke("data", "inspect", "--scenario", tiny_root, "--split-fractions", "0.7,0.1,0.2", "--json")

    assert old.exit_code == 0 and json.loads(old.stdout) == json.loads(new.stdout)
    assert "deprecated: the positional SCENARIO" in old.stderr and "use --scenario" in old.stderr
    assert "use --split-fractions" in old.stderr and "deprecated" not in new.stderr
    prepared = runner.invoke(app, ["data", "prepare", str(tiny_root), "--cache", str(tmp_path), "--workers", "1"])
    assert prepared.exit_code == 0 and "use --out" in prepared.stderr and "use --cache-workers" in prepared.stderr


def test_an_option_and_its_old_spelling_together_or_neither_is_an_error(tiny_root: Path):
    both = runner.invoke(app, ["data", "inspect", str(tiny_root), "--scenario", str(tiny_root)])
    neither = runner.invoke(app, ["data", "inspect", "--json"])

    assert both.exit_code == 2 and "give --scenario only" in both.stderr
    assert neither.exit_code == 2 and "missing option --scenario" in neither.stderr


@pytest.mark.realdata
def test_real_scenario5_inspect_and_prepare(deepsense_scenario5: Path, tmp_path: Path):
    summary = json.loads(invoke("data", "inspect", "--scenario", deepsense_scenario5, "--json").stdout)[0]
    assert summary["samples"] == 2300 and summary["sequences"] == 29
    assert summary["modalities"] == {"power": 2300, "gps": 2300}
    prepared = json.loads(
        invoke("data", "prepare", "--scenario", deepsense_scenario5, "--out", tmp_path, "--json").stdout
    )[0]
    assert prepared["status"] == "built" and prepared["modalities"] == ["power", "gps"]
    gps = np.load(Path(prepared["cache_dir"]) / "gps.npy")
    assert gps.shape == (2300, 4) and np.isfinite(gps).all()
    assert 1.0 < np.median(gps[:, 2]) < 200.0  # vehicle within a street's range of the base station


def test_console_script_is_installed():
    result = subprocess.run([sys.executable, "-m", "kdcs.cli.main", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "data" in result.stdout
