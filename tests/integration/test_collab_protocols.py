"""Every protocol runs on a tiny multi-AP scenario; bytes, faults and poisoned payloads behave."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from kdcs.cli.main import app
from kdcs.collab import CollabConfig
from kdcs.collab.protocols import PROTOCOLS
from kdcs.config import ConfigError, load_config, to_dict
from kdcs.jobs.collab import run_collab
from tests.fixtures.scenario_factory import make_scenario

TINY_MODEL = [
    "hidden=16",
    "feature_size=16",
    "gps_hidden=16",
    "beam_embedding_dim=8",
]
CAMERA_STUDENT = "{architecture: paper-student, modalities: [camera_motion], student_channels: [4, 8, 8]}"
# single-sensor nodes of the centre's site (ap1: camera + GPS): beam predictions only transfer within an AP
HETEROGENEOUS = (
    "nodes=[{name: n1, ap: ap1, partition: iid}, "
    "{name: n2, ap: ap1, partition: iid, model: {modalities: [beam_history]}}, "
    "{name: n3, ap: ap1, partition: iid, model: " + CAMERA_STUDENT + "}]"
)
SAME_STUDENT = "nodes=[{name: n1, ap: ap1, partition: iid}, {name: n2, ap: ap1, partition: iid}, {name: n3, ap: ap1, partition: iid}]"


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Path:
    """Three APs over the same 10 sequences: camera+gps, gps only, camera only (all with power)."""
    root = tmp_path_factory.mktemp("collab") / "scenario"
    kits = {
        "ap1": ("camera", "power", "gps", "beam"),
        "ap2": ("power", "gps", "beam"),
        "ap3": ("camera", "power", "beam"),
    }
    for seed, (name, kit) in enumerate(kits.items()):
        make_scenario(
            root / name, num_sequences=10, sequence_length=12, modalities=kit, image_size=(48, 27), seed=seed
        )
    return root


def tiny_config(scenario: Path, *extra: str) -> CollabConfig:
    return load_config(
        CollabConfig(),
        overrides=[
            f"data.scenario={scenario}",
            f"data.cache_root={scenario.parent / 'cache'}",
            "data.history=4",
            "data.horizon=1",
            "data.split=[0.6,0.2,0.2]",
            "data.preprocess.camera_size=[16,16]",
            *(f"student.{item}" for item in TINY_MODEL),
            *(f"central.model.{item}" for item in TINY_MODEL),
            "central.model.modalities=[camera_motion,gps,beam_history]",
            "central.model.teacher_channels=[4,8]",
            "central.model.teacher_fc=[32]",
            "central.train.epochs=2",
            "central.train.num_threads=1",
            "central.train.batch_size=16",
            "train.num_threads=1",
            "train.batch_size=16",
            "rounds=2",
            "min_epoch_steps=0",
            HETEROGENEOUS,
            *extra,
        ],
    )


def rounds_rows(run: Path) -> list[dict]:
    return list(csv.DictReader((run / "rounds.csv").open()))


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_every_protocol_runs_two_rounds_and_writes_its_run_folder(protocol, scenario, tmp_path):
    nodes = SAME_STUDENT if protocol == "fedavg" else HETEROGENEOUS
    config = tiny_config(scenario, f"protocol={protocol}", nodes)

    results = run_collab(config, tmp_path / protocol)

    assert set(results["nodes"]) == {"n1", "n2", "n3"} and results["rounds"] == 2
    for entry in results["nodes"].values():
        assert 0.0 <= entry["test"]["top1_mean"] <= entry["test"]["top5_mean"] <= 1.0
        assert entry["test"]["num_windows"] > 0
    rows = rounds_rows(tmp_path / protocol)
    played = [r for r in rows if r["round"] in ("1", "2")]
    assert len(played) == 6 and all(r["status"] == "ok" for r in played)
    ledger = list(csv.DictReader((tmp_path / protocol / "ledger.csv").open()))
    assert sum(int(r["nbytes"]) for r in ledger) == results["bytes"]["up"] + results["bytes"]["down"]
    assert results["bytes"]["down"] > 0 and results["bytes"]["up"] > 0
    assert json.loads((tmp_path / protocol / "results.json").read_text())["protocol"] == protocol


def reply_sizes(run: Path, kind: str) -> set[int]:
    """The sizes of every uplink payload of `kind` in the run's ledger."""
    return {
        int(r["nbytes"])
        for r in csv.DictReader((run / "ledger.csv").open())
        if r["direction"] == "up" and r["kind"] == kind
    }


