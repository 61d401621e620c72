"""Top-k soft labels with one flat fill ("topk"): per row the k largest logits (fp16, shifted so the
row's largest is 0) and their beam indices, plus one value that stands for every other beam.

The fill is log(rest mass / (C - k)) at T=1, so softmax of the rebuilt row keeps the k kept
probabilities exactly at T=1 and spreads the rest evenly. It is exact at T=1 only: at the KD
temperature T=4 the flat tail gets far too much mass and loses how probability falls off over
neighbouring beams (measured in benchmarks/bench_encodings.py); "topk-tail" keeps the tail at T.
Bytes per row: k indices (uint8 when C <= 256) + 2k + 2.
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
    read_array,
    rows_of,
    split_blob,
)

FP16_FLOOR = -6.0e4  # an empty tail (log 0) is sent as this instead of -inf


def index_dtype(classes: int) -> np.dtype:
    return np.dtype(np.uint8 if classes <= 256 else np.uint16)


def top_indices(rows: np.ndarray, k: int) -> np.ndarray:
    """[R, k] indices of the k largest values of each row, largest first (stable on ties)."""
    return np.argsort(-rows, axis=1, kind="stable")[:, :k]


def read_indices(blob: bytes, rows: int, k: int, classes: int, name: str) -> np.ndarray:
    """[R, k] beam indices, each checked to be below `classes`."""
    indices = read_array(blob, index_dtype(classes), rows * k, name).reshape(rows, k).astype(np.int64)
    if indices.size and int(indices.max()) >= classes:
        raise PayloadError(f"tensor {name!r} has a top-k index beyond its {classes} classes")
    return indices


class TopkCodec(Codec):
    name = "topk"
    logits_only = True

    def encode(self, array: np.ndarray, options: EncodingOptions) -> Encoded:
        classes = array.shape[-1]
        k = min(options.topk, classes)
        rows = array.reshape(-1, classes).astype(np.float64)  # [R, C]
        rows = rows - rows.max(axis=1, keepdims=True)  # softmax ignores the shift; fp16 keeps precision
        order = top_indices(rows, k)  # [R, k]
        values = np.take_along_axis(rows, order, axis=1)  # [R, k]
        rest = rows.copy()
        np.put_along_axis(rest, order, -np.inf, axis=1)
        with np.errstate(divide="ignore"):
            rest_mass = np.log(np.exp(rest).sum(axis=1))  # log sum of the dropped exps (row max is 0)
        fill = rest_mass - np.log(max(classes - k, 1)) if classes > k else np.zeros(rows.shape[0])
        parts = [order.astype(index_dtype(classes)).tobytes(), values.astype(np.float16).tobytes()]
        parts.append(np.maximum(fill, FP16_FLOOR).astype(np.float16).tobytes())
        return {"encoding": self.name, "k": k, "index_dtype": index_dtype(classes).name}, parts

    def decode(self, entry: Mapping[str, Any], blob: bytes, shape: tuple[int, ...]) -> np.ndarray:
        name = entry["name"]
        rows, classes = rows_of(shape, name)
        k = entry_int(entry, "k", 1, classes)
        width = index_dtype(classes).itemsize
        sizes = [rows * k * width, rows * k * 2, rows * 2]
        index_part, value_part, fill_part = split_blob(blob, sizes, name, f"top-{k} of shape {shape}")
        indices = read_indices(index_part, rows, k, classes, name)
        values = read_array(value_part, np.float16, rows * k, name).reshape(rows, k).astype(np.float32)
        fill = read_array(fill_part, np.float16, rows, name).astype(np.float32)
        dense = np.repeat(fill[:, None], classes, axis=1)  # [R, C]
        np.put_along_axis(dense, indices, values, axis=1)
        return dense.reshape(shape)
