"""engine=flower: a real SuperLink and SuperNodes on loopback play a protocol; the run folder, the
byte ledger against Flower's own counts, faults (a rejected reply, a SuperNode killed with SIGKILL
and started again) and no process left behind."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from kdcs.cli.main import app
from kdcs.collab import CollabConfig
from kdcs.collab.flower.engine import run_flower
from kdcs.collab.flower.processes import alive, process_table
from kdcs.collab.flower.records import PAYLOAD_ARRAY
from kdcs.config import load_config, to_dict
from kdcs.jobs.collab import run_collab
from tests.fixtures.scenario_factory import make_scenario
from tests.integration.test_collab_protocols import tiny_config

pytestmark = pytest.mark.slow

TWO_NODES = "nodes=[{name: n1, ap: ap1}, {name: n2, ap: ap1, model: {modalities: [beam_history]}}]"
# Flower's own framing of one message beyond the objects we count (protobuf envelopes, responses)
FRAMING_PER_MESSAGE = 2048


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Path:
    """Two APs over the same 10 sequences: camera+gps, gps only."""
    root = tmp_path_factory.mktemp("collab-flower") / "scenario"
    kits = {"ap1": ("camera", "power", "gps", "beam"), "ap2": ("power", "gps", "beam")}
    for seed, (name, kit) in enumerate(kits.items()):
        make_scenario(
            root / name, num_sequences=10, sequence_length=12, modalities=kit, image_size=(48, 27), seed=seed
        )
    return root


@pytest.fixture(scope="module")
def flower_home(tmp_path_factory):
    """FLWR_HOME of anything Flower in this process (the engine gives its processes their own)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FLWR_HOME", str(tmp_path_factory.mktemp("flwr-home")))
        yield


def run_through_the_cli(scenario: Path, folder: Path) -> Path:
    """`kdcs collab --engine flower`: fed-distill, 2 SuperNodes, 2 rounds; n2's round-2 reply is garbage."""
    config = tiny_config(
        scenario,
        "protocol=fed-distill",
        TWO_NODES,
        "node_timeout_s=120",
        "faults=[{node: n2, round: 2, kind: garbage}]",
    )
    config_path = folder / "collab.yaml"
    config_path.write_text(yaml.safe_dump(to_dict(config), sort_keys=False))
    run_dir = folder / "run"
    start = time.perf_counter()
    done = CliRunner().invoke(
        app, ["collab", "--config", str(config_path), "--engine", "flower", "--out", str(run_dir), "--json"]
    )
    print(f"flower run through the CLI: {time.perf_counter() - start:.1f} s")
    assert done.exit_code == 0, done.output
    return run_dir


def csv_rows(path: Path) -> list[dict]:
    return list(csv.DictReader(path.open()))


def test_kdcs_collab_on_flower(scenario, flower_home, tmp_path):
    """One Flower run through the CLI (they take a minute each), checked from every side."""
    run_dir = run_through_the_cli(scenario, tmp_path)

    check_the_run_folder(run_dir)
    check_the_malformed_reply_was_rejected_with_a_logged_reason(run_dir)
    check_the_ledger_against_flowers_own_byte_counts(run_dir)
    check_the_local_engine_plays_the_very_same_run(run_dir, tmp_path / "local")
    check_no_process_is_left_behind(run_dir)


def check_the_run_folder(run_dir: Path) -> None:
    results = json.loads((run_dir / "results.json").read_text())

    assert results["engine"] == "flower" and results["protocol"] == "fed-distill"
    assert results["flower"]["status"] == "finished:completed"
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["engine"] == "flower"
    for name in ("n1", "n2"):
        test = results["nodes"][name]["test"]
        assert 0.0 <= test["top1_mean"] <= test["top5_mean"] <= 1.0 and test["num_windows"] > 0
        assert (run_dir / "nodes" / name / "state" / "node.safetensors").is_file()
    rounds = {(r["round"], r["node"]): r for r in csv_rows(run_dir / "rounds.csv")}
    # rounds 1 and 2, then the final broadcast (round 3: the last consensus, distilled before deploying)
    assert set(rounds) == {(r, n) for r in ("1", "2", "3") for n in ("n1", "n2")}
    assert all(rounds[key]["status"] == "ok" for key in rounds if key != ("2", "n2"))
    ledger = csv_rows(run_dir / "ledger.csv")
    assert sum(int(r["nbytes"]) for r in ledger) == results["bytes"]["up"] + results["bytes"]["down"]


def check_the_local_engine_plays_the_very_same_run(run_dir: Path, local_dir: Path) -> None:
    """Same protocol objects, nodes, seeds and node state carried between messages: the same
    metrics every round, the same final test results and the same ledger, byte for byte."""
    config = load_config(CollabConfig(), run_dir / "config.yaml", ["engine=local"])

    local = run_collab(config, local_dir)

    flower = json.loads((run_dir / "results.json").read_text())
    assert local["nodes"] == flower["nodes"] and local["bytes"] == flower["bytes"]
    assert csv_rows(local_dir / "ledger.csv") == csv_rows(run_dir / "ledger.csv")
    timeless = [{k: v for k, v in row.items() if k != "seconds"} for row in csv_rows(run_dir / "rounds.csv")]
    assert [
        {k: v for k, v in row.items() if k != "seconds"} for row in csv_rows(local_dir / "rounds.csv")
    ] == timeless


