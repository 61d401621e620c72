"""Edge to centre: nodes train locally; the centre distils their predictions into its own student.

Each round the nodes train on their own windows and upload logits on the shared proxy windows (seen
through their own sensors); the centre distils the ensemble into a central student on its view of
the same instants with the "multi-teacher" recipe (focal on its own labels + multi_teacher KD over
the K node predictions). Nodes receive nothing but the proxy ids, once.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from kdcs.collab.node import CollabNode, StackedPeers
from kdcs.collab.payload import Payload
from kdcs.collab.protocols.proxy_exchange import ProxyExchangeProtocol
from kdcs.distill.recipes import merge_recipe


class EnsembleToCentralProtocol(ProxyExchangeProtocol):
    name = "ensemble-to-central"

    def setup(self) -> None:
        self.student = self.services.node("student")
        super().setup()

    def combine(self, round: int, replies: Mapping[str, Payload]) -> None:
        if not replies:
            return
        stacked = np.stack([reply.tensors["logits"] for reply in replies.values()], axis=1)  # [P, K, S, C]
        teacher = StackedPeers(self.student.received_outputs(self.proxy_ids, stacked))
        recipe = merge_recipe("multi-teacher", {"kd": {"temperature": self.config.kd_temperature}})
        epochs = max(int(self.config.distill_epochs), 1)
        self.proxy_fit(self.student, self.proxy_ids, recipe, epochs, f"r{round}-ensemble", teacher=teacher)

    def central_nodes(self) -> dict[str, CollabNode]:
        return {"central-student": self.student}
