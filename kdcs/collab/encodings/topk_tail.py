"""Top-k soft labels that keep the tail's mass at the distillation temperature ("topk-tail").

Per row, at temperature T: the k largest log-probabilities log p_T (fp16) with their beam indices,
the log of the remaining mass (fp16), and one byte naming how that mass falls off over the dropped
beams: beams are ordered directions, so the tail is spread in proportion to exp(-d / lambda), d being
a dropped beam's distance (in beam indices) to the nearest kept beam, with lambda picked per row from
`DECAYS` (infinite = even) to minimise the KL divergence over the tail. The decoded logits are
T * log q, so softmax(decoded / T) = q keeps the k kept probabilities and the total tail mass exactly
(up to fp16). What it loses is the tail's shape beyond one decay: on trained students' logits at T=4,
where the 56 dropped beams of a top-8 hold about a third of the mass with a per-beam pattern, that is
still far from the 0.02 nats target (benchmarks/bench_encodings.py).
Bytes per row: k indices (uint8 when C <= 256) + 2k + 2 + 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from kdcs.collab.encodings.base import (
    Codec,
    Encoded,
    EncodingOptions,
    PayloadError,
    entry_int,
    entry_positive,
    log_softmax,
    read_array,
    rows_of,
    split_blob,
)
from kdcs.collab.encodings.topk import FP16_FLOOR, index_dtype, read_indices, top_indices

DECAYS = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 64.0, np.inf)


def distance_to_kept(indices: np.ndarray, classes: int) -> np.ndarray:
    """[R, C] distance in beam indices from each beam to the nearest kept one (0 at kept beams)."""
    beams = np.arange(classes)
    return np.abs(beams[None, :, None] - indices[:, None, :]).min(axis=2)


def tail_log_weights(distance: np.ndarray, decay: np.ndarray) -> np.ndarray:
    """[R, C] log of each beam's share of the tail (-inf at kept beams) for per-row decays [R]."""
    with np.errstate(divide="ignore"):
        logits = np.where(distance > 0, -distance / decay[:, None], -np.inf)  # inf decay: even
    peak = np.max(logits, axis=1, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)  # no dropped beam at all: an empty tail
    total = np.exp(logits - peak).sum(axis=1, keepdims=True)
    return np.where(total > 0, logits - peak - np.log(np.maximum(total, 1e-300)), -np.inf)


class TopkTailCodec(Codec):
    name = "topk-tail"
    logits_only = True

    def encode(self, array: np.ndarray, options: EncodingOptions) -> Encoded:
        classes, temperature = array.shape[-1], float(options.temperature)
        k = min(options.topk, classes)
        logp = log_softmax(array.reshape(-1, classes), temperature)  # [R, C] at T
        indices = top_indices(logp, k)  # [R, k]
        kept = np.take_along_axis(logp, indices, axis=1)
        dropped = logp.copy()
        np.put_along_axis(dropped, indices, -np.inf, axis=1)
        with np.errstate(divide="ignore"):
            rest = np.log(np.exp(dropped).sum(axis=1))  # [R] log of the tail mass (-inf: no tail)
        choice = self._best_decays(logp, dropped, distance_to_kept(indices, classes))
        parts = [
            indices.astype(index_dtype(classes)).tobytes(),
            kept.astype(np.float16).tobytes(),
            np.maximum(rest, FP16_FLOOR).astype(np.float16).tobytes(),
            choice.astype(np.uint8).tobytes(),
        ]
        return {"encoding": self.name, "k": k, "temperature": temperature}, parts

    @staticmethod
    def _best_decays(logp: np.ndarray, dropped: np.ndarray, distance: np.ndarray) -> np.ndarray:
        """[R] index into DECAYS with the smallest tail KL sum_tail p (log p - log share) per row."""
        tail_p = np.exp(dropped)  # [R, C], 0 at kept beams
        in_tail = tail_p > 0
        costs = []
        for decay in DECAYS:
            share = tail_log_weights(distance, np.full(len(logp), decay))
            costs.append((tail_p * np.where(in_tail, logp - share, 0.0)).sum(axis=1))
        return np.argmin(np.stack(costs), axis=0)

    def decode(self, entry: Mapping[str, Any], blob: bytes, shape: tuple[int, ...]) -> np.ndarray:
        name = entry["name"]
        rows, classes = rows_of(shape, name)
        k = entry_int(entry, "k", 1, classes)
        temperature = entry_positive(entry, "temperature")
        sizes = [rows * k * index_dtype(classes).itemsize, rows * k * 2, rows * 2, rows]
        parts = split_blob(blob, sizes, name, f"top-{k} with tail of shape {shape}")
        indices = read_indices(parts[0], rows, k, classes, name)
        kept = read_array(parts[1], np.float16, rows * k, name).reshape(rows, k).astype(np.float64)
        rest = read_array(parts[2], np.float16, rows, name).astype(np.float64)
        choice = read_array(parts[3], np.uint8, rows, name).astype(np.int64)
        if choice.size and int(choice.max()) >= len(DECAYS):
            raise PayloadError(f"tensor {name!r} names a tail decay beyond the {len(DECAYS)} known")
        distance = distance_to_kept(indices, classes)
        logq = tail_log_weights(distance, np.asarray(DECAYS)[choice]) + rest[:, None]
        np.put_along_axis(logq, indices, kept, axis=1)
        return (temperature * np.maximum(logq, FP16_FLOOR)).astype(np.float32).reshape(shape)
