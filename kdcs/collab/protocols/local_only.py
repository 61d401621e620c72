"""Local only (the "trained alone" baseline): every node trains its own student on its own windows,
exchanging nothing but a per-round go-ahead and an acknowledgement.

It runs through the same runner, nodes, trainer settings and schedule (one training run per node of
`rounds` + 1 segments of `local_epochs`, selected on the node's validation windows) as the
collaborative protocols, so a protocol's gain over it is the gain of collaborating and nothing
else; its ledger shows what no collaboration costs (only control messages).
"""

from __future__ import annotations

from collections.abc import Mapping

from kdcs.collab.node import CollabNode
from kdcs.collab.payload import Payload, PayloadSpec
from kdcs.collab.protocol import FINISH, TASK_ONLY, Protocol, ack, ack_spec, segment_of

TRAIN = "train"


class LocalOnlyProtocol(Protocol):
    name = "local-only"
    nodes_at_any_ap = True  # nothing learned crosses between nodes

    def configure(self, round: int, nodes: list[str]) -> dict[str, Payload]:
        return {name: Payload(TRAIN, meta=self.schedule(round)) for name in nodes}

    def node_step(self, node: CollabNode, instruction: Payload) -> Payload:
        node.train_segment(segment_of(instruction, TASK_ONLY))
        if instruction.kind == FINISH:
            node.deploy_best()
        return ack(node)

    def reply_spec(self, node: str, instruction: Payload) -> PayloadSpec:
        return ack_spec()

    def aggregate(self, round: int, replies: Mapping[str, Payload]) -> None:
        """Nothing to combine."""
