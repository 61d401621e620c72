"""Edge to centre: nodes train locally; the centre distils their predictions into its own student.

Each round the nodes train a segment on their own windows and upload logits on the centre's proxy
windows (seen through their own sensors); the centre's student trains a segment of its own one run
on the centre's reserved windows (task loss on its own labels) plus, at every step, the
multi-teacher KD term (T = kd_temperature, weight kd_weight) toward the K node predictions on the
proxy windows. Nodes receive nothing but the proxy windows' inputs, once. The central student
deploys the epoch it selected on the centre's validation windows.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from kdcs.collab.local_training import Segment
from kdcs.collab.node import CollabNode, StackedPeers
from kdcs.collab.payload import Payload
from kdcs.collab.protocol import TASK_ONLY, kd_only_recipe
from kdcs.collab.protocols.proxy_exchange import ProxyExchangeProtocol
from kdcs.collab.proxy_distillation import ProxyDistillation
from kdcs.distill.composer import build_composer
from kdcs.distill.teacher_outputs import CachedTeacher


class EnsembleToCentralProtocol(ProxyExchangeProtocol):
    name = "ensemble-to-central"

    def setup(self) -> None:
        self.student = self.services.node("student")
        super().setup()

    def combine(self, round: int, replies: Mapping[str, Payload]) -> None:
        if not replies:
            return
        stacked = np.stack([reply.tensors["logits"] for reply in replies.values()], axis=1)  # [P, K, S, C]
        epochs = self.config.local_epochs
        segment = Segment(
            f"r{round}",
            epochs,
            self.config.rounds * epochs,
            TASK_ONLY,
            auxiliary=self._ensemble_term(stacked),
            train_windows=self.services.reserved_windows(),
            min_steps=self.config.min_epoch_steps,
        )
        self.student.train_segment(segment)

    def _ensemble_term(self, stacked: np.ndarray) -> ProxyDistillation:
        student, windows = self.student, self.services.proxy_windows()
        batcher = student.batcher(windows, student.train_config.batch_size)
        logits = CachedTeacher(_tensor(stacked), {}, windows.end_rows)
        recipe = kd_only_recipe("multi-teacher", self.config.kd_temperature)
        return ProxyDistillation(
            batcher,
            build_composer(recipe),
            self.config.kd_weight,
            student.seed,
            passes=max(self.config.distill_epochs, 1),
            teacher=StackedPeers(logits),
        )

    def finish(self, nodes: list[str]) -> dict[str, Payload]:
        self.student.deploy_best()
        return super().finish(nodes)

    def central_nodes(self) -> dict[str, CollabNode]:
        return {"central-student": self.student}


def _tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
