"""`kdcs demo --quick` end to end: every stage runs, every model is evaluated, the report and plots are
written; a second run reuses every stage; `kdcs run` names a bad key and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from kdcs.cli.main import app
from kdcs.experiments.study.config import load_experiment
from kdcs.experiments.study.experiment import resolve_study

runner = CliRunner()
PLOTS = {
    "topk_per_slot.png",
    "accuracy_vs_complexity.png",
    "collab_accuracy_vs_uplink.png",
    "training_curves.png",
    "scene.png",
}


def in_unit_interval(value: float) -> bool:
    return 0.0 <= value <= 1.0


@pytest.mark.slow
def test_quick_demo_writes_a_full_report_then_reuses_every_stage(tmp_path: Path):
    out = tmp_path / "demo"

    first = runner.invoke(app, ["demo", "--quick", "--out", str(out), "--cache-workers", "1"])

    assert first.exit_code == 0, first.output
    assert "synthesize: wrote" in first.output and "done     teacher" in first.output
    for name in ("results.json", "report.md", "experiment.yaml"):
        assert (out / name).is_file()
    results = json.loads((out / "results.json").read_text())
    _, runs, collabs = resolve_study(load_experiment(quick=True), out)
    assert set(results["models"]) == {run.id for run in runs}
    for model_id, entry in results["models"].items():
        for metric in ("top1", "top3", "top5", "dba"):
            values = [entry["test"][metric]["mean"], *entry["test"][metric]["per_slot"]]
            assert all(in_unit_interval(v) for v in values), (model_id, metric, values)
    assert set(results["complexity"]) == {run.group for run in runs}
    assert all(
        c["parameters"]["deployable"] > 0 and c["latency"]["median_ms"] > 0
        for c in results["complexity"].values()
    )
    assert set(results["collab"]) == {c.name for c in collabs}
    assert all(run["bytes"]["up"] > 0 for run in results["collab"].values())
    assert results["findings"] and len(results["paper_checks"]) == 4
    assert results["plot_errors"] == {} and set(results["plots"]) == PLOTS
    for name in PLOTS:
        with Image.open(out / "plots" / name) as image:
            image.verify()
            assert image.size[0] > 300 and image.size[1] > 200
    report = (out / "report.md").read_text()
    assert "## Findings" in report and "plots/scene.png" in report
    records = {p.name: p.stat().st_mtime_ns for p in (out / "stages").glob("*.json")}

    second = runner.invoke(app, ["demo", "--quick", "--out", str(out), "--cache-workers", "1"])

    assert second.exit_code == 0, second.output
    assert "reused the scenario" in second.output and "started" not in second.output
    assert second.output.count("reused   ") == len(records)
    assert {p.name: p.stat().st_mtime_ns for p in (out / "stages").glob("*.json")} == records


def test_run_names_a_bad_key_and_writes_nothing(tmp_path: Path):
    config = tmp_path / "exp.yaml"
    config.write_text("name: broken\nteacher: {train: {epoks: 3}}\n")

    result = runner.invoke(app, ["run", "--config", str(config), "--out", str(tmp_path / "run")])

    assert result.exit_code == 2
    assert "teacher.train.epoks" in result.output
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_a_failing_stage_is_named_and_a_fixed_rerun_resumes(tmp_path: Path):
    out = tmp_path / "demo"
    # the radar student reads ap2, which has a camera only: its stage fails when it builds its data
    broken = "students=[{name: radar, run: {data: {ap: ap2}, model: {architecture: radar-student}}}]"
    base = [
        "demo",
        "--quick",
        "--out",
        str(out),
        "--cache-workers",
        "1",
        "--set",
        "collab=[]",
        "--set",
        "recipes=[none]",
    ]

    failed = runner.invoke(app, [*base, "--set", broken])

    assert failed.exit_code == 1, failed.output
    assert "stage 'radar-none' failed" in failed.output and "resumes" in failed.output
    assert (out / "stages" / "teacher.json").is_file() and (out / "stages" / "radar-none.error.txt").is_file()
    assert not (out / "report.md").exists()

    fixed = runner.invoke(app, [*base, "--set", broken.replace("ap2", "ap1")])

    assert fixed.exit_code == 0, fixed.output
    assert "reused   teacher" in fixed.output and "done     radar-none" in fixed.output
    assert (out / "report.md").is_file() and not (out / "stages" / "radar-none.error.txt").exists()
