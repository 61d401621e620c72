"""A `kdcs train` process killed mid-run and resumed ends with the same metrics as an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fixtures.scenario_factory import make_scenario

pytestmark = pytest.mark.slow

SETTINGS = [
    "train.epochs=10",
    "train.batch_size=8",
    "train.patience=null",
    "train.progress=false",
    "train.tensorboard=false",
    "train.num_threads=1",
    "model.architecture=gps-beam-student",
    "model.hidden=32",
    "data.history=4",
    "data.horizon=1",
    "model.history=4",
    "model.horizon=1",
]


def train_command(scenario: Path, out: Path, cache: Path, *extra: str) -> list[str]:
    args = [sys.executable, "-m", "kdcs.cli.main", "train", "--scenario", str(scenario), "--out", str(out), *extra]
    for item in [*SETTINGS, f"data.cache_root={cache}"]:
        args += ["--set", item]
    return args


def test_killed_run_resumes_to_identical_metrics(tmp_path: Path):
    scenario = make_scenario(tmp_path / "s", num_sequences=24, sequence_length=16, modalities=("power", "gps", "beam"))
    cache = tmp_path / "cache"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(train_command(scenario, tmp_path / "full", cache), check=True, env=env, capture_output=True)

    victim = subprocess.Popen(train_command(scenario, tmp_path / "killed", cache), env=env)
    deadline = time.monotonic() + 120
    while not list((tmp_path / "killed" / "checkpoints").glob("epoch-0003*")):
        assert victim.poll() is None, "training ended before it could be killed"
        assert time.monotonic() < deadline, "no checkpoint appeared within 120 s"
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert not (tmp_path / "killed" / "metrics.json").exists()

    resumed = train_command(scenario, tmp_path / "killed", cache, "--resume")
    subprocess.run(resumed, check=True, env=env, capture_output=True)
    full = json.loads((tmp_path / "full" / "metrics.json").read_text())
    again = json.loads((tmp_path / "killed" / "metrics.json").read_text())
    assert again["best_epoch"] == full["best_epoch"]
    assert again["val"] == full["val"]
    assert again["test"] == full["test"]
