"""What travels between nodes: a self-describing binary payload, and its validation on arrival.

Layout: MAGIC (8 bytes) | header length (uint32, little endian) | JSON header | raw tensor blobs.
The header names the payload kind, free JSON metadata and, per tensor, its name, shape, dtype,
encoding and byte count. These bytes are exactly what a transport carries (the local runner and
the Flower apps alike), so the byte ledger counts `len(encoded)`.

Encodings (they change floating tensors only; integer tensors such as window ids go as they are):
    fp32, fp16: the values cast;
    int8: symmetric per-tensor quantisation, x ~ scale * q with q in [-127, 127];
    topk: for tensors named in `logit_keys`, per row of the last axis (C classes) the k largest
        logits (fp16) with their indices (uint8 when C <= 256) plus one fill value (fp16) that
        stands for every other class. The fill is log(rest mass / (C - k)), so softmax of the
        rebuilt row keeps the k kept probabilities exactly and spreads the rest evenly. Other
        float tensors (weights) go as fp32.
Decoding rejects anything malformed with a PayloadError saying why: wrong magic, truncated or
inconsistent bytes, non-finite values, out-of-range indices, or (with a PayloadSpec) the wrong
kind, keys or shapes. A rejected payload never reaches an aggregate.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MAGIC = b"KDCSPAY1"
ENCODINGS = ("fp32", "fp16", "int8", "topk")
_LENGTH = struct.Struct("<I")
_ALLOWED_DTYPES = ("float32", "float64", "float16", "int64", "int32", "int16", "uint8", "int8", "bool")


class PayloadError(ValueError):
    """A received payload that is malformed or not what the receiver expected."""


@dataclass(frozen=True)
class PayloadSpec:
    """What a receiver expects: the kind, and optionally the exact keys with their shapes.

    shapes: {name: shape}; a None entry in a shape matches any length (e.g. the number of windows).
    """

    kind: str
    shapes: Mapping[str, tuple[int | None, ...]] | None = None


@dataclass
class Payload:
    """kind (e.g. "weights", "logits"), named arrays, JSON metadata; logit_keys may go top-k sparse."""

    kind: str
    tensors: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    logit_keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.tensors = {name: _as_numpy(value) for name, value in self.tensors.items()}

    def encode(self, encoding: str = "fp32", topk: int = 8) -> bytes:
        """The payload as bytes in `encoding` (see the module docstring)."""
        if encoding not in ENCODINGS:
            raise ValueError(f"unknown payload encoding {encoding!r}; known: {ENCODINGS}")
        entries, blobs = [], []
        for name, array in self.tensors.items():
            entry, parts = _encode_tensor(name, array, encoding, topk, name in self.logit_keys)
            entry["nbytes"] = sum(len(part) for part in parts)
            entries.append(entry)
            blobs.extend(parts)
        header = json.dumps({"kind": self.kind, "meta": self.meta, "tensors": entries}).encode()
        return MAGIC + _LENGTH.pack(len(header)) + header + b"".join(blobs)

    @classmethod
    def decode(cls, data: bytes, spec: PayloadSpec | None = None) -> Payload:
        """Rebuild a payload from bytes, checking structure, finiteness and (optionally) `spec`."""
        header, body = _read_header(data)
        tensors, offset = {}, 0
        for entry in header["tensors"]:
            blob = body[offset : offset + entry["nbytes"]]
            offset += entry["nbytes"]
            tensors[entry["name"]] = _decode_tensor(entry, blob)
        payload = cls(header["kind"], tensors, header["meta"])
        if spec is not None:
            check_payload(payload, spec)
        return payload


def _as_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().to("cpu").numpy()
    array = np.asarray(value)
    if not array.flags.c_contiguous:
        array = np.ascontiguousarray(array)  # (not always: it would turn a 0-d tensor into 1-d)
    if array.dtype.name not in _ALLOWED_DTYPES:
        raise ValueError(f"payload tensors must be one of {_ALLOWED_DTYPES}, got {array.dtype}")
    return array


def _encode_tensor(name: str, array: np.ndarray, encoding: str, topk: int, is_logits: bool):
    entry: dict[str, Any] = {"name": name, "shape": list(array.shape), "dtype": array.dtype.name}
    if not np.issubdtype(array.dtype, np.floating):
        return {**entry, "encoding": "raw"}, [array.tobytes()]
    if encoding == "topk" and is_logits and array.ndim >= 1 and array.shape[-1] > 0:
        return _encode_topk(entry, array.astype(np.float64), topk)
    if encoding == "fp16":
        return {**entry, "encoding": "fp16"}, [array.astype(np.float16).tobytes()]
    if encoding == "int8":
        peak = float(np.max(np.abs(array))) if array.size else 0.0
        # a NaN or infinite tensor gets a NaN scale, so the receiver rejects it instead of reading zeros
        scale = peak / 127.0 if peak > 0 or not np.isfinite(peak) else 1.0
        scale = scale if np.isfinite(scale) else float("nan")
        quantised = np.clip(np.round(np.nan_to_num(array / scale)), -127, 127).astype(np.int8)
        return {**entry, "encoding": "int8", "scale": scale}, [quantised.tobytes()]
    return {**entry, "encoding": "fp32"}, [array.astype(np.float32).tobytes()]


def _encode_topk(entry: dict[str, Any], array: np.ndarray, topk: int):
    classes = array.shape[-1]
    k = min(topk, classes)
    rows = array.reshape(-1, classes)  # [R, C]
    order = np.argsort(-rows, axis=1, kind="stable")[:, :k]  # [R, k]
    values = np.take_along_axis(rows, order, axis=1)  # [R, k]
    rest = rows.copy()
    np.put_along_axis(rest, order, -np.inf, axis=1)
    peak = rows.max(axis=1, keepdims=True)  # [R, 1]
    with np.errstate(divide="ignore"):
        rest_mass = np.log(np.exp(rest - peak).sum(axis=1)) + peak[:, 0]  # log sum of the dropped exps
    fill = rest_mass - np.log(max(classes - k, 1)) if classes > k else np.zeros(rows.shape[0])
    index_dtype = np.uint8 if classes <= 256 else np.uint16
    parts = [order.astype(index_dtype).tobytes(), values.astype(np.float16).tobytes()]
    parts.append(np.maximum(fill, -6e4).astype(np.float16).tobytes())  # fp16 floor instead of -inf
    return {**entry, "encoding": "topk", "k": k, "index_dtype": np.dtype(index_dtype).name}, parts


def _read_header(data: bytes) -> tuple[dict[str, Any], bytes]:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise PayloadError(f"a payload must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < len(MAGIC) + _LENGTH.size or not data.startswith(MAGIC):
        raise PayloadError("not a kdcs payload (wrong magic bytes or too short)")
    (length,) = _LENGTH.unpack_from(data, len(MAGIC))
    start = len(MAGIC) + _LENGTH.size
    if start + length > len(data):
        raise PayloadError(f"payload truncated: header says {length} bytes, {len(data) - start} remain")
    try:
        header = json.loads(data[start : start + length])
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise PayloadError("payload header is not valid JSON") from None
    _check_header(header)
    body = data[start + length :]
    expected = sum(entry["nbytes"] for entry in header["tensors"])
    if expected != len(body):
        raise PayloadError(
            f"payload body holds {len(body)} bytes, its header announces {expected} (truncated?)"
        )
    return header, body


def _check_header(header: Any) -> None:
    if not isinstance(header, dict) or not isinstance(header.get("kind"), str):
        raise PayloadError("payload header lacks its kind")
    if not isinstance(header.get("meta"), dict) or not isinstance(header.get("tensors"), list):
        raise PayloadError("payload header lacks its meta or tensor list")
    for entry in header["tensors"]:
        ok = (
            isinstance(entry, dict)
            and isinstance(entry.get("name"), str)
            and isinstance(entry.get("nbytes"), int)
            and entry["nbytes"] >= 0
            and isinstance(entry.get("shape"), list)
            and all(isinstance(n, int) and n >= 0 for n in entry["shape"])
            and entry.get("dtype") in _ALLOWED_DTYPES
        )
        if not ok:
            raise PayloadError(f"payload header has a malformed tensor entry: {str(entry)[:120]}")


def _decode_tensor(entry: dict[str, Any], blob: bytes) -> np.ndarray:
    name, shape, encoding = entry["name"], tuple(entry["shape"]), entry.get("encoding")
    count = int(np.prod(shape, dtype=np.int64))
    try:
        if encoding == "raw":
            array = _frombuffer(blob, np.dtype(entry["dtype"]), count, name).reshape(shape)
        elif encoding in ("fp32", "fp16"):
            stored = np.float32 if encoding == "fp32" else np.float16
            array = _frombuffer(blob, np.dtype(stored), count, name).astype(np.float32).reshape(shape)
        elif encoding == "int8":
            scale = float(entry.get("scale", float("nan")))
            array = (_frombuffer(blob, np.dtype(np.int8), count, name).astype(np.float32) * scale).reshape(
                shape
            )
        elif encoding == "topk":
            array = _decode_topk(entry, blob, shape)
        else:
            raise PayloadError(f"tensor {name!r} has unknown encoding {encoding!r}")
    except (TypeError, ValueError) as error:
        if isinstance(error, PayloadError):
            raise
        raise PayloadError(f"tensor {name!r} cannot be decoded: {error}") from None
    if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
        raise PayloadError(f"tensor {name!r} holds NaN or infinite values")
    return array


def _frombuffer(blob: bytes, dtype: np.dtype, count: int, name: str) -> np.ndarray:
    if len(blob) != count * dtype.itemsize:
        raise PayloadError(f"tensor {name!r} has {len(blob)} bytes, its shape needs {count * dtype.itemsize}")
    return np.frombuffer(blob, dtype=dtype, count=count).copy()


def _decode_topk(entry: dict[str, Any], blob: bytes, shape: tuple[int, ...]) -> np.ndarray:
    name, k = entry["name"], int(entry.get("k", 0))
    if not shape or not 1 <= k <= shape[-1]:
        raise PayloadError(f"tensor {name!r}: top-k entry with k={k} does not fit shape {shape}")
    classes, rows = shape[-1], int(np.prod(shape[:-1], dtype=np.int64))
    index_dtype = np.dtype(entry.get("index_dtype", "uint8"))
    sizes = (rows * k * index_dtype.itemsize, rows * k * 2, rows * 2)
    if sum(sizes) != len(blob):
        raise PayloadError(
            f"tensor {name!r} has {len(blob)} bytes, top-{k} of shape {shape} needs {sum(sizes)}"
        )
    indices = np.frombuffer(blob[: sizes[0]], dtype=index_dtype).reshape(rows, k).astype(np.int64)
    values = np.frombuffer(blob[sizes[0] : sizes[0] + sizes[1]], dtype=np.float16).reshape(rows, k)
    fill = np.frombuffer(blob[sizes[0] + sizes[1] :], dtype=np.float16).astype(np.float32)
    if indices.size and int(indices.max()) >= classes:
        raise PayloadError(f"tensor {name!r} has a top-k index beyond its {classes} classes")
    dense = np.repeat(fill[:, None], classes, axis=1)  # [R, C]
    np.put_along_axis(dense, indices, values.astype(np.float32), axis=1)
    return dense.reshape(shape)


def check_payload(payload: Payload, spec: PayloadSpec) -> None:
    """Raise PayloadError unless `payload` has the kind, keys and shapes `spec` asks for."""
    if payload.kind != spec.kind:
        raise PayloadError(f"expected a {spec.kind!r} payload, got {payload.kind!r}")
    if spec.shapes is None:
        return
    missing = sorted(set(spec.shapes) - set(payload.tensors))
    extra = sorted(set(payload.tensors) - set(spec.shapes))
    if missing or extra:
        what = f"lacks {missing[0]!r}" if missing else f"has unexpected {extra[0]!r}"
        raise PayloadError(f"{payload.kind!r} payload {what}")
    for name, expected in spec.shapes.items():
        actual = payload.tensors[name].shape
        if len(actual) != len(expected) or any(
            e is not None and e != a for e, a in zip(expected, actual, strict=True)
        ):
            raise PayloadError(f"tensor {name!r} has shape {actual}, expected {expected}")
