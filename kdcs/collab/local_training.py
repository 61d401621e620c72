"""A node's training across rounds: one training run, paused after each round and resumed at the next.

Each node keeps one trainer run folder, `<node folder>/training/`. A round's training is a segment
of that run: the trainer resumes the last checkpoint (optimiser state, weight average, RNG states,
best epoch so far) and trains `epochs` more, with a learning-rate schedule that spans the whole
collaboration (`total_epochs`). A collaborative run is therefore one training run per node, not
rounds x fresh runs that restart the optimiser and the schedule. Between segments only what the
loss reads changes (the round's received knowledge; for fedavg the weights it starts from).

After a segment the node holds the run's latest averaged weights (what it shares next round); at
the end it deploys the run's best validation epoch (`deploy_best`): the run is selected and
early-stopped on the node's own validation windows, never on proxy or test windows.
The checkpoints live on the node's own disk, so the local runner's worker processes and the Flower
SuperNodes resume them the same way.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from kdcs.collab.proxy_distillation import CycledBatcher, ProxyDistillation
from kdcs.data.windows import WindowIndex
from kdcs.distill.checkpoint import AVERAGE_FILE, MODEL_FILE, latest_checkpoint, read_checkpoint_state
from kdcs.distill.composer import build_composer
from kdcs.distill.prediction import metric_value
from kdcs.distill.teacher_outputs import TeacherSource
from kdcs.distill.train_config import TrainConfig
from kdcs.distill.trainer import BEST_WEIGHTS, Trainer
from kdcs.models.weights import load_model_weights, save_model_weights

TRAINING = "training"


@dataclass
class Segment:
    """One round's part of a node's training run.

    tag: a name for logs ("r2"). epochs: epochs this round. total_epochs: the run's planned epochs
    (the learning-rate schedule spans them). recipe: loss terms on the node's own windows.
    teacher: what recipe terms reading "teacher_logits" read (edge-kd's received soft labels).
    auxiliary: a KD term on proxy windows at every step (`ProxyDistillation`).
    start_weights: weights to go on from instead of the run's own (fedavg's global model).
    train_windows: windows to train on instead of the node's train split (the centre's student).
    min_steps: each epoch takes at least this many optimiser steps (going round the windows again).
    """

    tag: str
    epochs: int
    total_epochs: int
    recipe: dict[str, dict[str, Any]]
    teacher: TeacherSource | None = None
    auxiliary: ProxyDistillation | None = None
    start_weights: dict[str, np.ndarray] | None = None
    train_windows: WindowIndex | None = None
    min_steps: int = 0


def training_folder(node: Any) -> Path:
    return Path(node.run_dir) / TRAINING


def epochs_done(folder: Path) -> int:
    checkpoint = latest_checkpoint(folder)
    return 0 if checkpoint is None else int(read_checkpoint_state(checkpoint)["epoch"])


def segment_config(train: TrainConfig, total_epochs: int, seed: int) -> TrainConfig:
    """The run's config: one schedule over `total_epochs`, the node's seed, no early stop by default
    (train.patience still applies when set: a node whose validation stopped improving stops training)."""
    return dataclasses.replace(train, epochs=max(total_epochs, 1), seed=seed)


def train_segment(node: Any, segment: Segment) -> dict[str, Any]:
    """Resume the node's run for `segment.epochs` epochs; returns the run's best validation so far."""
    folder = training_folder(node)
    done = epochs_done(folder)
    if segment.epochs <= 0:
        return {}
    windows = segment.train_windows if segment.train_windows is not None else node.data.windows["train"]
    local = node.batcher(windows, node.train_config.batch_size, shuffle=True)
    steps = max(segment.min_steps, len(segment.auxiliary) if segment.auxiliary is not None else 0)
    train = CycledBatcher(local, min_batches=steps)
    val = node.batcher(node.data.windows["val"])
    config = segment_config(node.train_config, segment.total_epochs, node.seed * 1009 + 1)
    trainer = Trainer(
        node.model,
        build_composer(segment.recipe),
        train,
        val,
        config,
        folder,
        teacher=segment.teacher,
        auxiliary=segment.auxiliary,
    )
    start = _as_tensors(segment.start_weights, node.model) if segment.start_weights is not None else None
    result = trainer.fit(resume=True, until_epoch=done + segment.epochs, start_weights=start)
    _hold_latest(node.model, folder)
    return result.best_val


def deploy_best(node: Any) -> bool:
    """Load the run's best validation epoch into the node's model; False when it never trained."""
    best = training_folder(node) / BEST_WEIGHTS
    if not best.is_file():
        return False
    load_model_weights(best, node.model)
    return True


def _hold_latest(model: nn.Module, folder: Path) -> None:
    """The model goes on with the latest kept weights (the average when there is one), not the best
    epoch the trainer loaded: what a node shares follows its training."""
    checkpoint = latest_checkpoint(folder)
    if checkpoint is None:
        return
    average = checkpoint / AVERAGE_FILE
    load_model_weights(average if average.is_file() else checkpoint / MODEL_FILE, model)


def _as_tensors(weights: dict[str, np.ndarray], model: nn.Module) -> dict[str, torch.Tensor]:
    live = model.state_dict()
    return {key: torch.from_numpy(np.asarray(value)).to(live[key].dtype) for key, value in weights.items()}


# ---------------------------------------------------------------------- models a node receives

RECEIVED_BEST = "received-best.safetensors"
RECEIVED_SCORE = "received_best_val"  # node-state key: the best received model's validation score


def keep_if_best_received(node: Any) -> float:
    """Score the model the node now holds (received from the centre: fedavg's global model,
    central-kd's student) on the node's own validation windows; keep it when it is the best so far.
    Returns its score (`train.select_metric`)."""
    config = node.train_config
    score = metric_value(node.evaluate("val"), config.select_metric)
    best = node.state.get(RECEIVED_SCORE)
    sign = 1.0 if config.higher_is_better else -1.0
    if best is None or sign * (score - best) > 0:
        Path(node.run_dir).mkdir(parents=True, exist_ok=True)
        save_model_weights(Path(node.run_dir) / RECEIVED_BEST, node.model)
        node.state[RECEIVED_SCORE] = score
    return score


def deploy_best_received(node: Any) -> bool:
    """Load the best received model into the node's model; False when none was received."""
    path = Path(node.run_dir) / RECEIVED_BEST
    if RECEIVED_SCORE not in node.state or not path.is_file():
        return False
    load_model_weights(path, node.model)
    return True
