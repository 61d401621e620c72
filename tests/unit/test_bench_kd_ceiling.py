"""benchmarks/bench_kd_ceiling.py derives its runs from a study's run folders: the same-sensor teacher is
the study's teacher with the student's modalities only, and the taught student is the study's logit run
with another teacher."""

from __future__ import annotations

import math

from benchmarks.bench_kd_ceiling import gap_closed, same_sensor_teacher, taught_student
from kdcs.config import load_config
from kdcs.distill.run_config import RunConfig
from kdcs.jobs.train import CONFIG_YAML, config_text


def _write(study, stage: str, overrides: list[str]) -> None:
    folder = study / "models" / f"{stage}-seed1"
    folder.mkdir(parents=True)
    config = load_config(RunConfig(), overrides=[*overrides, "train.seed=1"])
    (folder / CONFIG_YAML).write_text(config_text(config))


def test_runs_follow_the_study_with_the_students_sensors(tmp_path) -> None:
    teacher = ["model.architecture=multimodal-teacher", "model.modality_dropout=0.3", "train.optim.lr=2e-3"]
    _write(tmp_path, "teacher", [*teacher, "model.modalities=[camera_motion,radar,gps,beam_history]"])
    student = ["model.architecture=radar-student", "model.modalities=[radar,beam_history]"]
    _write(tmp_path, "radar-none", student)
    _write(
        tmp_path, "radar-L3-logit", [*student, "model.history=3", "kd.recipe=logit", "kd.teacher=/study/t"]
    )

    own = same_sensor_teacher(tmp_path, "radar", 1)
    assert own.model.modalities == ("radar", "beam_history")
    assert (own.model.architecture, own.model.modality_dropout, own.train.optim.lr, own.train.seed) == (
        "multimodal-teacher",
        0.3,
        2e-3,
        1,
    )
    taught = taught_student(tmp_path, "radar-L3", 1, tmp_path / "radar-teacher-seed1")
    assert taught.kd.teacher == str(tmp_path / "radar-teacher-seed1")
    assert (taught.model.history, taught.kd.recipe, taught.train.seed) == (3, "logit", 1)


def test_gap_closed() -> None:
    assert gap_closed(0.2, 0.25, 0.3) == 0.5
    assert gap_closed(0.2, 0.19, 0.3) < 0
    assert math.isnan(gap_closed(0.2, 0.25, 0.2))
