"""Typed training configuration: optimiser, learning-rate schedule, epochs, model selection.

Every field has a default, so YAML files and `train.key=value` overrides (`kdcs.config.load_config`)
hold only what changes; an unknown key is a ConfigError naming it, and so is a value outside its
choices.

The learning-rate schedule is a pure function of the epoch number (`learning_rate_at`) and, for the
plateau schedule, of the factor the validation plateaus have set so far (`kdcs.distill.plateau`, kept
in every checkpoint): the trainer sets each epoch's rate from it, so a resumed run lands on the same rates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

from kdcs.config import ConfigError

OPTIMIZERS = ("adamw", "adam", "sgd")
SCHEDULES = ("cosine", "none", "step", "plateau")
# Validation metrics a run may select its best epoch on; all but "loss" are higher-is-better
# means over slots from `kdcs.eval.metrics.summarize`.
SELECT_METRICS = ("top1_mean", "top5_mean", "dba_mean", "loss")
PRECISIONS = ("fp32", "bf16")  # what a run computes in; the config may also say "auto"


@dataclass(frozen=True)
class OptimConfig:
    """Optimiser and learning-rate schedule.

    Attributes:
        name: "adamw", "adam" (the reference's) or "sgd" (with `momentum`).
        lr: peak learning rate.
        weight_decay: decoupled for adamw, L2 for adam and sgd.
        momentum: sgd only.
        schedule: per-epoch factor on lr: "cosine" (to `min_lr_ratio` at the last epoch),
            "step" (times `step_gamma` every `step_epochs`), "plateau" (times `plateau_factor`
            when validation has not improved for `plateau_patience` epochs, at most
            `plateau_reductions` times; independent of the epoch cap, see `kdcs.distill.plateau`),
            or "none".
        warmup_epochs: linear warm-up over the first epochs, before the schedule starts.
        min_lr_ratio: the cosine schedule's floor, as a fraction of lr.
        step_epochs, step_gamma: the step schedule.
        plateau_factor, plateau_patience, plateau_reductions, plateau_restart_best: the plateau
            schedule (restart_best: each reduction restarts from the best epoch's weights).
        grad_clip_norm: clip the global gradient norm to this; None = no clipping.
    """

    name: Literal["adamw", "adam", "sgd"] = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1e-4
    momentum: float = 0.9
    schedule: Literal["cosine", "none", "step", "plateau"] = "cosine"
    warmup_epochs: int = 0
    min_lr_ratio: float = 0.0
    step_epochs: int = 10
    step_gamma: float = 0.1
    plateau_factor: float = 0.3
    plateau_patience: int = 2
    plateau_reductions: int = 2
    plateau_restart_best: bool = False
    grad_clip_norm: float | None = 5.0

    def __post_init__(self) -> None:
        if self.name not in OPTIMIZERS:
            raise ConfigError(f"config key 'optim.name' must be one of {OPTIMIZERS}, got {self.name!r}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(
                f"config key 'optim.schedule' must be one of {SCHEDULES}, got {self.schedule!r}"
            )
        checks = {
            "optim.lr": self.lr > 0,
            "optim.weight_decay": self.weight_decay >= 0,
            "optim.momentum": 0 <= self.momentum < 1,
            "optim.warmup_epochs": self.warmup_epochs >= 0,
            "optim.min_lr_ratio": 0 <= self.min_lr_ratio <= 1,
            "optim.step_epochs": self.step_epochs >= 1,
            "optim.step_gamma": 0 < self.step_gamma <= 1,
            "optim.plateau_factor": 0 < self.plateau_factor < 1,
            "optim.plateau_patience": self.plateau_patience >= 1,
            "optim.plateau_reductions": self.plateau_reductions >= 0,
            "optim.grad_clip_norm": self.grad_clip_norm is None or self.grad_clip_norm > 0,
        }
        for key, ok in checks.items():
            if not ok:
                raise ConfigError(f"config key '{key}' is out of range: {getattr(self, key.split('.')[1])!r}")


@dataclass(frozen=True)
class TrainConfig:
    """One training run: fit on train, select and early-stop on validation (never on test).

    Attributes:
        epochs: maximum number of epochs.
        batch_size: windows per training batch (for whoever builds the batchers; the trainer
            records the batch size it was actually given).
        patience: stop after this many epochs without a better `select_metric`; None = never.
        select_metric: validation metric that picks the best epoch (see SELECT_METRICS).
        min_delta: an epoch counts as better only when it improves by more than this.
        seed: seeds torch (weights, dropout); the train batcher's numpy generator shuffles.
        num_threads: torch intra-op threads; None leaves torch's default.
        device: "cpu", "cuda", "cuda:1", ...
        tensorboard: also write TensorBoard events under run_dir/tensorboard.
        progress: show progress on stderr: a bar per epoch on a terminal, else (a log file, CI)
            one plain line per epoch with the elapsed time and an estimate of the time left.
        optim: optimiser and schedule.
        ema_decay: validate, select and keep an exponential moving average of the weights with
            this decay per optimiser step (`kdcs.distill.weight_average`); None = the raw weights.
        precision: "bf16" runs the training forward under bfloat16 autocast (weights, optimiser,
            loss and validation stay float32), "fp32" runs it all in float32, "auto" picks bf16 for
            models with a CNN on a CPU with native bfloat16, else fp32 (`kdcs.distill.fast_path`).
        channels_last: keep conv weights and activations NHWC (faster convs on CPU; same model).
    """

    epochs: int = 20
    batch_size: int = 64
    patience: int | None = 6
    select_metric: Literal["top1_mean", "top5_mean", "dba_mean", "loss"] = "top1_mean"
    min_delta: float = 0.0
    seed: int = 0
    num_threads: int | None = None
    device: str = "cpu"
    tensorboard: bool = True
    progress: bool = True
    optim: OptimConfig = field(default_factory=OptimConfig)
    ema_decay: float | None = 0.995
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    channels_last: bool = True

    def __post_init__(self) -> None:
        if self.precision not in ("auto", *PRECISIONS):
            raise ConfigError(
                f"config key 'precision' must be one of {('auto', *PRECISIONS)}, got {self.precision!r}"
            )
        if self.select_metric not in SELECT_METRICS:
            raise ConfigError(
                f"config key 'select_metric' must be one of {SELECT_METRICS}, got {self.select_metric!r}"
            )
        checks = {
            "epochs": self.epochs >= 1,
            "batch_size": self.batch_size >= 1,
            "patience": self.patience is None or self.patience >= 1,
            "min_delta": self.min_delta >= 0,
            "num_threads": self.num_threads is None or self.num_threads >= 1,
            "ema_decay": self.ema_decay is None or 0.0 < self.ema_decay < 1.0,
        }
        for key, ok in checks.items():
            if not ok:
                raise ConfigError(f"config key '{key}' is out of range: {getattr(self, key)!r}")
        optim = self.optim
        if (
            optim.schedule == "plateau"
            and self.patience is not None
            and self.patience < optim.plateau_patience
        ):
            raise ConfigError(
                f"config key 'optim.plateau_patience' ({optim.plateau_patience}) exceeds 'patience' "
                f"({self.patience}): early stopping would end the run before the rate is ever lowered"
            )

    @property
    def higher_is_better(self) -> bool:
        return self.select_metric != "loss"


def learning_rate_at(optim: OptimConfig, epoch: int, total_epochs: int, plateau_scale: float = 1.0) -> float:
    """Learning rate of 0-based `epoch` in a run of `total_epochs`.

    Warm-up: lr * (epoch + 1) / (warmup + 1) for epoch < warmup. Then the schedule runs over the
    remaining epochs: cosine from lr towards lr * min_lr_ratio (reached one epoch after the last,
    so the last epoch still learns), step decay by step_gamma every step_epochs, or, for the plateau
    schedule, lr * plateau_scale (the factor the validation plateaus have set so far).
    """
    if epoch < optim.warmup_epochs:
        return optim.lr * (epoch + 1) / (optim.warmup_epochs + 1)
    after_warmup = epoch - optim.warmup_epochs
    if optim.schedule == "step":
        return optim.lr * optim.step_gamma ** (after_warmup // optim.step_epochs)
    if optim.schedule == "cosine":
        span = max(total_epochs - optim.warmup_epochs, 1)
        progress = min(after_warmup / span, 1.0)
        floor = optim.min_lr_ratio
        return optim.lr * (floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress)))
    if optim.schedule == "plateau":
        return optim.lr * plateau_scale
    return optim.lr


def build_optimizer(parameters: list[nn.Parameter], optim: OptimConfig) -> torch.optim.Optimizer:
    if optim.name == "adamw":
        return torch.optim.AdamW(parameters, lr=optim.lr, weight_decay=optim.weight_decay)
    if optim.name == "adam":
        return torch.optim.Adam(parameters, lr=optim.lr, weight_decay=optim.weight_decay)
    return torch.optim.SGD(parameters, lr=optim.lr, momentum=optim.momentum, weight_decay=optim.weight_decay)


def check_device(device: str, key: str, change: str | None = None) -> None:
    """Raise ConfigError naming `key` unless `device` is a torch device this machine has, so a run
    that asks for a GPU stops before any stage or file, not halfway through a job.
    change: the override the message suggests (default `--set <key>=cpu`)."""
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(
            f"config key '{key}': {device!r} is not a device (use cpu, cuda, cuda:1, mps)"
        ) from None
    available = {
        "cpu": 1,
        "cuda": torch.cuda.device_count() if torch.cuda.is_available() else 0,
        "mps": 1 if torch.backends.mps.is_available() else 0,
    }.get(parsed.type, 0)
    if available == 0 or (parsed.index or 0) >= available:
        raise ConfigError(
            f"config key '{key}' asks for {device!r}, which this machine does not have; "
            f"choose one it has, e.g. {change or f'--set {key}=cpu'}"
        )
