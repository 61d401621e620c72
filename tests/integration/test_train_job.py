"""Training and distillation jobs end to end on a tiny generated scenario."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from kdcs.config import ConfigError, load_config
from kdcs.distill.run_config import RunConfig
from kdcs.distill.trained_model import load_trained_model
from kdcs.jobs.train import run_training
from kdcs.models.weights import CheckpointError
from tests.fixtures.scenario_factory import make_scenario
from tests.fixtures.training import TINY_RUN_OVERRIDES

FAST = list(TINY_RUN_OVERRIDES)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("scn")
    return make_scenario(
        root / "s", num_sequences=10, sequence_length=12, modalities=("camera", "power", "gps", "beam")
    )


def config_for(scenario: Path, cache: Path, *extra: str) -> RunConfig:
    return load_config(
        RunConfig(),
        overrides=[
            f"data.scenario={scenario}",
            f"data.cache_root={cache}",
            "data.preprocess.camera_size=[32,32]",
            *FAST,
            *extra,
        ],
    )


@pytest.fixture(scope="module")
def teacher_run(scenario: Path, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("runs") / "teacher"
    cache = run.parent / "cache"
    config = config_for(
        scenario, cache, "model.architecture=multimodal-teacher", "model.modalities=[camera,gps,beam_history]"
    )
    run_training(config, run)
    return run


def test_training_writes_a_complete_run_folder(teacher_run: Path):
    metrics = json.loads((teacher_run / "metrics.json").read_text())
    assert (teacher_run / "best.safetensors").is_file() and (teacher_run / "metrics.csv").is_file()
    assert (
        yaml.safe_load((teacher_run / "config.yaml").read_text())["model"]["architecture"]
        == "multimodal-teacher"
    )
    assert metrics["epochs_run"] == 2 and metrics["recipe"] == "none"
    assert len(metrics["test"]["top1"]["per_slot"]) == 2 and 0.0 <= metrics["test"]["top5"]["mean"] <= 1.0
    assert metrics["test"]["num_windows"] == metrics["windows"]["test"] > 0
    assert "power_loss_db" in metrics["test"]  # the scenario has 64-beam powers
    model = load_trained_model(teacher_run)
    assert model.config.architecture == "multimodal-teacher"


@pytest.mark.parametrize("recipe", ["logit", "feature", "rkd", "cross-modal"])
def test_distillation_recipes_run_from_a_teacher_folder(
    recipe, scenario: Path, teacher_run: Path, tmp_path: Path
):
    config = config_for(
        scenario,
        teacher_run.parent / "cache",
        "model.architecture=gps-beam-student",
        f"kd.recipe={recipe}",
        f"kd.teacher={teacher_run}",
    )
    metrics = run_training(config, tmp_path / recipe)
    assert metrics["recipe"] == recipe and metrics["teacher"] == str(teacher_run)
    assert "kd" in metrics["loss_equation"] or "rkd" in metrics["loss_equation"]
    assert 0.0 <= metrics["test"]["top1"]["mean"] <= 1.0


def test_temporal_distillation_student_sees_a_shorter_window(
    scenario: Path, teacher_run: Path, tmp_path: Path
):
    config = config_for(
        scenario,
        teacher_run.parent / "cache",
        "model.architecture=gps-beam-student",
        "model.history=2",
        "kd.recipe=feature",
        f"kd.teacher={teacher_run}",
    )
    metrics = run_training(config, tmp_path / "short")
    assert load_trained_model(tmp_path / "short").config.history == 2
    assert metrics["test"]["num_windows"] > 0


def test_kd_without_teacher_and_too_long_history_are_config_errors(scenario: Path, tmp_path: Path):
    with pytest.raises(ConfigError, match="kd.teacher"):
        run_training(config_for(scenario, tmp_path / "c", "kd.recipe=logit"), tmp_path / "a")
    with pytest.raises(ConfigError, match="model.history"):
        run_training(config_for(scenario, tmp_path / "c", "model.history=6"), tmp_path / "b")
    with pytest.raises(ConfigError, match="kd.recipe"):
        run_training(config_for(scenario, tmp_path / "c", "kd.recipe=magic"), tmp_path / "d")


def test_missing_teacher_folder_is_a_checkpoint_error(scenario: Path, tmp_path: Path):
    config = config_for(scenario, tmp_path / "c", "kd.recipe=logit", f"kd.teacher={tmp_path / 'nope'}")
    with pytest.raises(CheckpointError, match="does not exist"):
        run_training(config, tmp_path / "x")