def check_the_malformed_reply_was_rejected_with_a_logged_reason(run_dir: Path) -> None:
    rounds = {(r["round"], r["node"]): r for r in csv_rows(run_dir / "rounds.csv")}

    assert rounds[("2", "n2")]["status"] == "rejected"
    assert "not a kdcs payload" in rounds[("2", "n2")]["reason"]
    log = (run_dir / "flower" / "logs" / "serverapp.log").read_text()
    assert "reply of node 'n2' rejected: not a kdcs payload" in log


def check_the_ledger_against_flowers_own_byte_counts(run_dir: Path) -> None:
    """Every ledger entry is one payload Flower carried: Flower's count_bytes() of its record is the
    ledger's bytes plus the Array key, the node counted the same on arrival, and the Fleet traffic
    the SuperLink counted is the serialised messages plus a small framing per message."""
    ledger = csv_rows(run_dir / "ledger.csv")
    traffic = csv_rows(run_dir / "flower" / "traffic.csv")
    steps = {(r["round"], r["node"], r["direction"]): r for r in traffic if r["kind"] == "step"}

    assert len(steps) == len(ledger) == 12  # 2 nodes x (2 rounds + the final broadcast) x up and down
    for entry in ledger:
        row = steps[(entry["round"], entry["node"], entry["direction"])]
        assert int(row["nbytes"]) == int(entry["nbytes"])
        assert int(row["record_bytes"]) == int(entry["nbytes"]) + len(PAYLOAD_ARRAY)
        if entry["direction"] == "down":
            assert int(row["received_record_bytes"]) == int(row["record_bytes"])
    fleet = json.loads((run_dir / "results.json").read_text())["flower"]["fleet_traffic"]
    for direction, counted in (("down", fleet["outbound_bytes"]), ("up", fleet["inbound_bytes"])):
        messages = [r for r in traffic if r["direction"] == direction]
        serialised = sum(int(r["message_bytes"]) for r in messages)
        payloads = sum(int(e["nbytes"]) for e in ledger if e["direction"] == direction)
        print(f"{direction}: ledger {payloads} <= serialised {serialised} <= Flower's Fleet count {counted}")
        assert payloads < serialised <= counted <= serialised + FRAMING_PER_MESSAGE * len(messages)


def check_no_process_is_left_behind(run_dir: Path) -> None:
    noted = json.loads((run_dir / "flower" / "processes.json").read_text())

    assert noted["left"] == [] and len(noted["pids"]) >= 5  # SuperLink, SuperExecs, SuperNodes, apps
    assert not alive(int(pid) for pid in noted["pids"])
    groups = set(noted["groups"])
    assert not [pid for pid, (_, group, state) in process_table().items() if group in groups and state != "Z"]


def test_a_supernode_killed_mid_round_is_missing_then_rejoins(scenario, flower_home, tmp_path):
    """n2's SuperNode is SIGKILLed during round 1 (its step hangs, so it cannot have answered) and
    started again: round 1 completes without it, round 2 and the final evaluation count it again."""
    run_dir = tmp_path / "run"
    config = tiny_config(
        scenario,
        "protocol=fed-distill",
        TWO_NODES,
        "node_timeout_s=120",
        "faults=[{node: n2, round: 1, kind: hang}]",
    )
    killed: list[int] = []

    def kill_and_restart(deployment) -> None:
        def act() -> None:
            deadline = time.monotonic() + 120
            while not (run_dir / "nodes" / "n1" / "training").exists() and time.monotonic() < deadline:
                time.sleep(0.1)  # n1 trains round 1: the round's messages are out
            time.sleep(2.0)
            pid = deployment.supernode("n2").pid
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            deployment.start_supernode("n2")

        threading.Thread(target=act, daemon=True).start()

    start = time.perf_counter()
    results = run_flower(config, run_dir, on_start=kill_and_restart)
    print(f"flower run with a SuperNode killed and restarted: {time.perf_counter() - start:.1f} s")

    rounds = {(r["round"], r["node"]): r for r in csv_rows(run_dir / "rounds.csv")}
    assert killed
    assert rounds[("1", "n2")]["status"] == "missing" and "restarted" in rounds[("1", "n2")]["reason"]
    assert rounds[("1", "n1")]["status"] == "ok"
    assert rounds[("2", "n2")]["status"] == "ok" and rounds[("2", "n1")]["status"] == "ok"
    assert results["bytes"]["missing"] == {"1": ["n2"]}
    assert results["nodes"]["n2"]["test"]["num_windows"] > 0
    noted = json.loads((run_dir / "flower" / "processes.json").read_text())
    assert noted["left"] == [] and not alive([*killed, *(int(pid) for pid in noted["pids"])])


def test_a_superlink_that_cannot_start_is_one_error_sentence(scenario, flower_home, tmp_path, monkeypatch):
    # Prepare: every Flower command is `false`, so the SuperLink exits at once with code 1
    monkeypatch.setattr("kdcs.collab.flower.deployment.flower_command", lambda name: shutil.which("false"))
    config_path = tmp_path / "collab.yaml"
    config_path.write_text(yaml.safe_dump(to_dict(tiny_config(scenario, TWO_NODES)), sort_keys=False))

    # Execute
    done = CliRunner().invoke(
        app, ["collab", "--config", str(config_path), "--engine", "flower", "--out", str(tmp_path / "run")]
    )

    # Assert: exit 2, one error line naming the SuperLink and its log, no traceback
    errors = [line for line in done.output.splitlines() if line.startswith("error: ")]
    assert done.exit_code == 2, done.output
    assert len(errors) == 1 and "Traceback" not in done.output, done.output
    assert "SuperLink exited at start (code 1)" in errors[0] and "superlink" in errors[0].lower()
