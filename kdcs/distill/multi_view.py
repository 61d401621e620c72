"""A multi-view teacher's knowledge for one AP's student, and its per-AP scores.

The teacher reads joined windows (every AP's views, `kdcs.data.multi_view`); a student reads its
own AP's windows. `head_source` runs the frozen teacher once over the joined windows and keys its
AP's head (logits [W, J+1, C] and shared features) by that AP's own cache rows, so the student's
trainer looks them up by its batch's "window_end" like any cached teacher.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from kdcs.config import ConfigError
from kdcs.data.multi_view import MultiViewData, split_view, view_key
from kdcs.data.prepared import DataConfig, PreparedData, prepare_data
from kdcs.distill.composer import build_composer
from kdcs.distill.prediction import predict
from kdcs.distill.recipes import merge_recipe
from kdcs.distill.run_config import window_mismatch
from kdcs.distill.teacher_outputs import CachedTeacher, LiveTeacher, TeacherSource, teacher_fingerprint
from kdcs.distill.train_config import TrainConfig
from kdcs.distill.train_outcome import TrainResult
from kdcs.distill.trainer import Trainer
from kdcs.eval.metrics import rank_scores, summarize
from kdcs.models import ModelConfig
from kdcs.models.multi_view_teacher import MultiViewConfig, MultiViewTeacher, split_head_logits
from kdcs.models.output import ModelOutput

# The inputs a view of an AP is made of, in this order, where the AP has them.
VIEW_MODALITIES = ("camera_motion", "radar", "gps", "beam_history")
# Features a head source keeps: what the feature, relational and cross-modal recipes read.
HEAD_FEATURES = ("final", "frame")


def join_aps(
    config: DataConfig,
    aps: Sequence[str],
    *,
    prepared: dict[str, PreparedData] | None = None,
    workers: int | None = None,
) -> MultiViewData:
    """Every AP's data under `config.scenario` (a multi-AP root), prepared and joined by instant.

    `prepared` holds APs already prepared (reused as they are)."""
    prepared = dict(prepared or {})
    per_ap = {
        ap: prepared.get(ap) or prepare_data(dataclasses.replace(config, ap=ap), workers=workers)
        for ap in aps
    }
    return MultiViewData.join(per_ap, config.split)


def default_views(data: MultiViewData) -> tuple[str, ...]:
    """Every AP's camera motion, radar, GPS and beam history that it has."""
    return tuple(view_key(ap, m) for ap in data.aps for m in VIEW_MODALITIES if m in data.modalities(ap))


def fit_to_views(model: ModelConfig, data: MultiViewData) -> ModelConfig:
    """The model config fitted to the joined data: frame sizes read off the arrays ([N, H, W] camera,
    [N, R, A] radar), L and J from the data's windows where the config leaves them unset."""
    sizes: dict[str, Any] = {
        "history": data.spec.history if model.history is None else model.history,
        "horizon": data.spec.horizon if model.horizon is None else model.horizon,
    }
    for ap in data.aps:
        for name, key in (("camera_motion", "image_size"), ("camera", "image_size"), ("radar", "radar_size")):
            if name in data.arrays[ap]:
                sizes[key] = tuple(int(v) for v in np.shape(data.arrays[ap][name])[1:3])
    return dataclasses.replace(model, **sizes)


def build_multi_view_teacher(
    aps: Sequence[str], views: Sequence[str], model: ModelConfig, data: MultiViewData, seed: int
) -> MultiViewTeacher:
    """A fresh teacher over `views` (empty: `default_views`), heads for `aps`, sized for the data."""
    model = fit_to_views(model, data)
    mismatch = window_mismatch(model.history, model.horizon, data.spec.history, data.spec.horizon)
    if mismatch:
        raise ConfigError(f"config key 'model.{mismatch[0]}' {mismatch[1]}")
    torch.manual_seed(seed)
    config = MultiViewConfig(tuple(aps), tuple(views) or default_views(data), model)
    return MultiViewTeacher(config)


