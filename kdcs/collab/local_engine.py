"""engine=local: one collab run played in this process (nodes in turn or in worker processes).

The nodes, the centre and the protocol are built here; the rounds are `kdcs.collab.local_runner`'s;
the run folder is written by `kdcs.collab.run_folder`, as the Flower engine writes it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from kdcs.collab.centre import Centre
from kdcs.collab.config import CollabConfig
from kdcs.collab.ledger import ByteLedger
from kdcs.collab.local_runner import LocalRunner
from kdcs.collab.node_setup import DataViews, build_edge_nodes
from kdcs.collab.protocol import NodeCard
from kdcs.collab.protocols import protocol_class
from kdcs.collab.run_folder import (
    collab_results,
    node_result,
    refuse_finished_run,
    write_run_config,
    write_run_outputs,
)
from kdcs.collab.validation import validate_collab_config


def run_local(config: CollabConfig, run_dir: Path, *, workers: int | None = None) -> dict[str, Any]:
    """Run the configured protocol here; writes and returns results.json. workers: cache-building processes."""
    validate_collab_config(config)
    run_dir = Path(run_dir)
    refuse_finished_run(run_dir)
    views = DataViews(config, workers)
    nodes = build_edge_nodes(config, views, run_dir)
    centre = Centre(config, views, run_dir)
    protocol = protocol_class(config)(config, {n: NodeCard.of(node) for n, node in nodes.items()}, centre)
    protocol.setup()  # config errors (e.g. fedavg with different students) surface before any output
    write_run_config(config, run_dir)
    ledger = ByteLedger()
    start = time.perf_counter()
    rows = LocalRunner(config, protocol, nodes, ledger).run()
    results = collab_results(
        config,
        time.perf_counter() - start,
        {name: node_result(node, config) for name, node in nodes.items()},
        {label: node_result(node, config) for label, node in protocol.central_nodes().items()},
        centre,
        ledger,
    )
    write_run_outputs(run_dir, results, rows, ledger)
    return results
