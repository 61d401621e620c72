"""Settings a machine or a folder cannot satisfy are refused up front, naming the key to change."""

from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

from kdcs.cli.main import app
from kdcs.collab import CollabConfig
from kdcs.config import ConfigError, load_config
from kdcs.distill.train_config import check_device
from kdcs.models import resolve_config
from tests.conftest import REPO_ROOT

runner = CliRunner()
ABSENT_GPU = f"cuda:{torch.cuda.device_count()}"  # one past the last GPU: absent on every machine


def test_devices_this_machine_lacks_are_refused_naming_the_key():
    check_device("cpu", "train.device")
    with pytest.raises(ConfigError, match=rf"'train.device' asks for '{ABSENT_GPU}'.*--set train.device=cpu"):
        check_device(ABSENT_GPU, "train.device")
    with pytest.raises(ConfigError, match="'train.device': 'gpu0' is not a device"):
        check_device("gpu0", "train.device")


def test_an_experiment_asking_for_an_absent_gpu_stops_before_any_stage(tmp_path):
    result = runner.invoke(
        app,
        ["run", "--config", str(REPO_ROOT / "configs/experiments/paper-camera.yaml"), "--out", str(tmp_path / "study"),
         "--set", f"common.train.device={ABSENT_GPU}"],
    )  # fmt: skip

    assert result.exit_code == 2
    assert "'teacher.train.device'" in result.output and "--set common.train.device=cpu" in result.output
    assert not (tmp_path / "study").exists()


def test_the_central_model_takes_the_modalities_of_the_architecture_it_is_given():
    config = load_config(CollabConfig(), overrides=["central.model.architecture=gps-beam-student"])

    assert resolve_config(config.central.model).modalities == ("gps", "beam_history")
    assert resolve_config(CollabConfig().central.model).modalities == (
        "camera_motion",
        "radar",
        "gps",
        "beam_history",
    )


def test_collab_on_a_scenario_not_written_yet_says_how_to_write_it(tmp_path):
    result = runner.invoke(
        app, ["collab", "--config", str(REPO_ROOT / "configs/collab/default.yaml"), "--set", f"data.scenario={tmp_path / 'synthetic'}",
              "--out", str(tmp_path / "run")],
    )  # fmt: skip

    assert result.exit_code == 2 and f"kdcs data synth --out {tmp_path / 'synthetic'}" in result.output
    assert not (tmp_path / "run").exists()