def test_fed_distill_uplink_is_the_proxy_logits_whatever_the_student_and_fedavg_grows_with_it(
    scenario, tmp_path
):
    """Honest bytes: dense proxy logits cost the same for any student, weights cost the student's size,
    and the saving against fedavg comes from the soft-label encoding (auto: sqrt-lzma)."""
    sizes = {}
    for hidden in (16, 48):
        same = [SAME_STUDENT, f"student.hidden={hidden}"]
        fedavg = tmp_path / f"fedavg-{hidden}"
        dense = tmp_path / f"fd-fp32-{hidden}"
        run_collab(tiny_config(scenario, "protocol=fedavg", *same), fedavg)
        results = run_collab(
            tiny_config(scenario, "protocol=fed-distill", "payload_encoding=fp32", *same), dense
        )
        parameters = next(iter(results["nodes"].values()))["parameters"]
        sizes[hidden] = (parameters, reply_sizes(fedavg, "weights"), reply_sizes(dense, "logits"))
    (small, small_weights, small_logits), (large, large_weights, large_logits) = sizes[16], sizes[48]
    framing = 64  # the header's metadata (round metrics as text) varies by a few bytes between replies
    assert large > small
    assert max(small_logits | large_logits) - min(small_logits | large_logits) < framing  # any student
    # fp32 weights: 4 bytes per parameter, the same framing
    assert abs((min(large_weights) - min(small_weights)) - 4 * (large - small)) < framing
    encoded = tmp_path / "fd-auto-48"
    run_collab(tiny_config(scenario, "protocol=fed-distill", SAME_STUDENT, "student.hidden=48"), encoded)
    print(
        f"per reply: fedavg {sizes[48][1]} / {sizes[16][1]}, dense logits {small_logits}, sqrt-lzma {reply_sizes(encoded, 'logits')}"
    )
    assert max(reply_sizes(encoded, "logits")) < max(small_logits) / 4


def test_a_crashing_node_is_missing_for_its_round_and_rejoins(scenario, tmp_path):
    config = tiny_config(scenario, "protocol=fed-distill", "faults=[{node: n2, round: 1, kind: crash}]")

    results = run_collab(config, tmp_path / "run")

    rows = {(r["round"], r["node"]): r for r in rounds_rows(tmp_path / "run")}
    assert rows[("1", "n2")]["status"] == "missing" and "injected crash" in rows[("1", "n2")]["reason"]
    assert rows[("1", "n1")]["status"] == "ok" and rows[("2", "n2")]["status"] == "ok"
    assert results["bytes"]["missing"] == {"1": ["n2"]}


def test_a_poisoned_reply_is_rejected_and_leaves_the_aggregate_as_without_it(scenario, tmp_path):
    base = ["protocol=fedavg", SAME_STUDENT, "rounds=1"]
    poisoned = run_collab(
        tiny_config(scenario, *base, "faults=[{node: n2, round: 1, kind: nan}]"), tmp_path / "nan"
    )
    absent = run_collab(
        tiny_config(scenario, *base, "faults=[{node: n2, round: 1, kind: crash}]"), tmp_path / "out"
    )

    status = {r["node"]: r for r in rounds_rows(tmp_path / "nan") if r["round"] == "1"}
    assert status["n2"]["status"] == "rejected" and "NaN" in status["n2"]["reason"]
    # every node deploys the final global model: equal results mean an equal aggregate
    assert poisoned["nodes"]["n1"]["test"] == absent["nodes"]["n1"]["test"]
    assert np.isfinite(poisoned["nodes"]["n2"]["test"]["top1_mean"])


