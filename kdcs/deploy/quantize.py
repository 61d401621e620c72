"""int8 dynamic quantisation of an exported ONNX graph, and how far its predictions move.

ONNX Runtime's dynamic quantisation stores the weights of the chosen node types as int8 and
quantises their activations on the fly per call (uint8, one scale per tensor), so no calibration
set is needed. By default only Conv (the per-frame CNNs, where the compute is) and Gather
(embeddings) are quantised; Gemm, GRU, LayerNorm and attention always stay fp32 in ONNX Runtime's
dynamic mode. MatMul (3-D Linear layers: the fusion and the slot classifier) is left out on
purpose: on a trained GPS + beam-history student, quantising it dropped top-1 agreement with fp32
to 0.91 (per-channel weights) and 0.61 (per-tensor), far below the 0.99 a deployment needs.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

# Node types whose weights become int8 by default (Conv runs as ConvInteger).
QUANTISED_OPS = ("Conv", "Gather")


@contextlib.contextmanager
def _root_logging_above_warning() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def quantize_int8(fp32_path: Path, int8_path: Path, op_types: tuple[str, ...] = QUANTISED_OPS) -> None:
    """Write the int8 version of `fp32_path` to `int8_path` atomically (per-channel int8 weights)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    int8_path = Path(int8_path)
    temporary = int8_path.with_name(f".{int8_path.name}.tmp-{os.getpid()}")
    try:
        # The quantiser logs advice on the root logger at WARNING; it is not a problem here.
        with _root_logging_above_warning():
            quantize_dynamic(
                Path(fp32_path),
                temporary,
                op_types_to_quantize=list(op_types),
                per_channel=True,
                weight_type=QuantType.QInt8,
            )
        os.replace(temporary, int8_path)
    finally:
        temporary.unlink(missing_ok=True)


def top1_agreement(reference_logits: np.ndarray, other_logits: np.ndarray) -> float:
    """Fraction of (window, slot) pairs whose best beam is the same. Input: two [W, S, C] arrays."""
    if reference_logits.shape != other_logits.shape:
        raise ValueError(f"logits shapes differ: {reference_logits.shape} vs {other_logits.shape}")
    return float(np.mean(reference_logits.argmax(-1) == other_logits.argmax(-1)))
