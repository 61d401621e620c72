"""Federated distillation (FedMD / FedDF style): local training plus logit exchange on a proxy set.

Each round every node uploads its logits on the centre's proxy windows; the centre averages the
nodes' probabilities into ensemble soft labels (log of the mean softmax over this round's accepted
replies, weighted by each node's training windows with consensus="windows", the default: a missing
or rejected node adds nothing) and sends them back; each node trains its next
segment on its own windows with a KD term toward them on the proxy windows at every step
(logit-kd, T = kd_temperature, weight kd_weight). The final consensus goes out with the final
broadcast and is distilled in the nodes' last segment.

Students may differ: only [P, S, C] logits travel, so its uplink per round is P x S x C values
whatever the student. Dense, that is less than FedAvg's (the student's parameters) only when the
student is larger than the proxy logits: the 439 proxy windows of configs/collab/same-student.yaml x 4
slots x 64 beams as fp32 are 449,536 bytes, more than the 62,336-parameter GPS + beam-history student's
fp32 weights (249,344 bytes) and about ds-student's. The saving comes from the soft-label encoding
(`payload_encoding`, sqrt-lzma by default: 7-16 KB per reply there) and the proxy size; the ledger
counts what was really sent, and benchmarks/bench_collab.py reports the uplink per student against
FedAvg's (README: "Bytes per student").
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from kdcs.collab.node import CollabNode
from kdcs.collab.payload import Payload
from kdcs.collab.protocol import kd_only_recipe
from kdcs.collab.protocols.proxy_exchange import (
    ProxyExchangeProtocol,
    log_mean_probabilities,
    proxy_distillation,
)
from kdcs.collab.proxy_distillation import ProxyDistillation


class FedDistillProtocol(ProxyExchangeProtocol):
    name = "fed-distill"

    def setup(self) -> None:
        super().setup()
        self.consensus: np.ndarray | None = None

    def knowledge_for(self, node: str) -> np.ndarray | None:
        return self.consensus

    def distillation(self, node: CollabNode, knowledge: np.ndarray, passes: int) -> ProxyDistillation:
        recipe = kd_only_recipe("logit-kd", self.config.kd_temperature)
        teacher = node.proxy_outputs(knowledge)
        return proxy_distillation(node, recipe, self.config.kd_weight, passes, teacher=teacher)

    def combine(self, round: int, replies: Mapping[str, Payload]) -> None:
        if replies:  # only this round's accepted replies: a rejected or missing node adds nothing
            stack = np.stack([r.tensors["logits"] for r in replies.values()])
            weights = None
            if self.config.consensus == "windows":
                weights = np.array([max(float(r.meta.get("num_windows", 1)), 1.0) for r in replies.values()])
            self.consensus = log_mean_probabilities(stack, weights=weights)
