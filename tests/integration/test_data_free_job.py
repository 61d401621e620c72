"""The `data-free` recipe end to end on a tiny generated scenario: a student distilled from a teacher
on windows synthesised from it (no real training window read unless `kd.data_free.real_fraction` asks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kdcs.config import ConfigError, load_config
from kdcs.distill.data_free.training_set import SYNTHETIC_FILE
from kdcs.distill.data_free.window_set import load_window_set
from kdcs.distill.run_config import RunConfig
from kdcs.jobs.train import run_training
from tests.fixtures.scenario_factory import make_scenario
from tests.fixtures.training import TINY_RUN_OVERRIDES

TINY_SYNTHESIS = (
    "kd.recipe=data-free",
    "kd.data_free.windows=24",
    "kd.data_free.val_windows=8",
    "kd.data_free.batch_size=16",
    "kd.data_free.steps=3",
)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("scn")
    return make_scenario(
        root / "s", num_sequences=10, sequence_length=12, modalities=("camera", "power", "gps", "beam")
    )


def config_for(scenario: Path, cache: Path, *extra: str) -> RunConfig:
    overrides = [
        f"data.scenario={scenario}",
        f"data.cache_root={cache}",
        "data.preprocess.camera_size=[32,32]",
    ]
    return load_config(RunConfig(), overrides=[*overrides, *TINY_RUN_OVERRIDES, *extra])


@pytest.fixture(scope="module")
def teacher_run(scenario: Path, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("runs") / "teacher"
    architecture = (
        "model.architecture=multimodal-teacher",
        "model.modalities=[camera_motion,gps,beam_history]",
    )
    run_training(config_for(scenario, run.parent / "cache", *architecture), run)
    return run


def data_free_run(scenario: Path, teacher: Path, out: Path, *extra: str) -> dict:
    config = config_for(scenario, teacher.parent / "cache", *TINY_SYNTHESIS, f"kd.teacher={teacher}", *extra)
    return run_training(config, out)


def test_a_gps_beam_student_is_distilled_from_synthetic_windows_alone(scenario, teacher_run, tmp_path):
    metrics = data_free_run(scenario, teacher_run, tmp_path / "df", "model.architecture=gps-beam-student")
    report = metrics["data_free"]
    assert metrics["recipe"] == "data-free" and metrics["epochs_run"] == 2
    assert report["synthetic_windows"] == {"train": 24, "val": 8} and report["real_windows"] == 0
    assert report["synthetic_set"] == "synthesised by this run" and report["validated_on"] == "synthetic"
    assert report["teacher_modalities_read"] == ["gps", "beam_history"]
    assert metrics["val"]["num_windows"] == 8  # selected on synthetic windows: no real label read
    assert metrics["test"]["num_windows"] == metrics["windows"]["test"] > 0  # judged on the real test split
    windows, _ = load_window_set(tmp_path / "df" / SYNTHETIC_FILE)
    assert len(windows) == 32 and windows.arrays["gps"].shape[1:] == (4, 4)

    again = data_free_run(
        scenario, teacher_run, tmp_path / "again", "model.architecture=gps-beam-student",
        f"kd.data_free.synthetic_set={tmp_path / 'df' / SYNTHETIC_FILE}",
        "kd.data_free.real_fraction=0.1", "kd.data_free.validate_on=real",
    )  # fmt: skip
    assert again["data_free"]["synthetic_set"].startswith("reused")
    assert again["data_free"]["real_windows"] == max(round(0.1 * metrics["windows"]["train"]), 1)
    assert again["val"]["num_windows"] == metrics["windows"]["val"]


def test_a_camera_student_gets_synthetic_motion_masks(scenario, teacher_run, tmp_path):
    student = (
        "model.architecture=ds-student",
        "model.modalities=[camera_motion]",
        "model.depthwise_channels=[4,8,8,8]",
    )
    metrics = data_free_run(scenario, teacher_run, tmp_path / "cam", *student)
    assert metrics["data_free"]["teacher_modalities_read"] == ["camera_motion"]
    windows, _ = load_window_set(tmp_path / "cam" / SYNTHETIC_FILE)
    masks = windows.arrays["camera_motion"]
    assert masks.shape == (32, 4, 32, 32) and set(masks.flatten().tolist()) <= {0, 1}


def test_a_synthetic_set_of_another_teacher_setting_is_refused(scenario, teacher_run, tmp_path):
    data_free_run(scenario, teacher_run, tmp_path / "df", "model.architecture=gps-beam-student")
    with pytest.raises(ConfigError, match="kd.data_free.synthetic_set"):
        data_free_run(
            scenario, teacher_run, tmp_path / "other", "model.architecture=gps-beam-student",
            "kd.data_free.steps=4", f"kd.data_free.synthetic_set={tmp_path / 'df' / SYNTHETIC_FILE}",
        )  # fmt: skip
    with pytest.raises(ConfigError, match="another folder"):  # the folder's own windows are never overwritten
        data_free_run(
            scenario,
            teacher_run,
            tmp_path / "df",
            "model.architecture=gps-beam-student",
            "kd.data_free.steps=4",
        )
    with pytest.raises(ConfigError, match="no file at"):
        data_free_run(
            scenario, teacher_run, tmp_path / "none", "model.architecture=gps-beam-student",
            f"kd.data_free.synthetic_set={tmp_path / 'missing.safetensors'}",
        )  # fmt: skip
    assert json.loads((tmp_path / "df" / "metrics.json").read_text())["recipe"] == "data-free"
    assert not (tmp_path / "none").exists()
