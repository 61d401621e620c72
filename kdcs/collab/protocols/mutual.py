"""Peer-to-peer mutual distillation (deep mutual learning among neighbouring nodes).

Nodes exchange logits on the shared proxy windows through the centre (a relay: it forwards, it does
not combine). Each round node i receives the latest logits of its neighbours ([P, K, S, C]; all
other nodes unless `neighbours` is set) and distils them with the `dml` loss (T = 1, the mean KL
to each peer) on the proxy windows, then trains on its own data and uploads its new logits.
"""

from __future__ import annotations

import numpy as np

from kdcs.collab.node import CollabNode, StackedPeers
from kdcs.collab.protocol import kd_only_recipe
from kdcs.collab.protocols.proxy_exchange import ProxyExchangeProtocol


class MutualProtocol(ProxyExchangeProtocol):
    name = "mutual"

    def neighbours(self, node: str) -> list[str]:
        listed = next(n.neighbours for n in self.config.nodes if n.name == node)
        return list(listed) if listed else [name for name in self.cards if name != node]

    def knowledge_for(self, node: str) -> np.ndarray | None:
        peers = [self.latest[name] for name in self.neighbours(node) if name in self.latest]
        return np.stack(peers, axis=1) if peers else None  # [P, K, S, C]

    def distill(self, node: CollabNode, ids: np.ndarray, knowledge: np.ndarray, tag: str) -> None:
        peers = StackedPeers(node.received_outputs(ids, knowledge))
        self.proxy_fit(
            node, ids, kd_only_recipe("dml", 1.0), int(self.config.distill_epochs), tag, peers=peers
        )