def test_processes_runner_times_out_a_hung_node(scenario, tmp_path):
    config = tiny_config(
        scenario,
        "protocol=fed-distill",
        "runner=processes",
        "workers=3",
        "node_timeout_s=6",
        "rounds=2",
        "faults=[{node: n3, round: 1, kind: hang}]",
    )

    results = run_collab(config, tmp_path / "run")

    rows = {(r["round"], r["node"]): r for r in rounds_rows(tmp_path / "run")}
    assert rows[("1", "n3")]["status"] == "missing" and "timed out" in rows[("1", "n3")]["reason"]
    assert rows[("1", "n1")]["status"] == "ok" and rows[("2", "n3")]["status"] == "ok"
    assert results["nodes"]["n3"]["test"]["num_windows"] > 0


def test_config_errors_name_the_key_or_node(scenario, tmp_path):
    with pytest.raises(ConfigError, match="engine"):
        run_collab(tiny_config(scenario, "engine=warp"), tmp_path / "a")
    with pytest.raises(ConfigError, match="protocol"):
        run_collab(tiny_config(scenario, "protocol=telepathy"), tmp_path / "b")
    with pytest.raises(ConfigError, match="node 'n2' differs"):
        run_collab(tiny_config(scenario, "protocol=fedavg"), tmp_path / "c")
    with pytest.raises(ConfigError, match="node 'n2'.*radar"):
        run_collab(
            tiny_config(scenario, "nodes=[{name: n2, ap: ap1, model: {architecture: radar-student}}]"),
            tmp_path / "d",
        )
    with pytest.raises(ConfigError, match="node 'n2' is at AP 'ap2'.*beam indices"):
        run_collab(
            tiny_config(scenario, "protocol=edge-kd", "nodes=[{name: n1, ap: ap1}, {name: n2, ap: ap2}]"),
            tmp_path / "e",
        )
    assert not (tmp_path / "c").exists()


def test_a_trained_teacher_is_used_as_is_and_a_mismatched_one_is_refused(scenario, tmp_path):
    first = run_collab(tiny_config(scenario, "protocol=edge-kd", "rounds=1"), tmp_path / "first")
    trained = tmp_path / "first" / "nodes" / "central-teacher" / "teacher"
    assert (trained / "best.safetensors").is_file()

    reused = run_collab(
        tiny_config(scenario, "protocol=edge-kd", "rounds=1", f"central.teacher={trained}"),
        tmp_path / "reused",
    )

    # no training at the centre: the loaded teacher's validation score is the first run's
    assert reused["teacher_val"] == first["teacher_val"]
    assert not (tmp_path / "reused" / "nodes" / "central-teacher").exists()
    with pytest.raises(ConfigError, match="central.teacher.*history/horizon"):
        run_collab(
            tiny_config(
                scenario,
                "protocol=edge-kd",
                "data.history=3",
                "student.history=3",
                f"central.teacher={trained}",
            ),
            tmp_path / "short",
        )


def test_kdcs_collab_writes_per_node_results_the_ledger_and_the_curves(scenario, tmp_path):
    # Prepare: the tiny fed-distill run as a config file, the way a user starts one
    config_path = tmp_path / "collab.yaml"
    config_path.write_text(
        yaml.safe_dump(to_dict(tiny_config(scenario, "protocol=fed-distill")), sort_keys=False)
    )

    # Execute
    done = CliRunner().invoke(app, ["collab", "--config", str(config_path), "--out", str(tmp_path / "run")])

    # Assert: the table names every node; the folder holds results, ledger, rounds and the curves
    assert done.exit_code == 0, done.output
    assert all(node in done.output for node in ("n1", "n2", "n3")) and "curves.png" in done.output
    for name in ("results.json", "ledger.csv", "rounds.csv"):
        assert (tmp_path / "run" / name).is_file()
    assert (tmp_path / "run" / "curves.png").read_bytes()[:4] == b"\x89PNG"
