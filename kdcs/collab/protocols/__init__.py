"""The collaboration protocols, one file each; the registry key is the config value."""

from __future__ import annotations

from kdcs.collab.protocol import Protocol
from kdcs.collab.protocols.central_kd import CentralKDProtocol
from kdcs.collab.protocols.edge_kd import EdgeKDProtocol
from kdcs.collab.protocols.ensemble_to_central import EnsembleToCentralProtocol
from kdcs.collab.protocols.fed_distill import FedDistillProtocol
from kdcs.collab.protocols.fedavg import FedAvgProtocol
from kdcs.collab.protocols.local_only import LocalOnlyProtocol
from kdcs.collab.protocols.multi_view_kd import MultiViewKDProtocol
from kdcs.collab.protocols.mutual import MutualProtocol
from kdcs.collab.protocols.world_exchange import WorldFedDistillProtocol, WorldMutualProtocol

PROTOCOLS: dict[str, type[Protocol]] = {
    cls.name: cls
    for cls in (
        CentralKDProtocol,
        EdgeKDProtocol,
        FedAvgProtocol,
        FedDistillProtocol,
        EnsembleToCentralProtocol,
        MutualProtocol,
        MultiViewKDProtocol,
        LocalOnlyProtocol,
    )
}



def register_protocol(cls: type[Protocol]) -> type[Protocol]:
    """Add a protocol under `cls.name` (usable as a decorator); the name must be new and kebab-case.
    Both engines then run it: the local engine in this process; on Flower, every process imports
    kdcs, so the protocol's module must be imported by `kdcs.collab.protocols` (a file in this folder,
    added to PROTOCOLS above)."""
    if not (isinstance(cls, type) and issubclass(cls, Protocol)):
        raise TypeError(f"{cls!r} is not a Protocol subclass")
    if not cls.name or cls.name != cls.name.lower() or "_" in cls.name:
        raise ValueError(f"protocol name {cls.name!r} must be a non-empty kebab-case word")
    if cls.name in PROTOCOLS:
        raise ValueError(f"protocol name {cls.name!r} is taken")
    PROTOCOLS[cls.name] = cls
    return cls


# the same protocols exchanging positions in the shared physical frame (knowledge_frame: world)
WORLD_FRAME: dict[str, type[Protocol]] = {
    cls.name: cls for cls in (WorldFedDistillProtocol, WorldMutualProtocol)
}


def protocol_class(config) -> type[Protocol]:
    """The protocol a config runs: its `protocol`, in its `knowledge_frame`."""
    if getattr(config, "knowledge_frame", "beam") == "world" and config.protocol in WORLD_FRAME:
        return WORLD_FRAME[config.protocol]
    return PROTOCOLS[config.protocol]


__all__ = ["PROTOCOLS", "Protocol", "protocol_class", "register_protocol"]
