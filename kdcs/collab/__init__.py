"""Collaborative learning among a central node and K edge nodes: nodes, protocols, payloads, ledger.

Entry point: `run_collab(CollabConfig, run_dir)`. Protocols (kdcs.collab.protocols) are
transport-agnostic; the local runner here and a Flower engine call the same objects.
"""

from __future__ import annotations

from kdcs.collab.config import CentralConfig, CollabConfig, FaultConfig, NodeConfig
from kdcs.collab.job import results_table, run_collab
from kdcs.collab.ledger import ByteLedger
from kdcs.collab.payload import Payload, PayloadError, PayloadSpec

__all__ = [
    "ByteLedger",
    "CentralConfig",
    "CollabConfig",
    "FaultConfig",
    "NodeConfig",
    "Payload",
    "PayloadError",
    "PayloadSpec",
    "results_table",
    "run_collab",
]
