"""The collaboration protocols, one file each; the registry key is the config value."""

from __future__ import annotations

from kdcs.collab.protocol import Protocol
from kdcs.collab.protocols.central_kd import CentralKDProtocol
from kdcs.collab.protocols.edge_kd import EdgeKDProtocol
from kdcs.collab.protocols.ensemble_to_central import EnsembleToCentralProtocol
from kdcs.collab.protocols.fed_distill import FedDistillProtocol
from kdcs.collab.protocols.fedavg import FedAvgProtocol
from kdcs.collab.protocols.local_only import LocalOnlyProtocol
from kdcs.collab.protocols.mutual import MutualProtocol

PROTOCOLS: dict[str, type[Protocol]] = {
    cls.name: cls
    for cls in (
        CentralKDProtocol,
        EdgeKDProtocol,
        FedAvgProtocol,
        FedDistillProtocol,
        EnsembleToCentralProtocol,
        MutualProtocol,
        LocalOnlyProtocol,
    )
}

__all__ = ["PROTOCOLS", "Protocol"]
