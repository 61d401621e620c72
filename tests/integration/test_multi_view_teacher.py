"""The multi-view central teacher end to end on a tiny two-AP street, and a student taught by one head."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from kdcs.config import ConfigError, from_dict, load_config
from kdcs.data.prepared import prepare_data
from kdcs.distill.multi_view import head_source, join_aps
from kdcs.distill.run_config import RunConfig
from kdcs.distill.trained_model import load_trained_model
from kdcs.jobs.multi_view_teacher import MultiViewRunConfig, run_multi_view_teacher
from kdcs.jobs.train import run_training
from kdcs.models.multi_view_teacher import MultiViewConfig, MultiViewTeacher
from kdcs.models.weights import save_model_weights
from tests.fixtures.multi_ap import DATA, TINY_RADAR, write_street
from tests.fixtures.training import TINY_RUN_OVERRIDES, TINY_WIDTHS


@pytest.fixture(scope="module")
def street(tmp_path_factory) -> Path:
    return write_street(tmp_path_factory.mktemp("street") / "scenario")


@pytest.fixture(scope="module")
def teacher_run(street, tmp_path_factory) -> tuple[Path, dict]:
    run = tmp_path_factory.mktemp("mv") / "teacher"
    overrides = {
        "data": {**DATA, "scenario": str(street), "cache_root": str(run.parent / "cache")},
        "aps": ["ap1", "ap2"],
        "model": {
            **TINY_RADAR,
            **TINY_WIDTHS,
            "history": 4,
            "horizon": 1,
        },
        "train": {"epochs": 2, "batch_size": 16, "num_threads": 1, "progress": False, "tensorboard": False},
    }
    config = from_dict(MultiViewRunConfig, overrides)
    return run, run_multi_view_teacher(config, run, workers=1)


def test_teacher_reports_every_head_on_its_ap(teacher_run):
    run, metrics = teacher_run

    assert metrics["views"] == ["ap1/gps", "ap1/beam_history", "ap2/radar", "ap2/beam_history"]
    for split in ("val", "test"):
        assert set(metrics[split]) == {"ap1", "ap2"}
        assert len(metrics[split]["ap2"]["top1"]["per_slot"]) == 2  # t and t+1
    assert metrics["fronthaul_bytes"] > 0
    assert json.loads((run / "metrics.json").read_text())["best_epoch"] == metrics["best_epoch"]
    assert isinstance(load_trained_model(run), MultiViewTeacher)


def test_head_source_is_keyed_by_the_student_ap_rows(teacher_run, street):
    # Prepare
    run, _ = teacher_run
    teacher = load_trained_model(run)
    config = load_config(RunConfig(), overrides=student_overrides(street, run, "ap2"))
    joined = join_aps(config.data, teacher.config.aps, workers=1)

    # Execute
    source = head_source(teacher, joined, "ap2")

    # Assert: the student's own train windows are all covered, with ap2's head
    own = prepare_data(dataclasses.replace(config.data, ap="ap2"), workers=1).windows["train"].end_rows
    logits, features = source.outputs({"window_end": own})
    assert logits.shape == (len(own), 2, 64) and features["final"].shape[0] == len(own)


def student_overrides(street: Path, teacher: Path, ap: str, recipe: str = "logit") -> list[str]:
    return [
        f"data.scenario={street}",
        f"data.ap={ap}",
        f"data.cache_root={teacher.parent / 'cache'}",
        "data.preprocess.radar_size=[16,16]",
        *TINY_RUN_OVERRIDES,
        "model.architecture=radar-student",
        "model.modalities=[radar,beam_history]",
        "model.radar_student_channels=[4,8]",
        f"kd.recipe={recipe}",
        f"kd.teacher={teacher}",
    ]


@pytest.mark.parametrize("recipe", ["logit", "cross-modal"])
def test_a_single_sensor_student_distils_from_its_own_head(teacher_run, street, tmp_path, recipe):
    run, _ = teacher_run
    config = load_config(RunConfig(), overrides=student_overrides(street, run, "ap2", recipe))

    metrics = run_training(config, tmp_path / "student", workers=1)

    assert metrics["teacher"] == str(run) and metrics["epochs_run"] == 2
    assert np.isfinite(metrics["test"]["top1"]["mean"])


def test_a_student_at_an_ap_without_head_is_refused(teacher_run, street, tmp_path):
    # Prepare: a teacher whose only head is for another street's AP
    run, _ = teacher_run
    model = {"architecture": "gps-beam-student", **TINY_WIDTHS, "history": 4, "horizon": 1}
    stranger = MultiViewTeacher(
        from_dict(MultiViewConfig, {"aps": ["ap9"], "views": ["ap9/gps"], "model": model})
    )
    save_model_weights(tmp_path / "stranger.safetensors", stranger)
    overrides = [*student_overrides(street, run, "ap2"), f"kd.teacher={tmp_path / 'stranger.safetensors'}"]

    with pytest.raises(ConfigError, match="'data.ap' \\('ap2'\\) has no head"):
        run_training(load_config(RunConfig(), overrides=overrides), tmp_path / "s", workers=1)
