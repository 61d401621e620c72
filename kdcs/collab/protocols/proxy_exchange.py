"""What fed-distill, mutual and ensemble-to-central share: rounds of local training plus an
exchange of logits on the centre's proxy windows, never weights (so students may differ).

The proxy windows are the centre's reserved sequences (`kdcs.collab.proxy_set`): their inputs go to
each node once, in its first round (kind "proxy_inputs", counted in the ledger), for the node's own
sensors only. A round, on a node: train the round's segment of its one training run on its own
windows (task loss) plus, when the centre sent knowledge, a KD term toward it on proxy windows at
every step (`ProxyDistillation`, weight `kd_weight`, at least `distill_epochs` passes over the proxy
windows per epoch); then upload its logits on the proxy windows ("logits" [P, S, C]). The centre
keeps the latest logits of every node and turns them into the next round's knowledge (a subclass
decides how). The final broadcast carries the last round's knowledge: nodes train a last segment
with it and deploy the epoch they selected on their own validation windows.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from kdcs.collab.node import CollabNode
from kdcs.collab.payload import Payload, PayloadSpec
from kdcs.collab.protocol import (
    FINISH,
    KNOWLEDGE,
    TASK_ONLY,
    Protocol,
    ack,
    ack_spec,
    logits_spec,
    node_metrics,
    segment_of,
)
from kdcs.collab.proxy_distillation import ProxyDistillation
from kdcs.collab.proxy_set import ProxyInputs
from kdcs.distill.composer import build_composer

ROUND = "round"
PROXY_INPUTS = "proxy_inputs"  # a round's instruction that also carries the proxy windows' inputs
LAYOUT = "proxy_layout"


def log_mean_probabilities(stack: np.ndarray, axis: int = 0, weights: np.ndarray | None = None) -> np.ndarray:
    """log of the (weighted) mean softmax over `axis`: the ensemble's soft labels, as logits (stable).
    weights: one per entry along `axis` (normalised here); None = equal."""
    shifted = stack - stack.max(axis=-1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=-1, keepdims=True)
    if weights is None:
        mean = probs.mean(axis=axis)
    else:
        shape = [1] * probs.ndim
        shape[axis] = -1
        share = np.asarray(weights, dtype=np.float64).reshape(shape) / float(np.sum(weights))
        mean = (probs * share).sum(axis=axis)
    return np.log(np.maximum(mean, 1e-12)).astype(np.float32)


class ProxyExchangeProtocol(Protocol):
    """Base of the proxy-logit protocols; subclasses implement `knowledge_for`, `distillation`, `combine`.

    What travels can change (`kdcs.collab.protocols.world_exchange` exchanges positions instead of
    logits) through `reply_key`, `knowledge_keys`, `proxy_inputs_for`, `local_segment` and `reply`.
    """

    reply_key = "logits"  # the tensor of a node's reply the centre keeps in `latest`
    knowledge_keys: tuple[str, ...] = (KNOWLEDGE,)  # instruction tensors that are soft labels

    def setup(self) -> None:
        self.proxy_count = self.services.proxy_count()
        self.latest: dict[str, np.ndarray] = {}
        self.holds_proxy: set[str] = set()

    def knowledge_for(self, node: str) -> np.ndarray | None:
        """What node `node` distils from this round (None = nothing yet)."""
        return None

    def distillation(self, node: CollabNode, knowledge: np.ndarray, passes: int) -> ProxyDistillation:
        """The KD term toward `knowledge` on the node's proxy windows (run on the node)."""
        raise NotImplementedError

    def combine(self, round: int, replies: Mapping[str, Payload]) -> None:
        """Centre-side use of this round's accepted logits (self.latest is already updated)."""

    def configure(self, round: int, nodes: list[str]) -> dict[str, Payload]:
        instructions = {}
        for name in nodes:
            meta = {**self.schedule(round), "distill_epochs": self.config.distill_epochs}
            tensors, kind = {}, ROUND
            if name not in self.holds_proxy:
                inputs = self.proxy_inputs_for(name)
                tensors, kind, meta[LAYOUT] = inputs.to_tensors(), PROXY_INPUTS, inputs.layout()
            knowledge = self.knowledge_for(name)
            if knowledge is not None:
                tensors[KNOWLEDGE] = knowledge
            instructions[name] = Payload(kind, tensors, meta, logit_keys=self.knowledge_keys)
        return instructions

    def proxy_inputs_for(self, node: str) -> ProxyInputs:
        """The proxy windows' inputs node `node` reads (its student's modalities)."""
        return self.services.proxy_inputs(tuple(self.cards[node].model_config["modalities"]))

    def finish(self, nodes: list[str]) -> dict[str, Payload]:
        return {
            name: Payload(payload.kind, payload.tensors, payload.meta, logit_keys=self.knowledge_keys)
            for name, payload in super().finish(nodes).items()
        }

    def finish_tensors(self, node: str) -> dict[str, np.ndarray]:
        knowledge = self.knowledge_for(node) if node in self.holds_proxy else None
        return {} if knowledge is None else {KNOWLEDGE: knowledge}

    def node_step(self, node: CollabNode, instruction: Payload) -> Payload:
        if LAYOUT in instruction.meta:
            node.receive_proxy(ProxyInputs.from_tensors(instruction.tensors, instruction.meta[LAYOUT]))
        auxiliary = None
        passes = int(instruction.meta.get("distill_epochs", self.config.distill_epochs))
        if KNOWLEDGE in instruction.tensors and passes > 0:
            auxiliary = self.distillation(node, instruction.tensors[KNOWLEDGE], passes)
        node.train_segment(self.local_segment(node, instruction, auxiliary))
        if instruction.kind == FINISH:
            node.deploy_best()
            return ack(node)
        return self.reply(node)

    def local_segment(self, node: CollabNode, instruction: Payload, auxiliary: ProxyDistillation | None):
        """The round's training segment on the node's own windows (task loss) plus `auxiliary`."""
        return segment_of(instruction, TASK_ONLY, auxiliary=auxiliary)

    def reply(self, node: CollabNode) -> Payload:
        """What a node uploads after its segment: its logits on the proxy windows."""
        logits = node.proxy_logits()
        meta = {"metrics": node_metrics(node), "num_windows": len(node.data.windows["train"])}
        return Payload("logits", {"logits": logits}, meta, logit_keys=("logits",))

    def reply_spec(self, node: str, instruction: Payload) -> PayloadSpec:
        if instruction.kind == FINISH:
            return ack_spec()
        return logits_spec(self.cards[node], "logits", self.proxy_count)

    def aggregate(self, round: int, replies: Mapping[str, Payload]) -> None:
        self.holds_proxy |= set(replies)
        for name, reply in replies.items():
            self.latest[name] = reply.tensors[self.reply_key]
        self.combine(round, replies)


def proxy_distillation(
    node: CollabNode, recipe: dict, weight: float, passes: int, *, teacher=None, peers=None
) -> ProxyDistillation:
    """A node's KD term on its proxy windows (batches of its training batch size)."""
    return ProxyDistillation(
        node.proxy_batcher(node.train_config.batch_size),
        build_composer(recipe),
        weight,
        node.seed,
        passes=passes,
        teacher=teacher,
        peers=peers,
    )
