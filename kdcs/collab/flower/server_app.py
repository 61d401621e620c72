"""The ServerApp: the centre of a collab run, a thin adapter over the same objects as the local engine.

It reads the run's config.yaml (run config `collab-config`), builds the centre (`Centre`: teacher,
central student, proxy set), waits for the nodes to join (`Roster`, which gives their cards), sets
up the protocol, plays the rounds through the shared loop (`GridRounds`), lets every node evaluate
its final model, and writes the run folder with the local engine's writers: rounds.csv, ledger.csv,
results.json, plus flower/traffic.csv. Log: flower/logs/serverapp.log. If anything fails, the error
goes to flower/error.json (type and message) for `kdcs collab` to report, and the run fails.
"""

from __future__ import annotations

import logging
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from flwr.app import Context
from flwr.serverapp import Grid, ServerApp

from kdcs.atomic_files import write_json_atomically
from kdcs.collab.centre import Centre
from kdcs.collab.config import CollabConfig
from kdcs.collab.flower.edge_node import COLLAB_CONFIG
from kdcs.collab.flower.final_evaluation import evaluate_nodes
from kdcs.collab.flower.grid_rounds import GridRounds
from kdcs.collab.flower.layout import FlowerLayout
from kdcs.collab.flower.roster import Roster
from kdcs.collab.flower.traffic import TrafficLog
from kdcs.collab.ledger import ByteLedger
from kdcs.collab.node_setup import DataViews
from kdcs.collab.protocols import protocol_class
from kdcs.collab.run_folder import collab_results, node_result, write_run_outputs
from kdcs.config import load_config

app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    config_path = Path(str(context.run_config[COLLAB_CONFIG]))
    run_dir = config_path.parent
    layout = FlowerLayout(run_dir)
    with _logging_to(layout.serverapp_log):
        try:
            serve(grid, load_config(CollabConfig(), config_path), run_dir)
        except BaseException as error:
            logging.getLogger("kdcs.collab").exception("the ServerApp failed")
            write_json_atomically(layout.error_json, {"type": type(error).__name__, "message": str(error)})
            raise


def serve(grid: Grid, config: CollabConfig, run_dir: Path) -> None:
    views = DataViews(config)
    centre = Centre(config, views, run_dir)
    traffic = TrafficLog()
    names = [node.name for node in config.nodes]
    refusals = FlowerLayout(run_dir).refusals
    roster = Roster(grid, names, traffic, config.node_timeout_s, refusals)
    cards = roster.join_all(config.flower.join_timeout_s)
    protocol = protocol_class(config)(config, cards, centre)
    protocol.setup()
    ledger = ByteLedger()
    start = time.perf_counter()
    rows = GridRounds(config, protocol, ledger, grid, roster, traffic).run()
    seconds = time.perf_counter() - start
    evaluated = evaluate_nodes(grid, roster, traffic, config.node_timeout_s)
    never_joined = {
        name: {"status": "missing", "reason": f"never joined: its SuperNode {why}"}
        for name, why in roster.refused.items()
    }
    nodes = {name: {**evaluated, **never_joined}[name] for name in names}
    central = {label: node_result(node, config) for label, node in protocol.central_nodes().items()}
    results = collab_results(config, seconds, nodes, central, centre, ledger)
    traffic.to_csv(FlowerLayout(run_dir).traffic_csv)
    write_run_outputs(run_dir, results, rows, ledger)


@contextmanager
def _logging_to(path: Path):
    """kdcs.collab's log (missing nodes, rejected replies) into the run folder and Flower's log stream."""
    path.parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger("kdcs.collab")
    handlers = [logging.FileHandler(path), logging.StreamHandler(sys.stderr)]
    for handler in handlers:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
            handler.close()
