"""Peer-to-peer mutual distillation (deep mutual learning among neighbouring nodes).

Nodes exchange logits on the centre's proxy windows through the centre (a relay: it forwards, it
does not combine). Each round node i receives the latest logits of its neighbours ([P, K, S, C]; all
other nodes unless `neighbours` is set) and trains its next segment on its own windows with a KD
term toward them on the proxy windows at every step (the `dml` loss, the mean KL to each peer, at
T = kd_temperature, weight kd_weight); then it uploads its new logits. The final broadcast carries
the peers' last logits.
"""

from __future__ import annotations

import numpy as np

from kdcs.collab.node import CollabNode, StackedPeers
from kdcs.collab.protocol import kd_only_recipe
from kdcs.collab.protocols.proxy_exchange import ProxyExchangeProtocol, proxy_distillation
from kdcs.collab.proxy_distillation import ProxyDistillation


class MutualProtocol(ProxyExchangeProtocol):
    name = "mutual"

    def neighbours(self, node: str) -> list[str]:
        listed = next(n.neighbours for n in self.config.nodes if n.name == node)
        return list(listed) if listed else [name for name in self.cards if name != node]

    def knowledge_for(self, node: str) -> np.ndarray | None:
        peers = [self.latest[name] for name in self.neighbours(node) if name in self.latest]
        return np.stack(peers, axis=1) if peers else None  # [P, K, S, C]

    def distillation(self, node: CollabNode, knowledge: np.ndarray, passes: int) -> ProxyDistillation:
        peers = StackedPeers(node.proxy_outputs(knowledge))
        recipe = kd_only_recipe("dml", self.config.kd_temperature)
        return proxy_distillation(node, recipe, self.config.kd_weight, passes, peers=peers)
