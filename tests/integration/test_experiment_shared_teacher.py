"""A study computes its frozen teacher's outputs once: one stage writes them, every KD run (students and
the self-KD teacher) reads that file instead of running the teacher again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kdcs.cli.main import app
from kdcs.distill.teacher_outputs import CachedTeacher

runner = CliRunner()
STUDENTS = (
    "students=[{name: gps, run: {model: {architecture: gps-beam-student}}, recipes: [none, logit, rkd]},"
    " {name: gps-L3, run: {model: {architecture: gps-beam-student, history: 2}}, recipes: [cross-modal]}]"
)


@pytest.mark.slow
def test_teacher_outputs_are_computed_once_per_study_and_read_by_every_kd_run(tmp_path: Path, monkeypatch):
    builds = []
    build = CachedTeacher.build.__func__

    def counting_build(cls, *args, **kwargs):
        builds.append(kwargs.get("feature_keys", args[2] if len(args) > 2 else ()))
        return build(cls, *args, **kwargs)

    monkeypatch.setattr(CachedTeacher, "build", classmethod(counting_build))
    out = tmp_path / "study"
    args = ["demo", "--quick", "--out", str(out), "--workers", "1", "--set", STUDENTS, "--set", "collab=[]"]

    result = runner.invoke(app, args)

    assert result.exit_code == 0, result.output
    assert builds == [
        None
    ]  # once, with every feature, in the teacher-outputs stage (workers=1: in this process)
    record = json.loads((out / "stages" / "teacher-outputs.json").read_text())
    shared = record["result"]["path"]
    assert {"final", "frame"} <= set(record["result"]["features"])
    kd_runs = ("teacher-self-kd", "gps-logit", "gps-rkd", "gps-L3-cross-modal")
    for stage in kd_runs:
        metrics = json.loads((out / "models" / stage / "metrics.json").read_text())
        assert metrics["teacher_outputs"] == f"shared: {shared}", stage
    assert json.loads((out / "models" / "gps-none" / "metrics.json").read_text())["teacher_outputs"] is None
