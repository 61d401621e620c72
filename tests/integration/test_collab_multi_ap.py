"""Nodes at different APs collaborate: the multi-view teacher protocol on a tiny two-AP street."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from kdcs.collab import CollabConfig
from kdcs.config import ConfigError, load_config
from kdcs.data.prepared import prepare_data
from kdcs.jobs.collab import run_collab
from tests.fixtures.multi_ap import DATA, write_street

TINY = ["hidden=16", "feature_size=16", "gps_hidden=16", "beam_embedding_dim=8", "history=4", "horizon=1"]
# a GPS node at ap1 and a radar node at ap2: each sees only its own AP's sensors
NODES = (
    "nodes=[{name: gps1, ap: ap1}, "
    "{name: radar2, ap: ap2, model: {architecture: radar-student, modalities: [radar, beam_history], "
    "radar_student_channels: [4, 8]}}]"
)


@pytest.fixture(scope="module")
def street(tmp_path_factory) -> Path:
    return write_street(tmp_path_factory.mktemp("street") / "scenario")


def street_config(street: Path, *extra: str) -> CollabConfig:
    return load_config(
        CollabConfig(),
        overrides=[
            f"data.scenario={street}",
            f"data.cache_root={street.parent / 'cache'}",
            f"data.history={DATA['history']}",
            f"data.horizon={DATA['horizon']}",
            "data.split=[0.6,0.2,0.2]",
            "data.preprocess.radar_size=[16,16]",
            *(f"student.{item}" for item in TINY),
            "student.architecture=gps-beam-student",
            *(f"central.model.{item}" for item in TINY),
            "central.model.architecture=radar-student",
            "central.model.radar_student_channels=[4,8]",
            "central.train.epochs=2",
            "central.train.num_threads=1",
            "central.train.batch_size=16",
            "train.num_threads=1",
            "train.batch_size=16",
            "rounds=1",
            NODES,
            *extra,
        ],
    )


def ledger_rows(run: Path) -> list[dict]:
    return list(csv.DictReader((run / "ledger.csv").open()))


def test_multi_view_teacher_protocol_teaches_nodes_at_two_aps(street, tmp_path):
    config = street_config(street, "protocol=multi-view-kd")

    results = run_collab(config, tmp_path / "run")

    # every node is judged on its own AP's test windows
    assert set(results["nodes"]) == {"gps1", "radar2"}
    for entry in results["nodes"].values():
        assert entry["test"]["num_windows"] > 0 and np.isfinite(entry["test"]["top1_mean"])
    # the raw data crossed the fronthaul in the handshake, and it is in the ledger
    rows = ledger_rows(tmp_path / "run")
    raw = {r["node"]: int(r["nbytes"]) for r in rows if r["direction"] == "up" and r["kind"] == "raw_windows"}
    assert set(raw) == {"gps1", "radar2"}
    assert raw["radar2"] > 16 * 16 * 2 * 20  # radar maps of at least 20 instants, float16
    soft = [r for r in rows if r["direction"] == "down" and r["kind"] == "soft_labels"]
    assert {r["node"] for r in soft} == {"gps1", "radar2"}
    assert (tmp_path / "run" / "nodes" / "central-teacher" / "best.safetensors").is_file()


def test_beam_frame_protocols_still_refuse_nodes_at_other_aps(street, tmp_path):
    with pytest.raises(ConfigError, match="node 'radar2' is at AP 'ap2'"):
        run_collab(street_config(street, "protocol=edge-kd"), tmp_path / "e")


WORLD = ["knowledge_frame=world", "rounds=2", "proxy_fraction=0.2", "world.gain_power=4"]


@pytest.mark.parametrize(("protocol", "fusion"), [("fed-distill", "validated"), ("mutual", "precision")])
def test_world_frame_exchange_runs_with_nodes_at_two_aps(street, tmp_path, protocol, fusion):
    config = street_config(street, f"protocol={protocol}", *WORLD, f"world.fusion={fusion}")
    results = run_collab(config, tmp_path / protocol)

    assert set(results["nodes"]) == {"gps1", "radar2"}
    for entry in results["nodes"].values():
        assert np.isfinite(entry["test"]["top1_mean"]) and entry["test"]["num_windows"] > 0
    rows = ledger_rows(tmp_path / protocol)
    # positions go up every round (P windows x 2 slots x 4 values), never beam logits
    uploads = [r for r in rows if r["direction"] == "up" and r["round"] in ("1", "2")]
    assert {r["kind"] for r in uploads} == {"positions"} and len(uploads) == 4
    proxy = [r for r in rows if r["kind"] == "proxy_inputs"]
    assert {r["node"] for r in proxy} == {"gps1", "radar2"}
    rounds = list(csv.DictReader((tmp_path / protocol / "rounds.csv").open()))
    assert {r["status"] for r in rounds} == {"ok"}
    # the GPS node validates its position output every round; the centre scores every upload
    validated = {r["node"] for r in rounds if r["round"] in ("1", "2") and r["val_position_m"]}
    assert "gps1" in validated
    errors = results["diagnostics"]["world_position_error_m"]
    assert [e["round"] for e in errors] == [1, 2]
    for entry in errors:
        assert set(entry["nodes"]) == {"gps1", "radar2"} and np.isfinite(entry["fused"])
        if fusion == "validated":
            assert entry["fused_nodes"] == sorted(validated)


def test_nodes_at_several_aps_never_train_on_the_centre_instants(street, tmp_path):
    config = street_config(street, "protocol=local-only")
    everything = prepare_data(dataclasses.replace(config.data, ap="ap2"), workers=1).windows["train"]

    results = run_collab(config, tmp_path / "run")

    # the centre's instants are out of ap1's pool and, with a node at ap2, out of ap2's too
    nodes = results["nodes"]
    assert nodes["radar2"]["train_windows"] == nodes["gps1"]["train_windows"] < len(everything)


def test_world_frame_errors_name_the_key_or_the_missing_geometry(street, tmp_path):
    with pytest.raises(ConfigError, match="'knowledge_frame': 'world' applies to"):
        run_collab(street_config(street, "protocol=edge-kd", "knowledge_frame=world"), tmp_path / "a")
    with pytest.raises(ConfigError, match="knowledge_frame"):
        run_collab(street_config(street, "protocol=fed-distill", "knowledge_frame=polar"), tmp_path / "b")
    # a street whose manifest lost ap2's orientation
    broken = tmp_path / "broken"
    shutil.copytree(street, broken, ignore=shutil.ignore_patterns("cache"))
    manifest = json.loads((broken / "manifest.json").read_text())
    del manifest["aps"][1]["boresight_azimuth_rad"]
    (broken / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ConfigError, match="'ap2' has no 'boresight_azimuth_rad'"):
        run_collab(street_config(broken, "protocol=fed-distill", *WORLD), tmp_path / "c")


@pytest.mark.slow
@pytest.mark.parametrize(
    "protocol", [["protocol=multi-view-kd"], ["protocol=fed-distill", *WORLD]], ids=["multi-view-kd", "world"]
)
def test_nodes_at_two_aps_on_flower_play_the_local_run(street, tmp_path, monkeypatch, protocol):
    monkeypatch.setenv("FLWR_HOME", str(tmp_path / "flwr-home"))
    config = street_config(street, *protocol, "node_timeout_s=120")

    flower = run_collab(dataclasses.replace(config, engine="flower"), tmp_path / "flower")
    local = run_collab(config, tmp_path / "local")

    # the same run on a real SuperLink and SuperNodes: per-node results and every ledger row agree
    assert flower["nodes"] == local["nodes"] and flower["bytes"] == local["bytes"]
    assert ledger_rows(tmp_path / "flower") == ledger_rows(tmp_path / "local")
