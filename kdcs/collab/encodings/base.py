"""What every tensor codec shares: the error type, the options, and careful reading of blobs.

A codec writes one float tensor as a header entry (JSON fields) plus raw byte parts, and reads it back
from that entry and the concatenated parts. Codecs for soft labels ("logit codecs") see the tensor as
rows over its last axis (C classes, e.g. [P, S, 64] -> P*S rows of 64 beams) and only promise that
softmax(decoded / T) is close to softmax(original / T); the decoded values are logits, not the original
numbers. Decoding never trusts the entry: every field is checked and every length is exact, so a
malformed payload is a PayloadError naming the tensor and what is wrong.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

Entry = dict[str, Any]
Encoded = tuple[Entry, list[bytes]]


class PayloadError(ValueError):
    """A received payload that is malformed or not what the receiver expected."""


@dataclass(frozen=True)
class EncodingOptions:
    """Settings of the lossy codecs (each codec reads the ones it needs and records them in its entry).

    topk: beams kept per row by "topk" and "topk-tail".
    temperature: the distillation temperature T at which "topk-tail", "beam-dct" and "sqrt-lzma" keep
        the distribution (their decoded logits are T * log q, so softmax(decoded / T) = q).
    sqrt_levels: L of "sqrt-lzma" (sqrt(p) is rounded to multiples of 1/L; mean KL at T about C/(6 L^2)).
    dct_coefficients: M of "beam-dct" (cosine coefficients kept per row).
    """

    topk: int = 8
    temperature: float = 4.0
    sqrt_levels: int = 24
    dct_coefficients: int = 12


class Codec:
    """One way of writing a float tensor. `logits_only` codecs apply to soft labels only."""

    name = ""
    logits_only = False

    def encode(self, array: np.ndarray, options: EncodingOptions) -> Encoded:
        raise NotImplementedError

    def decode(self, entry: Mapping[str, Any], blob: bytes, shape: tuple[int, ...]) -> np.ndarray:
        raise NotImplementedError


def log_softmax(rows: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """log softmax(rows / T) over the last axis, in float64."""
    scaled = np.asarray(rows, dtype=np.float64) / temperature
    peak = scaled.max(axis=-1, keepdims=True)
    return scaled - peak - np.log(np.exp(scaled - peak).sum(axis=-1, keepdims=True))


def rows_of(shape: tuple[int, ...], name: str) -> tuple[int, int]:
    """(rows, classes) of a soft-label tensor of `shape`: every axis but the last, and the last."""
    if not shape or shape[-1] < 1:
        raise PayloadError(f"tensor {name!r} of shape {shape} has no class axis for soft labels")
    return int(np.prod(shape[:-1], dtype=np.int64)), int(shape[-1])


def split_blob(blob: bytes, sizes: list[int], name: str, what: str) -> list[bytes]:
    """Cut `blob` into parts of `sizes` bytes; it must hold exactly their sum."""
    if sum(sizes) != len(blob):
        raise PayloadError(f"tensor {name!r} has {len(blob)} bytes, {what} needs {sum(sizes)}")
    parts, start = [], 0
    for size in sizes:
        parts.append(blob[start : start + size])
        start += size
    return parts


def read_array(blob: bytes, dtype: Any, count: int, name: str) -> np.ndarray:
    """`count` values of `dtype` from `blob`, which must hold exactly that many (a writable copy)."""
    dtype = np.dtype(dtype)
    if len(blob) != count * dtype.itemsize:
        raise PayloadError(f"tensor {name!r} has {len(blob)} bytes, its shape needs {count * dtype.itemsize}")
    return np.frombuffer(blob, dtype=dtype, count=count).copy()


def entry_int(entry: Mapping[str, Any], key: str, low: int, high: int) -> int:
    """The integer field `key` of a header entry, checked to lie in [low, high]."""
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PayloadError(
            f"tensor {entry.get('name')!r}: field {key!r} must be an integer in [{low}, {high}], got {value!r}"
        )
    return value


def entry_positive(entry: Mapping[str, Any], key: str) -> float:
    """The finite positive number `key` of a header entry (a temperature, a scale)."""
    value = entry.get(key)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise PayloadError(
            f"tensor {entry.get('name')!r}: field {key!r} must be a positive number, got {value!r}"
        )
    return float(value)
