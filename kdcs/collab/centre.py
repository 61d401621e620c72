"""The central node's services to protocols: its teacher, its student, the shared proxy set.

Built lazily: a protocol that never asks for the teacher never trains one. In a Flower deployment
these live in the server app; in the local runner, in the runner's process.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from kdcs.collab.config import CollabConfig
from kdcs.collab.node import CollabNode
from kdcs.collab.node_setup import DataViews, build_central_node
from kdcs.collab.protocol import TASK_ONLY
from kdcs.config import from_dict
from kdcs.models import ModelConfig, build_model


class Centre:
    def __init__(self, config: CollabConfig, views: DataViews, run_dir: Path) -> None:
        self.config, self.views, self.run_dir = config, views, Path(run_dir)
        self._nodes: dict[str, CollabNode] = {}
        self.teacher_val: dict | None = None

    def node(self, role: str) -> CollabNode:
        """The central node holding its "teacher" or its "student" model (built once)."""
        if role not in self._nodes:
            self._nodes[role] = build_central_node(self.config, self.views, self.run_dir, role)
        return self._nodes[role]

    def trained_teacher(self) -> CollabNode:
        """The teacher: `central.teacher` loaded as is, or trained once on the centre's full-sensor
        view (task loss, central.train)."""
        teacher = self.node("teacher")
        if self.teacher_val is None:
            if self.config.central.teacher:
                self.teacher_val = teacher.evaluate("val")
            else:
                self.teacher_val = teacher.fit("teacher", self.config.central.train.epochs, TASK_ONLY)
        return teacher

    def proxy_ids(self) -> np.ndarray:
        """Sample ids of the shared proxy windows: the central AP's `proxy` split, evenly thinned."""
        data = self.views.of(self.config.central.ap)
        ids = np.asarray(data.cache.arrays["index"], dtype=np.int64)[data.windows[self.config.proxy].end_rows]
        if ids.size > self.config.proxy_windows:
            keep = np.linspace(0, ids.size - 1, self.config.proxy_windows).round().astype(np.int64)
            ids = ids[np.unique(keep)]
        return ids

    def fresh_weights(self, model_config: dict) -> dict[str, np.ndarray]:
        """Initial weights of a model described by a node card's config (seeded by the run's seed)."""
        torch.manual_seed(self.config.seed)
        model = build_model(from_dict(ModelConfig, model_config))
        return {key: value.detach().numpy().copy() for key, value in model.state_dict().items()}

    def built(self) -> dict[str, CollabNode]:
        return dict(self._nodes)
