"""Federated distillation (FedMD / FedDF style): local training plus logit exchange on a proxy set.

Each round every node uploads its logits on the shared proxy windows; the centre averages the
nodes' probabilities into ensemble soft labels (log of the mean softmax) and sends them back; each
node first distils them on the proxy windows (logit_kd only, T = kd_temperature), then trains on its
own data. Students may differ (only [P, S, C] logits travel), which is why its uplink is a small
fraction of FedAvg's for any student larger than a few thousand parameters.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from kdcs.collab.node import CollabNode
from kdcs.collab.payload import Payload
from kdcs.collab.protocol import kd_only_recipe
from kdcs.collab.protocols.proxy_exchange import ProxyExchangeProtocol, log_mean_probabilities


class FedDistillProtocol(ProxyExchangeProtocol):
    name = "fed-distill"

    def setup(self) -> None:
        super().setup()
        self.consensus: np.ndarray | None = None

    def knowledge_for(self, node: str) -> np.ndarray | None:
        return self.consensus

    def distill(self, node: CollabNode, ids: np.ndarray, knowledge: np.ndarray, tag: str) -> None:
        recipe = kd_only_recipe("logit_kd", self.config.kd_temperature)
        epochs = int(self.config.distill_epochs)
        self.proxy_fit(node, ids, recipe, epochs, tag, teacher=node.received_outputs(ids, knowledge))

    def combine(self, round: int, replies: Mapping[str, Payload]) -> None:
        if replies:  # only this round's accepted replies: a rejected or missing node adds nothing
            self.consensus = log_mean_probabilities(np.stack([r.tensors["logits"] for r in replies.values()]))