def fit_multi_view_teacher(
    teacher: MultiViewTeacher, data: MultiViewData, train: TrainConfig, run_dir: Path, *, resume: bool = False
) -> TrainResult:
    """Train with the task loss on every AP's labels, select on validation (mean over every AP's
    slots); the teacher holds the selected weights afterwards."""
    views = teacher.config.views
    batches = data.batcher("train", views, train.batch_size, shuffle=True, seed=train.seed)
    composer = build_composer(merge_recipe("none"))
    return Trainer(teacher, composer, batches, data.batcher("val", views, 256), train, run_dir).fit(
        resume=resume
    )


def fronthaul_bytes(
    data: MultiViewData, views: Sequence[str], splits: Sequence[str] = ("train", "val")
) -> int:
    """Bytes of raw inputs and labels the APs send for the instants the windows of `splits` touch
    (arrays as stored, beam labels one byte each)."""
    rows = np.unique(
        np.concatenate([np.concatenate([data.windows[s].input_rows.ravel(), data.windows[s].target_rows.ravel()])
                        for s in splits])
    )  # fmt: skip
    total = len(data.aps) * rows.size
    for view in views:
        ap, modality = split_view(view)
        if modality != "beam_history":  # an AP's past labels: counted above
            array = data.arrays[ap][modality]
            total += rows.size * int(np.prod(array.shape[1:])) * array.dtype.itemsize
    return int(total)


@torch.no_grad()
def head_source(
    teacher: MultiViewTeacher,
    data: MultiViewData,
    ap: str,
    splits: Sequence[str] = ("train", "val"),
    feature_keys: Sequence[str] = HEAD_FEATURES,
    batch_size: int = 256,
) -> CachedTeacher:
    """AP `ap`'s head over the joined windows of `splits`, keyed by `ap`'s own cache rows."""
    live = LiveTeacher(teacher)
    logits, features, ends = [], {name: [] for name in feature_keys}, []
    for split in splits:
        for batch in data.batcher(split, teacher.config.views, batch_size):
            batch_logits, batch_features = live.outputs(batch)
            logits.append(split_head_logits(batch_logits, teacher.config, ap).float())
            for name in feature_keys:
                features[name].append(batch_features[name].float())
            ends.append(data.ap_rows(ap, np.asarray(batch["window_end"])))
    window_end = np.concatenate(ends)
    fingerprint = teacher_fingerprint(teacher, window_end, [*feature_keys, f"head:{ap}"])
    stacked = {name: torch.cat(parts) for name, parts in features.items()}
    return CachedTeacher(torch.cat(logits), stacked, window_end, fingerprint)


def evaluate_heads(teacher: MultiViewTeacher, data: MultiViewData, split: str) -> dict[str, dict[str, Any]]:
    """Every metric of every AP's head on one joined split: {ap: summary}, plus "mean" over APs' top-k."""
    predictions = predict(teacher, data.batcher(split, teacher.config.views, 256))
    slots = teacher.config.model.num_slots
    out: dict[str, dict[str, Any]] = {}
    for k, ap in enumerate(teacher.config.aps):
        cut = slice(k * slots, (k + 1) * slots)
        power = predictions.power[:, cut] if predictions.power is not None else None
        ranked = rank_scores(split_head_logits(predictions.logits, teacher.config, ap), k=10)
        out[ap] = summarize(ranked, predictions.targets[:, cut], power)
    return out


class SourceModel(nn.Module):
    """A teacher source dressed as a model: what it holds for a batch, as a ModelOutput.

    Lets code that asks a teacher *model* for feature shapes (`kdcs.distill.recipes.resolve_recipe`)
    read a source whose teacher cannot run on the student's batch (a multi-view teacher).
    """

    def __init__(self, source: TeacherSource) -> None:
        super().__init__()
        self.source = source

    def forward(self, batch: dict[str, Any]) -> ModelOutput:
        logits, features = self.source.outputs(batch)
        return ModelOutput(logits=logits, features=features)
