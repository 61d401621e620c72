"""engine=flower: one collab run as a Flower deployment, from `kdcs collab --engine flower`.

Before anything starts, the nodes are built once here, as the local engine builds them: that fills
the data caches (the node processes then only read them) and checks every model against its data;
node state left by an earlier, failed run in the same folder is removed.
Then config.yaml and the Flower App are written, the SuperLink and SuperNodes started
(`FlowerDeployment`), the app submitted (`flwr run <app> kdcs --format json`) and followed
(`flwr log <run> --stream`, which ends with the run). The ServerApp writes the run folder;
this process adds Flower's own record of the run to results.json (`flwr ls --run-id`: status and
the Fleet API's traffic, bytes the SuperLink sent to and received from SuperNodes). Every process
started is ended, by PID, when the run ends, fails or is interrupted (a run on an attached SuperLink
is stopped with `flwr stop`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kdcs.atomic_files import write_json_atomically
from kdcs.collab.config import CollabConfig
from kdcs.collab.flower.app_files import write_flower_app
from kdcs.collab.flower.deployment import CONNECTION, SUPERLINK, FlowerDeployment
from kdcs.collab.flower.errors import FlowerRunError
from kdcs.collab.flower.layout import FlowerLayout
from kdcs.collab.flower.node_state import state_path
from kdcs.collab.flower.security import FlowerSecurity
from kdcs.collab.node_setup import DataViews, build_edge_nodes
from kdcs.collab.run_folder import RESULTS_JSON, refuse_finished_run, write_run_config
from kdcs.collab.validation import validate_collab_config
from kdcs.config import ConfigError

LOG = logging.getLogger("kdcs.collab")
FINISHED = "finished"
COMPLETED = "finished:completed"


def run_flower(
    config: CollabConfig,
    run_dir: Path,
    *,
    workers: int | None = None,
    on_start: Callable[[FlowerDeployment], None] | None = None,
) -> dict[str, Any]:
    """Run the configured protocol on Flower; writes and returns results.json.

    on_start: called with the started deployment before the run is submitted (tests use it to
    kill and restart SuperNodes).
    """
    validate_collab_config(config)
    run_dir = Path(run_dir)
    refuse_finished_run(run_dir)
    nodes = build_edge_nodes(config, DataViews(config, workers), run_dir)
    for node in nodes.values():  # a failed earlier run in this folder must not seed this one
        state_path(node).unlink(missing_ok=True)
    config_path = write_run_config(config, run_dir)
    layout = FlowerLayout(run_dir)
    layout.error_json.unlink(missing_ok=True)
    layout.refused_json.unlink(missing_ok=True)
    write_flower_app(layout.app_dir, config_path)
    names = [node.name for node in config.nodes]
    security = FlowerSecurity.prepare(config.flower, names, layout.credentials)
    with FlowerDeployment(config, layout, config_path, security) as deployment:
        deployment.start()
        if on_start is not None:
            on_start(deployment)
        run_id = _submit(deployment)
        try:
            status = _follow(deployment, run_id)
        except BaseException:
            _stop(deployment, run_id)
            raise
    return _finish(run_dir, layout, run_id, status, deployment.address)


def _submit(deployment: FlowerDeployment) -> int:
    done = deployment.flwr("run", str(deployment.layout.app_dir), CONNECTION, "--format", "json")
    try:
        return int(json.loads(done.stdout)["run-id"])
    except (ValueError, KeyError, TypeError):
        raise FlowerRunError(f"`flwr run` did not start the run:\n{done.stdout}\n{done.stderr}") from None


def _follow(deployment: FlowerDeployment, run_id: int) -> dict[str, Any]:
    """Wait for the run to finish (while noting every process Flower starts); returns its `flwr ls` entry."""
    refused: dict[str, str] = {}
    while True:
        streamer = deployment.stream_logs(run_id)
        while streamer.poll() is None:
            deployment.keeper.watch()
            refused = _note_refusals(deployment, refused)
            superlink = deployment.keeper.started.get(SUPERLINK)
            if superlink is not None and superlink.poll() is not None:
                raise FlowerRunError(f"the Flower SuperLink died; see {deployment.layout.log(SUPERLINK)}")
            time.sleep(1.0)
        status = run_status(deployment, run_id)
        if str(status.get("status", "")).startswith(FINISHED):
            return status
        time.sleep(2.0)  # the log stream ended before the run (a dropped connection): follow it again


def _note_refusals(deployment: FlowerDeployment, noted: dict[str, str]) -> dict[str, str]:
    """Tell the ServerApp (flower/refused.json) which SuperNodes the SuperLink turned away."""
    refused = deployment.refusals()
    if refused != noted:
        for name, why in refused.items():
            if name not in noted:
                LOG.warning("SuperNode of node %r %s", name, why)
        write_json_atomically(deployment.layout.refused_json, refused)
    return refused


def _stop(deployment: FlowerDeployment, run_id: int) -> None:
    """Best effort: a run on an attached SuperLink must not go on once we stopped following it."""
    try:
        deployment.flwr("stop", str(run_id), CONNECTION, timeout=30)
    except Exception:  # the SuperLink may be gone already; the processes end anyway
        pass


def run_status(deployment: FlowerDeployment, run_id: int) -> dict[str, Any]:
    """The run's entry of `flwr ls --run-id <run> --format json`."""
    done = deployment.flwr("ls", CONNECTION, "--run-id", str(run_id), "--format", "json", timeout=60)
    try:
        return json.loads(done.stdout)["runs"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        raise FlowerRunError(
            f"`flwr ls` did not report run {run_id}:\n{done.stdout}\n{done.stderr}"
        ) from None


def _finish(run_dir: Path, layout: FlowerLayout, run_id: int, status: dict, address: str | None) -> dict:
    results_path = run_dir / RESULTS_JSON
    if status.get("status") != COMPLETED or not results_path.is_file():
        error = json.loads(layout.error_json.read_text()) if layout.error_json.is_file() else {}
        if error.get("type") == "ConfigError":
            raise ConfigError(error["message"])
        why = f"{error.get('type')}: {error.get('message')}" if error else status.get("status-details", "")
        raise FlowerRunError(
            f"the Flower run {run_id} ended {status.get('status')!r} ({why}); logs in {layout.root / 'logs'}"
        )
    results = json.loads(results_path.read_text())
    traffic = status.get("network-traffic", {})
    results["flower"] = {
        "run_id": str(run_id),
        "superlink": address,
        "status": status.get("status"),
        "fleet_traffic": {
            "inbound_bytes": int(traffic.get("inbound-bytes", 0)),
            "outbound_bytes": int(traffic.get("outbound-bytes", 0)),
        },
    }
    write_json_atomically(results_path, results)
    return results
