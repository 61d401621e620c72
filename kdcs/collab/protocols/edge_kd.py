"""Edge KD (centre to edge, online): the centre's teacher labels each node's own windows; nodes
distil locally, and raw data never leaves a node.

Round 0 (handshake): each node uploads the sample ids of its train and val windows. Round 1: the
centre runs its full-sensor teacher on its own view of those instants and sends the soft labels
(logits, in the run's encoding), with the proxy windows' inputs (`kdcs.collab.proxy_set`) and the
teacher's soft labels on them; the node keeps them and trains its run's segment on
task + kd_weight * logit-kd(T = kd_temperature) toward them on its own windows, plus the same KD
term on proxy windows at every step (as in fed-distill: a node with few windows learns mostly
there; off when distill_epochs=0 or proxy_fraction=0). Later rounds and the final broadcast send no
labels again (the teacher is frozen): nodes go on distilling what they hold. A node that missed
round 1 gets its labels in the first round it is back.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from kdcs.collab.node import CollabNode
from kdcs.collab.payload import Payload, PayloadSpec
from kdcs.collab.protocol import (
    FINISH,
    Protocol,
    ack,
    ack_spec,
    kd_only_recipe,
    segment_of,
    task_plus_kd,
    window_ids_spec,
)
from kdcs.collab.protocols.proxy_exchange import LAYOUT, proxy_distillation
from kdcs.collab.proxy_set import ProxyInputs

SOFT_LABELS = "soft_labels"
CONTINUE = "continue"
PROXY_LABELS = "proxy_logits"  # the teacher's soft labels on the proxy windows


class EdgeKDProtocol(Protocol):
    name = "edge-kd"
    handshake = True

    def setup(self) -> None:
        self.teacher = self.services.trained_teacher()
        self.served: set[str] = set()
        self.uses_proxy = self.config.distill_epochs > 0 and self.config.proxy_fraction > 0
        self._proxy_labels: dict[tuple[str, ...], np.ndarray] = {}

    def _proxy_part(self, node: str) -> tuple[dict[str, np.ndarray], dict]:
        """The proxy windows' inputs for the node's sensors and the teacher's soft labels on them.

        The frozen teacher labels the proxy windows once per set of node sensors, not once per node
        (the same windows, the same logits: 3 of 4 teacher passes saved for four alike nodes)."""
        modalities = tuple(self.cards[node].model_config["modalities"])
        inputs = self.services.proxy_inputs(modalities)
        if modalities not in self._proxy_labels:
            self._proxy_labels[modalities] = self.teacher.logits_on(inputs.window_ids)
        tensors = {**inputs.to_tensors(), PROXY_LABELS: self._proxy_labels[modalities]}
        return tensors, {LAYOUT: inputs.layout()}

    def configure(self, round: int, nodes: list[str]) -> dict[str, Payload]:
        instructions = {}
        for name in nodes:
            if name in self.served or name not in self.window_ids:
                instructions[name] = Payload(CONTINUE, meta=self.schedule(round))
                continue
            ids = np.concatenate([self.window_ids[name]["train_ids"], self.window_ids[name]["val_ids"]])
            logits = self.labels_for(name, ids)  # [W, S, C]
            tensors, meta = {"ids": ids.astype(np.int32), "logits": logits}, self.schedule(round)
            if self.uses_proxy:
                proxy_tensors, proxy_meta = self._proxy_part(name)
                tensors, meta = {**tensors, **proxy_tensors}, {**meta, **proxy_meta}
            instructions[name] = Payload(SOFT_LABELS, tensors, meta, logit_keys=("logits", PROXY_LABELS))
        self._sent_this_round = {n for n, p in instructions.items() if p.kind == SOFT_LABELS}
        return instructions

    def labels_for(self, node: str, ids: np.ndarray) -> np.ndarray:
        """The soft labels node `node` gets for its window ids: the teacher on the centre's view."""
        return self.teacher.logits_on(ids)

    def node_step(self, node: CollabNode, instruction: Payload) -> Payload:
        if instruction.kind == SOFT_LABELS:
            node.state["soft_labels"] = (instruction.tensors["ids"], instruction.tensors["logits"])
            if LAYOUT in instruction.meta:
                node.receive_proxy(ProxyInputs.from_tensors(instruction.tensors, instruction.meta[LAYOUT]))
                node.state[PROXY_LABELS] = instruction.tensors[PROXY_LABELS]
        if "soft_labels" not in node.state:
            raise RuntimeError(f"node {node.name!r} holds no soft labels yet")
        teacher = node.received_outputs(*node.state["soft_labels"])
        auxiliary = None
        if PROXY_LABELS in node.state:
            recipe = kd_only_recipe("logit-kd", self.config.kd_temperature)
            outputs = node.proxy_outputs(node.state[PROXY_LABELS])
            passes = self.config.distill_epochs
            auxiliary = proxy_distillation(node, recipe, self.config.kd_weight, passes, teacher=outputs)
        segment = segment_of(instruction, task_plus_kd(self.config), teacher=teacher, auxiliary=auxiliary)
        node.train_segment(segment)
        if instruction.kind == FINISH:
            node.deploy_best()
        return ack(node)

    def reply_spec(self, node: str, instruction: Payload) -> PayloadSpec:
        return window_ids_spec() if instruction.kind == "hello" else ack_spec()

    def aggregate(self, round: int, replies: Mapping[str, Payload]) -> None:
        # a node that answered after receiving its labels holds them; the others get them next time
        self.served |= {name for name in replies if name in self._sent_this_round}
