"""Local only (the "trained alone" baseline): every node trains its own student on its own windows,
exchanging nothing but a per-round go-ahead and an acknowledgement.

It runs through the same runner, nodes, trainer settings and round schedule (`rounds` x
`local_epochs`) as the collaborative protocols, so a protocol's gain over it is the gain of
collaborating and nothing else; its ledger shows what no collaboration costs (only control messages).
"""

from __future__ import annotations

from collections.abc import Mapping

from kdcs.collab.node import CollabNode
from kdcs.collab.payload import Payload, PayloadSpec
from kdcs.collab.protocol import TASK_ONLY, Protocol, ack, ack_spec

TRAIN = "train"


class LocalOnlyProtocol(Protocol):
    name = "local-only"
    nodes_at_any_ap = True  # nothing learned crosses between nodes

    def configure(self, round: int, nodes: list[str]) -> dict[str, Payload]:
        meta = {"epochs": self.config.local_epochs, "round": round}
        return {name: Payload(TRAIN, meta=meta) for name in nodes}

    def node_step(self, node: CollabNode, instruction: Payload) -> Payload:
        node.fit(f"r{instruction.meta['round']}-local", int(instruction.meta["epochs"]), TASK_ONLY)
        return ack(node)

    def reply_spec(self, node: str, instruction: Payload) -> PayloadSpec:
        return ack_spec()

    def aggregate(self, round: int, replies: Mapping[str, Payload]) -> None:
        """Nothing to combine."""
