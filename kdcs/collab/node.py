"""A collaborating node: its own data view, its model, and the few things a protocol asks it to do.

The same class serves the edge nodes (APs) and the central node. A node only ever touches its own
windows; what it learns from others arrives as arrays (soft labels, peer logits, weights) keyed by
sample ids, the `index` of a time instant, which is the same at every AP of a multi-AP scenario.

Local training reuses `kdcs.distill.trainer.Trainer` unchanged: each call trains the model kept in
memory for a few epochs into a fresh folder `<run_dir>/nodes/<name>/<tag>` (checkpoints and logs of
that step). The optimiser restarts every call, as in FedAvg and FedMD, and the trainer hands back
the best validation epoch of the call. Received knowledge becomes a `CachedTeacher` looked up by
window end row, so the composer and losses (logit_kd, multi_teacher, dml) are the usual ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from kdcs.collab.config import with_epochs
from kdcs.data.prepared import PreparedData
from kdcs.data.windows import WindowBatcher, WindowIndex, build_windows
from kdcs.distill.composer import build_composer
from kdcs.distill.prediction import evaluate_split, predict
from kdcs.distill.teacher_outputs import CachedTeacher, TeacherSource
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

    def fit(
        self,
        tag: str,
        epochs: int,
        recipe: dict[str, dict[str, Any]],
        *,
        teacher: TeacherSource | None = None,
        peers: TeacherSource | None = None,
        train_windows: WindowIndex | None = None,
        val_windows: WindowIndex | None = None,
    ) -> dict[str, Any]:
        """Train the in-memory model for `epochs` with the loss `recipe`; returns the best val summary.

        train_windows / val_windows: other windows of this node (e.g. the proxy set) instead of its
        train / val split; a teacher source must cover both, since validation computes the loss too.
        """
        windows = train_windows if train_windows is not None else self.data.windows["train"]
        seed = self.seed * 1009 + len(self.state.setdefault("_steps", [])) + 1
        self.state["_steps"].append(tag)
        train = WindowBatcher(
            self.data.cache,
            windows,
            self.data.spec,
            self.modalities,
            self.train_config.batch_size,
            shuffle=True,
            rng=np.random.default_rng(seed),
        )
        val = WindowBatcher(
            self.data.cache,
            val_windows if val_windows is not None else self.data.windows["val"],
            self.data.spec,
            self.modalities,
            256,
        )
        config = with_epochs(self.train_config, epochs, seed)
        trainer = Trainer(
            self.model,
            build_composer(recipe),
            train,
            val,
            config,
            self.run_dir / tag,
            teacher=teacher,
            peers=peers,
        )
        return trainer.fit().best_val

    def logits_on(self, ids: np.ndarray) -> np.ndarray:
        """The model's logits on this node's view of the given sample ids. Output [W, S, C] float32."""
        batcher = WindowBatcher(
            self.data.cache, self.windows_for_ids(ids), self.data.spec, self.modalities, 256
        )
        return predict(self.model, batcher).logits.astype(np.float32)

    def evaluate(self, split: str) -> dict[str, Any]:
        return evaluate_split(self.model, self.data, split)

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
    """Peer logits stored per window as [W, K, S, C]; yields [K, B, S, C] (what dml and multi_teacher read)."""

    def __init__(self, cached: CachedTeacher) -> None:
        self.cached = cached

    def outputs(self, batch):
        logits, _ = self.cached.outputs(batch)  # [B, K, S, C]
        return logits.transpose(0, 1), {}
