"""How the trainer runs a model fast on CPU: `train.precision` and `train.channels_last`.

Both are ways of computing the same model, not changes to it: the parameters, the optimiser
state, the loss and the validation stay float32 and keep their names and shapes, so a checkpoint
trained either way loads the other way.

- precision "bf16": the training forward runs under `torch.autocast(bfloat16)`: convolutions and
  matrix products take bfloat16 inputs (8-bit mantissa) and accumulate in float32; the weights
  and their updates stay float32. CPUs with avx512_bf16 (AMD Zen 4/5, Intel Sapphire Rapids)
  run these ops in hardware, and half the bytes move through memory, which is what limits the
  wide, few-channel first conv blocks. Validation and test predictions stay float32. "auto" (the
  default) is bf16 where it was measured to pay (`resolve_precision`).
- channels_last: 4-D weights (and so the activations of every conv) are stored NHWC, the layout
  oneDNN's convolutions run fastest in on CPU; NCHW convs with 1 input channel are several times
  slower. The state dict is unchanged (checkpoints store contiguous tensors).

Measured by `benchmarks/bench_training.py` (see README, "Training throughput").
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from kdcs.distill.train_config import PRECISIONS
from kdcs.models.config import IMAGE_MODALITIES
from kdcs.models.output import ModelOutput


def native_bf16(device: torch.device | str) -> bool:
    """True on a CPU whose cores compute bfloat16 dot products natively (avx512_bf16 or AMX)."""
    if torch.device(device).type != "cpu":
        return False
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def resolve_precision(precision: str, model: nn.Module, device: torch.device | str) -> str:
    """ "fp32" or "bf16" for a run: "auto" is bf16 where it pays, measured (README, Training throughput).

    bf16 pays for models with a CNN (camera, motion masks, radar maps: 1.8-2.5x on one core) on a CPU
    with native bfloat16, and costs the GPS + beam-history student 18% (small matrices, where the
    casts outweigh the arithmetic). Elsewhere (other devices, CPUs without native bf16) "auto" is fp32.
    """
    if precision not in (*PRECISIONS, "auto"):
        raise ValueError(f"precision must be one of {(*PRECISIONS, 'auto')}, got {precision!r}")
    if precision != "auto":
        return precision
    has_cnn = any(m in IMAGE_MODALITIES for m in getattr(model, "modalities", ()))
    return "bf16" if has_cnn and native_bf16(device) else "fp32"


def use_memory_format(model: nn.Module, channels_last: bool) -> nn.Module:
    """The model with its 4-D parameters and buffers in channels-last (True) or contiguous layout."""
    return model.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)


@contextlib.contextmanager
def training_precision(precision: str, device: torch.device | str) -> Iterator[None]:
    """The context a training forward runs in: bfloat16 autocast for "bf16", nothing for "fp32".

    Only the forward belongs inside; losses read the logits as float32 (`ModelOutput` callers
    cast), and backward follows the dtypes autocast chose.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "fp32":
        yield
        return
    with torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16):
        yield


def float32_output(output: ModelOutput) -> ModelOutput:
    """The output with logits and floating features in float32 (a no-op for float32 tensors).

    Under bf16 autocast the classifier returns bfloat16 logits; losses must not be computed on them.
    """
    features = {
        name: value.float() if value.is_floating_point() else value for name, value in output.features.items()
    }
    return ModelOutput(logits=output.logits.float(), features=features)
