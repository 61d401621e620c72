"""Train a multi-view central teacher: every AP's sensors at the same instants, one head per AP.

The centre pools what the APs sent it over fronthaul (their raw per-slot inputs and beam labels for
the training and validation instants), trains one model on all views with the task loss on every
AP's labels, selects on validation (mean over every AP's slots) and reports each head on each AP's
test windows. metrics.json also states the fronthaul bytes that pooling costs (arrays as the cache
stores them, beam labels as one byte each).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kdcs.atomic_files import write_json_atomically, write_text_atomically
from kdcs.config import ConfigError, to_dict
from kdcs.data.multi_view import MultiViewData
from kdcs.data.prepared import DataConfig
from kdcs.distill.multi_view import (
    build_multi_view_teacher,
    evaluate_heads,
    fit_multi_view_teacher,
    fronthaul_bytes,
    join_aps,
)
from kdcs.distill.train_config import TrainConfig
from kdcs.jobs.train import CONFIG_YAML, METRICS_JSON, config_text
from kdcs.models import ModelConfig


@dataclass(frozen=True)
class MultiViewRunConfig:
    """One multi-view teacher run.

    data: the scenario (a multi-AP root), window and split; `data.ap` is not used.
    aps: the APs pooled, in head order. views: "<ap>/<modality>" inputs; empty = every AP's
    camera motion, radar, GPS and beam history that it has. model: the per-view model settings
    (architecture, widths, modality_dropout per view). train: as any run.
    """

    name: str = "multi-view-teacher"
    data: DataConfig = field(default_factory=DataConfig)
    aps: tuple[str, ...] = ("ap1", "ap2", "ap3", "ap4")
    views: tuple[str, ...] = ()
    model: ModelConfig = field(
        default_factory=lambda: ModelConfig(architecture="multimodal-teacher", modality_dropout=0.3)
    )
    train: TrainConfig = field(default_factory=TrainConfig)


def run_multi_view_teacher(
    config: MultiViewRunConfig,
    run_dir: Path,
    *,
    resume: bool = False,
    workers: int | None = None,
    data: MultiViewData | None = None,
) -> dict[str, Any]:
    """Train the teacher; returns and writes metrics.json (per-AP validation and test summaries)."""
    if not config.aps:
        raise ConfigError("config key 'aps' must list at least one AP")
    run_dir = Path(run_dir)
    data = data or join_aps(config.data, config.aps, workers=workers)
    teacher = build_multi_view_teacher(config.aps, config.views, config.model, data, config.train.seed)
    views = teacher.config.views
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomically(run_dir / CONFIG_YAML, config_text(config))
    start = time.perf_counter()
    result = fit_multi_view_teacher(teacher, data, config.train, run_dir, resume=resume)
    metrics = {
        "name": config.name,
        "aps": list(config.aps),
        "views": list(views),
        "model": to_dict(teacher.config),
        "best_epoch": result.best_epoch,
        "epochs_run": len(result.history),
        "stopped_reason": result.stopped_reason,
        "train_seconds": round(time.perf_counter() - start, 2),
        "windows": {name: len(index) for name, index in data.windows.items()},
        "fronthaul_bytes": fronthaul_bytes(data, views),
    }
    for split in ("val", "test"):  # a centre holding uploads only has no test windows
        if len(data.windows.get(split, ())):
            metrics[split] = evaluate_heads(teacher, data, split)
    write_json_atomically(run_dir / METRICS_JSON, metrics)
    return metrics
