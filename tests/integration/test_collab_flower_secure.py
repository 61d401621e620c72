"""engine=flower with TLS and SuperNode authentication, on loopback, for real.

Two deployments (about a minute each): one with flower.tls=auto and node authentication that must
play exactly the local engine's run (the insecure Flower run is held to the same standard in
test_collab_flower.py, so TLS changes nothing in what is computed or counted), while SuperNodes
that trust another CA, or no CA at all, cannot connect; and one with the user's own files
(flower.tls=files) in which one node's key is not the one registered: the SuperLink refuses it, and
the run goes on without waiting, recording that node missing in every round.
"""

from __future__ import annotations

import csv
import json
import shutil
import stat
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from kdcs.cli.main import app
from kdcs.collab.flower.credentials import make_node_keys, make_tls_files
from kdcs.collab.flower.deployment import FlowerDeployment, exit_reason, flower_command, free_port
from kdcs.collab.flower.engine import run_flower
from kdcs.collab.flower.security import LOOPBACK_HOSTS
from kdcs.config import to_dict
from tests.integration.test_collab_flower import (
    TWO_NODES,
    check_no_process_is_left_behind,
    check_the_local_engine_plays_the_very_same_run,
    flower_home,  # noqa: F401 (a fixture)
    scenario,  # noqa: F401 (a fixture)
)
from tests.integration.test_collab_protocols import tiny_config

pytestmark = pytest.mark.slow


def csv_rows(path: Path) -> list[dict]:
    return list(csv.DictReader(path.open()))


def start_intruders(deployment, foreign_ca: Path, keys: Path) -> dict[str, object]:
    """SuperNodes that must not get in: one trusting another CA (with n1's registered key), one
    without TLS at all."""
    base = [flower_command("flower-supernode"), "--superlink", str(deployment.address)]
    tails = {
        "foreign-ca": [
            "--root-certificates",
            str(foreign_ca),
            "--auth-supernode-private-key",
            str(keys / "n1.key"),
        ],
        "no-tls": ["--insecure"],
    }
    started = {}
    for label, tail in tails.items():
        argv = [*base, *tail, "--port", str(free_port()), "--node-config", 'node-name="n1"']
        started[label] = deployment.keeper.start(
            label, argv, deployment.layout.log(label), deployment.env(label)
        )
    return started


def test_a_tls_run_with_authenticated_nodes_plays_the_local_run(scenario, flower_home, tmp_path, monkeypatch):  # noqa: F811
    # Prepare
    config = tiny_config(
        scenario,
        "protocol=fed-distill",
        TWO_NODES,
        "node_timeout_s=120",
        "flower.tls=auto",
        "flower.node_auth=true",
    )
    config_path = tmp_path / "collab.yaml"
    config_path.write_text(yaml.safe_dump(to_dict(config), sort_keys=False))
    run_dir = tmp_path / "run"
    foreign = make_tls_files(tmp_path / "foreign", LOOPBACK_HOSTS, authority="another CA")
    intruders: dict[str, object] = {}

    original = FlowerDeployment.start

    def start_then_intrude(deployment) -> None:
        original(deployment)
        intruders.update(start_intruders(deployment, foreign.ca_certfile, deployment.security.node_keys))

    monkeypatch.setattr(FlowerDeployment, "start", start_then_intrude)

    # Execute: through the CLI, as a user runs it
    start = time.perf_counter()
    done = CliRunner().invoke(
        app, ["collab", "--config", str(config_path), "--engine", "flower", "--out", str(run_dir), "--json"]
    )
    print(f"TLS + node authentication run through the CLI: {time.perf_counter() - start:.1f} s")

    # Assert: the run completed and computed what the local engine computes
    assert done.exit_code == 0, done.output
    results = json.loads((run_dir / "results.json").read_text())
    assert results["flower"]["status"] == "finished:completed"
    assert all(row["status"] == "ok" for row in csv_rows(run_dir / "rounds.csv"))
    check_the_local_engine_plays_the_very_same_run(run_dir, tmp_path / "local")
    check_no_process_is_left_behind(run_dir)
    # the throw-away credentials: private keys readable by their owner only
    credentials = run_dir / "flower" / "credentials"
    names = sorted(p.name for p in credentials.iterdir())
    assert names == ["ca.crt", "n1.key", "n1.pub", "n2.key", "n2.pub", "superlink.crt", "superlink.key"]
    for key in credentials.glob("*.key"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    # the intruders never got in: the one trusting another CA gave up at once with Flower's reason,
    # the one without TLS kept failing to connect until the run ended it
    logs = run_dir / "flower" / "logs"
    assert intruders["foreign-ca"].returncode > 0
    assert "exit code 305" in exit_reason(logs / "foreign-ca.log", 1)
    assert "CERTIFICATE_VERIFY_FAILED" in exit_reason(logs / "foreign-ca.log", 1)
    for label in intruders:
        log = (logs / f"{label}.log").read_text()
        assert "Connection attempt failed" in log and "SuperNode ID" not in log, label
    assert "SuperNode ID" in (logs / "supernode-n1.log").read_text()  # what getting in looks like
    superlink_log = (run_dir / "flower" / "logs" / "superlink.log").read_text()
    assert "Uvicorn running on https://" in superlink_log


def test_a_supernode_whose_key_is_not_registered_is_refused_and_missing(scenario, flower_home, tmp_path):  # noqa: F811
    # Prepare: the user's own CA and keys; n2's private key is not the one whose public key is registered
    tls = make_tls_files(tmp_path / "pki", LOOPBACK_HOSTS)
    keys = tmp_path / "keys"
    for name in ("n1", "n2"):
        make_node_keys(keys, name)
    stranger, _ = make_node_keys(tmp_path / "stranger", "n2")
    shutil.copyfile(stranger, keys / "n2.key")
    config = tiny_config(
        scenario,
        "protocol=fed-distill",
        TWO_NODES,
        "rounds=1",
        "node_timeout_s=120",
        "flower.join_timeout_s=300",
        "flower.tls=files",
        f"flower.ca_certfile={tls.ca_certfile}",
        f"flower.certfile={tls.certfile}",
        f"flower.keyfile={tls.keyfile}",
        "flower.node_auth=true",
        f"flower.node_keys={keys}",
    )

    # Execute
    start = time.perf_counter()
    results = run_flower(config, tmp_path / "run")
    seconds = time.perf_counter() - start
    print(f"run with a refused SuperNode: {seconds:.1f} s")

    # Assert: no wait for the join timeout; n2 missing everywhere, with Flower's reason
    assert seconds < 240
    rounds = {(r["round"], r["node"]): r for r in csv_rows(tmp_path / "run" / "rounds.csv")}
    assert rounds[("1", "n1")]["status"] == "ok"
    missing = rounds[("1", "n2")]
    assert missing["status"] == "missing" and "never joined" in missing["reason"]
    assert "exit code 305" in missing["reason"] and "Failed to activate SuperNode" in missing["reason"]
    assert results["nodes"]["n2"]["status"] == "missing" and results["nodes"]["n1"]["test"]["num_windows"] > 0
    ledger = csv_rows(tmp_path / "run" / "ledger.csv")
    n2_entries = [row for row in ledger if row["node"] == "n2"]
    assert n2_entries and all(row["status"] == "missing" and row["nbytes"] == "0" for row in n2_entries)
    check_no_process_is_left_behind(tmp_path / "run")
