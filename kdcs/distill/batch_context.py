"""From a WindowBatcher batch to model inputs and to the loss composer's context.

A batch may carry a longer history than a model uses: in temporal distillation the student sees
L = 3 slots and the teacher L = 8, both ending at the same slot t. Each model therefore gets the
last `model.config.history` slots of every per-slot input (`inputs_for`).

The context the composer reads (see `kdcs.distill.composer.read_context`):
    "student_logits" [B, S, C], "student_features" {name: tensor},
    "target" [B, S] int64, "beam_power" [B, S, C] linear power (when the batch has "target_power"),
    "teacher_logits" [B, S, C] or [K, B, S, C], "teacher_features" {name: tensor} (with a teacher),
    "peer_logits", "peer_features" (with peers).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import Tensor, nn

from kdcs.data.windows import INPUT_ARRAYS
from kdcs.models.output import ModelOutput

# Batch keys shaped [B, L, ...] (one entry per observed slot); everything else passes through.
PER_SLOT_KEYS = (*INPUT_ARRAYS, "beam_history")

# (logits, features) as returned by a teacher or peer source.
Outputs = tuple[Tensor, dict[str, Tensor]]


def model_history(model: nn.Module) -> int | None:
    """L the model was configured with (`model.config.history`), or None when it has no config."""
    return getattr(getattr(model, "config", None), "history", None)


def inputs_for(batch: Mapping[str, Any], history: int | None) -> dict[str, Any]:
    """The batch with every per-slot input cut to its last `history` slots (None: unchanged).

    Input: per-slot entries [B, L_batch, ...], L_batch >= history. Output: [B, history, ...] views.
    """
    if history is None:
        return dict(batch)
    sliced = dict(batch)
    for key in PER_SLOT_KEYS:
        if key not in batch:
            continue
        available = batch[key].shape[1]
        if available < history:
            raise ValueError(
                f"batch input '{key}' holds {available} slots but the model needs history={history}; "
                f"build the batcher with WindowSpec(history >= {history})"
            )
        sliced[key] = batch[key][:, available - history :]
    return sliced


# Host-side bookkeeping: looked up on the CPU (cached teacher outputs), never fed to a model.
HOST_KEYS = ("window_end",)


def batch_to_device(batch: Mapping[str, Any], device: torch.device | str) -> dict[str, Any]:
    """Tensors moved to `device` (non-blocking), except HOST_KEYS, which stay on the CPU."""
    return {
        key: value.to(device, non_blocking=True)
        if isinstance(value, Tensor) and key not in HOST_KEYS
        else value
        for key, value in batch.items()
    }


def build_context(
    batch: Mapping[str, Any],
    student: ModelOutput,
    teacher: Outputs | None = None,
    peers: Outputs | None = None,
) -> dict[str, Any]:
    """The composer's context for one batch (keys listed in the module docstring)."""
    context: dict[str, Any] = {
        "student_logits": student.logits,
        "student_features": student.features,
        "target": batch["target"],
    }
    if "target_power" in batch:
        context["beam_power"] = batch["target_power"]
    if teacher is not None:
        context["teacher_logits"], context["teacher_features"] = teacher
    if peers is not None:
        context["peer_logits"], context["peer_features"] = peers
    return context


def context_reads(composer: nn.Module) -> list[tuple[str, str]]:
    """(term name, context key) for every input of every term of a LossComposer-like module."""
    terms = getattr(composer, "terms", {})
    return [(name, key) for name, term in terms.items() for key in getattr(term, "reads", ())]


def check_context_available(composer: nn.Module, available: Iterable[str]) -> None:
    """Raise before training when a term reads a top-level context key no batch will have.

    `available` holds the top-level keys the trainer will provide (e.g. no "teacher_logits"
    without a teacher). Nested feature names are only known once a model has run.
    """
    available = set(available)
    for term, key in context_reads(composer):
        head = key.split(".", 1)[0]
        if key not in available and head not in available:
            raise ValueError(
                f"loss term '{term}' reads '{key}', which training will not provide "
                f"(available: {', '.join(sorted(available))}); add a teacher/peers or remove the term"
            )


def feature_keys_read(composer: nn.Module, prefix: str = "teacher_features") -> tuple[str, ...]:
    """Feature names the composer reads under `prefix`, e.g. ("final",) for "teacher_features.final"."""
    names = [key.split(".", 1)[1] for _, key in context_reads(composer) if key.startswith(prefix + ".")]
    return tuple(dict.fromkeys(names))
