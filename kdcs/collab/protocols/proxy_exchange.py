"""What fed-distill, mutual and ensemble-to-central share: rounds of local training plus an
exchange of logits on a shared proxy set, never weights (so students may differ).

A round, on a node: store the proxy ids (sent once, in the node's first round), distil on the proxy
windows from the knowledge the centre sent (if any, for `distill_epochs`), train on its own windows
(`local_epochs`, task loss), then upload its logits on its own view of the proxy instants
("logits" [P, S, C], top-k sparse with payload_encoding=topk). The centre keeps the latest logits of
every node and turns them into the next round's knowledge (a subclass decides how).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from kdcs.collab.node import CollabNode
from kdcs.collab.payload import Payload, PayloadSpec
from kdcs.collab.protocol import TASK_ONLY, Protocol, logits_spec, node_metrics
from kdcs.distill.teacher_outputs import TeacherSource

ROUND = "round"


def log_mean_probabilities(stack: np.ndarray, axis: int = 0) -> np.ndarray:
    """log of the mean softmax over `axis`: the ensemble's soft labels, as logits (stable)."""
    shifted = stack - stack.max(axis=-1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=-1, keepdims=True)
    return np.log(np.maximum(probs.mean(axis=axis), 1e-12)).astype(np.float32)


class ProxyExchangeProtocol(Protocol):
    """Base of the proxy-logit protocols; subclasses implement `knowledge_for`, `distill`, `combine`."""

    def setup(self) -> None:
        self.proxy_ids = self.services.proxy_ids()
        self.latest: dict[str, np.ndarray] = {}
        self.holds_ids: set[str] = set()

    def knowledge_for(self, node: str) -> np.ndarray | None:
        """What node `node` distils from this round (None = nothing yet)."""
        return None

    def distill(self, node: CollabNode, ids: np.ndarray, knowledge: np.ndarray, tag: str) -> None:
        raise NotImplementedError

    def combine(self, round: int, replies: Mapping[str, Payload]) -> None:
        """Centre-side use of this round's accepted logits (self.latest is already updated)."""

    def configure(self, round: int, nodes: list[str]) -> dict[str, Payload]:
        meta = {
            "round": round,
            "epochs": self.config.local_epochs,
            "distill_epochs": self.config.distill_epochs,
        }
        instructions = {}
        for name in nodes:
            tensors = {} if name in self.holds_ids else {"proxy_ids": self.proxy_ids.astype(np.int32)}
            knowledge = self.knowledge_for(name)
            if knowledge is not None:
                tensors["knowledge"] = knowledge
            instructions[name] = Payload(ROUND, tensors, meta, logit_keys=("knowledge",))
        return instructions

    def node_step(self, node: CollabNode, instruction: Payload) -> Payload:
        if "proxy_ids" in instruction.tensors:
            node.state["proxy_ids"] = instruction.tensors["proxy_ids"].astype(np.int64)
        ids = node.state["proxy_ids"]
        round = instruction.meta["round"]
        if "knowledge" in instruction.tensors and instruction.meta["distill_epochs"] > 0:
            self.distill(node, ids, instruction.tensors["knowledge"], f"r{round}-distill")
        if instruction.meta["epochs"] > 0:
            node.fit(f"r{round}-local", int(instruction.meta["epochs"]), TASK_ONLY)
        return Payload(
            "logits", {"logits": node.logits_on(ids)}, {"metrics": node_metrics(node)}, logit_keys=("logits",)
        )

    def reply_spec(self, node: str, instruction: Payload) -> PayloadSpec:
        return logits_spec(self.cards[node], "logits", len(self.proxy_ids))

    def aggregate(self, round: int, replies: Mapping[str, Payload]) -> None:
        self.holds_ids |= set(replies)
        for name, reply in replies.items():
            self.latest[name] = reply.tensors["logits"]
        self.combine(round, replies)

    def proxy_fit(
        self,
        node: CollabNode,
        ids: np.ndarray,
        recipe: dict,
        epochs: int,
        tag: str,
        *,
        teacher: TeacherSource | None = None,
        peers: TeacherSource | None = None,
    ) -> None:
        """Distil on the proxy windows (train and select on them: their labels are not used by KD-only recipes)."""
        windows = node.windows_for_ids(ids)
        node.fit(
            tag, epochs, recipe, teacher=teacher, peers=peers, train_windows=windows, val_windows=windows
        )
