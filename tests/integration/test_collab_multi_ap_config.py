"""configs/collab/multi-ap.yaml as shipped (a node at each of ap1..ap4, one sensor each) runs both
modes on a small four-AP street: per-node results at every AP and the ledger of what moved."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from kdcs.collab import CollabConfig
from kdcs.config import load_config
from kdcs.data.synthetic import SynthConfig, synthesize
from kdcs.jobs.collab import run_collab
from kdcs.phy.fmcw import FmcwRadarConfig

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "collab" / "multi-ap.yaml"
STREET = SynthConfig(  # the default kits: ap1 camera + radar + GPS, ap2 camera, ap3 radar, ap4 GPS
    num_sequences=10,
    sequence_length_range=(12, 14),
    radar=FmcwRadarConfig(num_samples=32, num_chirps=8),
    seed=3,
)
SMALL = [  # the shipped config, only smaller: maps, window, models, rounds and epochs
    "data.preprocess.radar_size=[16,16]",
    "data.preprocess.camera_size=[16,16]",
    "data.history=4",
    "data.horizon=1",
    "data.split=[0.6,0.2,0.2]",
    "rounds=1",
    "local_epochs=1",
    "train.batch_size=16",
    "central.train.epochs=1",
    "central.train.batch_size=16",
    "student.hidden=16",
    "student.feature_size=16",
    "student.gps_hidden=16",
    "student.beam_embedding_dim=8",
    "student.radar_student_channels=[4,8]",
    "central.model.hidden=16",
    "central.model.feature_size=16",
    "central.model.radar_student_channels=[4,8]",
]


@pytest.fixture(scope="module")
def street(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("four-aps") / "scenario"
    synthesize(STREET, root, workers=1)
    return root


def shipped(street: Path, *extra: str) -> CollabConfig:
    base = [f"data.scenario={street}", f"data.cache_root={street.parent / 'cache'}"]
    return load_config(CollabConfig(), CONFIG, [*base, *SMALL, *extra])


@pytest.mark.slow
@pytest.mark.parametrize("protocol", ["fed-distill", "multi-view-kd"])
def test_the_shipped_multi_ap_config_runs_with_a_node_at_every_ap(street, tmp_path, protocol):
    config = shipped(street, f"protocol={protocol}")
    assert config.protocol != "fed-distill" or config.knowledge_frame == "world"

    results = run_collab(config, tmp_path / protocol)

    nodes = results["nodes"]
    assert {entry["ap"] for entry in nodes.values()} == {"ap1", "ap2", "ap3", "ap4"}
    for entry in nodes.values():
        assert entry["test"]["num_windows"] > 0 and np.isfinite(entry["test"]["top5_mean"])
    rows = list(csv.DictReader((tmp_path / protocol / "ledger.csv").open()))
    up = {r["kind"] for r in rows if r["direction"] == "up" and int(r["nbytes"]) > 0}
    assert ("positions" if protocol == "fed-distill" else "raw_windows") in up
    assert results["bytes"]["up"] == sum(int(r["nbytes"]) for r in rows if r["direction"] == "up")


@pytest.mark.slow
def test_the_shipped_multi_ap_config_runs_on_flower(street, tmp_path, monkeypatch):
    monkeypatch.setenv("FLWR_HOME", str(tmp_path / "flwr-home"))
    config = shipped(street, "engine=flower", "node_timeout_s=120")

    results = run_collab(config, tmp_path / "flower")

    # a SuperNode per AP's node; every one answered every round and the final evaluation
    assert {entry["ap"] for entry in results["nodes"].values()} == {"ap1", "ap2", "ap3", "ap4"}
    statuses = {r["status"] for r in csv.DictReader((tmp_path / "flower" / "rounds.csv").open())}
    assert statuses == {"ok"} and all("test" in entry for entry in results["nodes"].values())
