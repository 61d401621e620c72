"""Collaborative learning among a central node and K edge nodes: nodes, protocols, payloads, ledger.

Engines: `kdcs.collab.local_engine.run_local` and `kdcs.collab.flower.engine.run_flower` (the job
`kdcs.jobs.collab.run_collab` picks one). Protocols (kdcs.collab.protocols) are transport-agnostic;
both engines call the same objects and write the same run folder (`kdcs.collab.run_folder`).
"""

from __future__ import annotations

from kdcs.collab.config import CentralConfig, CollabConfig, FaultConfig, NodeConfig
from kdcs.collab.ledger import ByteLedger
from kdcs.collab.payload import Payload, PayloadError, PayloadSpec
from kdcs.collab.run_folder import results_table

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
]
