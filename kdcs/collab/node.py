"""A collaborating node: its own data view, its model, and the few things a protocol asks it to do.

The same class serves the edge nodes (APs) and the central node. A node only ever touches its own
windows; what it learns from others arrives as arrays (soft labels, peer logits, weights) keyed by
sample ids, the `index` of a time instant, which is the same at every AP of a multi-AP scenario.

A node's local training across rounds is one training run (`kdcs.collab.local_training`): each
round resumes it with the optimiser state and learning-rate schedule it had. Received knowledge
becomes a `CachedTeacher` looked up by window end row, so the composer and losses (logit-kd,
multi-teacher, dml) are the usual ones. The proxy windows are the centre's (`kdcs.collab.proxy_set`):
their inputs arrive once and live in `state`; a node never reads them from its own data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from kdcs.collab.config import with_epochs
from kdcs.collab.local_training import (
    Segment,
    deploy_best,
    deploy_best_received,
    keep_if_best_received,
    train_segment,
)
from kdcs.collab.proxy_set import ProxyInputs
from kdcs.data.prepared import PreparedData
from kdcs.data.windows import WindowBatcher, WindowIndex, build_windows
from kdcs.distill.composer import build_composer
from kdcs.distill.prediction import predict, validation_summary
from kdcs.distill.teacher_outputs import CachedTeacher
from kdcs.distill.train_config import TrainConfig
from kdcs.distill.trainer import Trainer


@dataclass
class CollabNode:
    """One node. state: what a protocol keeps on the node between rounds (e.g. received soft labels)."""

    name: str
    data: PreparedData
    model: nn.Module
    train_config: TrainConfig
    run_dir: Path
    seed: int = 0
    state: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ids = np.asarray(self.data.cache.arrays["index"], dtype=np.int64)
        self._row_of_id = {int(value): row for row, value in enumerate(ids)}
        self.all_windows = build_windows(np.asarray(self.data.cache.arrays["seq_index"]), self.data.spec)
        self._window_of_row = {int(row): k for k, row in enumerate(self.all_windows.end_rows)}

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(self.model.modalities)

    # ------------------------------------------------------------------ sample ids <-> windows

    def sample_ids(self, split: str) -> np.ndarray:
        """Sample ids (`index`) of the end rows of this node's windows of one split. Output [W] int64."""
        return np.asarray(self.data.cache.arrays["index"], dtype=np.int64)[self.data.windows[split].end_rows]

    def windows_for_ids(self, ids: np.ndarray) -> WindowIndex:
        """This node's windows ending at the given sample ids, in that order (KeyError naming a missing id)."""
        positions = []
        for value in np.asarray(ids, dtype=np.int64).tolist():
            row = self._row_of_id.get(value)
            if row is None or row not in self._window_of_row:
                raise KeyError(f"node {self.name!r} has no window ending at sample index {value}")
            positions.append(self._window_of_row[row])
        return self.all_windows.subset(np.asarray(positions, dtype=np.int64))

    def received_outputs(self, ids: np.ndarray, logits: np.ndarray) -> CachedTeacher:
        """Logits received for sample ids as a teacher source of this node's windows. logits [W, S, C] or
        [W, K, S, C] (K peers: looked up per row, then moved to [K, B, S, C] by `StackedPeers`)."""
        rows = self.windows_for_ids(ids).end_rows
        return CachedTeacher(torch.from_numpy(np.ascontiguousarray(logits, dtype=np.float32)), {}, rows)

    # ------------------------------------------------------------------ what protocols ask

    def batcher(
        self, windows: WindowIndex, batch_size: int = 256, *, shuffle: bool = False, source: Any = None
    ) -> WindowBatcher:
        """Batches of `windows` of this node's own data, or of `source` (the proxy inputs it received).
        Every window the node reads goes through here. A shuffling batcher's generator is reseeded by
        the trainer (from its config, or from a checkpoint when it resumes)."""
        return WindowBatcher(
            self.data.cache if source is None else source,
            windows,
            self.data.spec,
            self.modalities,
            batch_size,
            shuffle=shuffle,
            rng=np.random.default_rng(0) if shuffle else None,
            num_beams=int(self.data.cache.manifest.get("num_beams", 64)),
        )

    def fit(self, tag: str, epochs: int, recipe: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """A training run of its own (the centre's teacher) in `<run_dir>/<tag>`: `epochs` epochs with
        the loss `recipe`, selected on validation; returns the best validation summary."""
        train = self.batcher(self.data.windows["train"], self.train_config.batch_size, shuffle=True)
        config = with_epochs(self.train_config, epochs, self.seed * 1009 + 1)
        trainer = Trainer(
            self.model,
            build_composer(recipe),
            train,
            self.batcher(self.data.windows["val"]),
            config,
            self.run_dir / tag,
        )
        return trainer.fit().best_val

    def train_segment(self, segment: Segment) -> dict[str, Any]:
        """This round's part of the node's one training run (see `kdcs.collab.local_training`)."""
        return train_segment(self, segment)

    def deploy_best(self) -> bool:
        """Deploy the best validation epoch of the node's training run (False: it never trained)."""
        return deploy_best(self)

    def keep_if_best_received(self) -> float:
        """Score the model just received on the node's validation windows; keep the best one."""
        return keep_if_best_received(self)

    def deploy_best_received(self) -> bool:
        return deploy_best_received(self)

    # ------------------------------------------------------------------ the centre's proxy windows

    @property
    def proxy(self) -> ProxyInputs | None:
        """The proxy windows' inputs the centre sent (None before they arrive)."""
        return ProxyInputs.from_state(self.state)

    def receive_proxy(self, proxy: ProxyInputs) -> None:
        self.state.update(proxy.to_state())

    def proxy_batcher(self, batch_size: int = 256) -> WindowBatcher:
        """Batches of the proxy windows (from the received inputs, never the node's own data)."""
        proxy = self._require_proxy()
        return self.batcher(proxy.windows(self.data.spec), batch_size, source=proxy.source())

    def proxy_logits(self) -> np.ndarray:
        """The model's logits on the proxy windows, in the centre's order. Output [P, S, C] float32."""
        return predict(self.model, self.proxy_batcher()).logits.astype(np.float32)

    def proxy_outputs(self, logits: np.ndarray) -> CachedTeacher:
        """Received logits on the proxy windows ([P, S, C], or [P, K, S, C] from K peers) as a
        teacher source of the proxy batches."""
        rows = self._require_proxy().windows(self.data.spec).end_rows
        return CachedTeacher(torch.from_numpy(np.ascontiguousarray(logits, dtype=np.float32)), {}, rows)

    def _require_proxy(self) -> ProxyInputs:
        proxy = self.proxy
        if proxy is None:
            raise RuntimeError(f"node {self.name!r} holds no proxy inputs yet")
        return proxy

    def logits_on(self, ids: np.ndarray) -> np.ndarray:
        """The model's logits on this node's view of the given sample ids. Output [W, S, C] float32."""
        return predict(self.model, self.batcher(self.windows_for_ids(ids))).logits.astype(np.float32)

    def evaluate(self, split: str) -> dict[str, Any]:
        """Every metric of the model on one split of the node's data (val: selection; test: results)."""
        return validation_summary(predict(self.model, self.batcher(self.data.windows[split])))

    def weights(self) -> dict[str, np.ndarray]:
        return {key: value.detach().cpu().numpy().copy() for key, value in self.model.state_dict().items()}

    def load_weights(self, tensors: dict[str, np.ndarray]) -> None:
        """Strict load: every key and shape must match (the payload spec checked them already)."""
        state = {
            key: torch.from_numpy(np.asarray(value)).to(self.model.state_dict()[key].dtype)
            for key, value in tensors.items()
        }
        self.model.load_state_dict(state, strict=True)

    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        return {key: tuple(value.shape) for key, value in self.model.state_dict().items()}


class StackedPeers:
    """Peer logits stored per window as [W, K, S, C]; yields [K, B, S, C] (what dml and multi-teacher read)."""

    def __init__(self, cached: CachedTeacher) -> None:
        self.cached = cached

    def outputs(self, batch):
        logits, _ = self.cached.outputs(batch)  # [B, K, S, C]
        return logits.transpose(0, 1), {}
