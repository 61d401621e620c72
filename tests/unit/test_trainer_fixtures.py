"""Tiny data, models and loss terms shared by the trainer, checkpoint and teacher-output tests.

The task is learnable from the beam history alone: inside a sequence the beam climbs by one per
slot, so beam(t) = beam(t-1) + 1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from kdcs.data.partition import split_sequences, windows_in_sequences
from kdcs.data.windows import WindowBatcher, WindowSpec, build_windows
from kdcs.distill.train_config import OptimConfig, TrainConfig
from kdcs.models import ModelConfig, build_model

MODALITIES = ("gps", "beam_history")
TINY_WIDTHS = {"hidden": 16, "feature_size": 16, "gps_hidden": 16, "beam_embedding_dim": 8}


def climbing_beam_arrays(num_sequences: int = 30, sequence_length: int = 24, seed: int = 0) -> dict:
    """Arrays as a cache holds them: beam [N], seq_index [N], gps [N, 4], power [N, 64]."""
    rng = np.random.default_rng(seed)
    beam = np.concatenate([(3 * s + np.arange(sequence_length)) % 64 for s in range(num_sequences)])
    seq_index = np.repeat(np.arange(num_sequences), sequence_length)
    gps = np.stack([beam / 64.0, np.cos(beam / 9.0), 0.1 * rng.normal(size=beam.size), np.ones(beam.size)], 1)
    power = 0.01 + np.exp(-0.5 * ((np.arange(64)[None, :] - beam[:, None]) / 2.0) ** 2)
    return {
        "beam": beam.astype(np.int64),
        "seq_index": seq_index.astype(np.int64),
        "gps": gps.astype(np.float32),
        "power": power.astype(np.float32),
    }


def make_batchers(history: int = 8, horizon: int = 2, batch_size: int = 16, seed: int = 0, **arrays_kwargs):
    """(train, val, test) batchers over a sequence split 70/15/15; train shuffles."""
    arrays = climbing_beam_arrays(**arrays_kwargs)
    spec = WindowSpec(history, horizon)
    windows = build_windows(arrays["seq_index"], spec)
    split = split_sequences(np.unique(arrays["seq_index"]), (0.7, 0.15, 0.15))
    parts = {name: windows_in_sequences(windows, seqs) for name, seqs in split.items()}
    train = WindowBatcher(
        arrays, parts["train"], spec, MODALITIES, batch_size, shuffle=True, rng=np.random.default_rng(seed)
    )
    val = WindowBatcher(arrays, parts["val"], spec, MODALITIES, batch_size=64)
    test = WindowBatcher(arrays, parts["test"], spec, MODALITIES, batch_size=64)
    return train, val, test


def tiny_model(history: int = 3, horizon: int = 2, seed: int = 0, **overrides) -> nn.Module:
    torch.manual_seed(seed)
    settings = {**TINY_WIDTHS, "dropout": 0.0, **overrides}
    config = ModelConfig(architecture="gps-beam-student", history=history, horizon=horizon, **settings)
    return build_model(config)


def quick_config(**overrides) -> TrainConfig:
    optim = OptimConfig(**{"lr": 3e-2, **overrides.pop("optim", {})})
    # one thread: tiny models gain nothing from more, and the test machine is shared
    settings = {"epochs": 3, "tensorboard": False, "progress": False, "num_threads": 1, "optim": optim}
    return TrainConfig(**{**settings, **overrides})


class NaNAfter(nn.Module):
    """A loss term that is 0 for `calls` batches, then NaN (to provoke divergence)."""

    reads = ("student_logits",)

    def __init__(self, calls: int) -> None:
        super().__init__()
        self.calls_left = calls

    def forward(self, logits: Tensor) -> Tensor:
        self.calls_left -= 1
        zero = logits.sum() * 0.0
        return zero if self.calls_left >= 0 else zero + float("nan")


class Killed(Exception):
    """Stands in for SIGKILL: raised from inside an epoch."""


def kill_after_batches(batcher, batches: int) -> None:
    """Make `batcher` raise Killed once it has produced `batches` batches (over all epochs)."""
    gather, produced = batcher._gather, [0]

    def gather_or_die(chosen):
        if produced[0] >= batches:
            raise Killed(f"killed after {batches} batches")
        produced[0] += 1
        return gather(chosen)

    batcher._gather = gather_or_die


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
