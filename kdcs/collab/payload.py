"""What travels between nodes: a self-describing binary payload, and its validation on arrival.

Layout: MAGIC (8 bytes) | header length (uint32, little endian) | JSON header | raw tensor blobs.
The header names the payload kind, free JSON metadata and, per tensor, its name, shape, dtype,
encoding and byte count. These bytes are exactly what a transport carries (the local runner and
the Flower apps alike), so the byte ledger counts `len(encoded)`.

Encodings (`kdcs.collab.encodings`) change floating tensors only; integer tensors such as window ids
go as they are. A payload encoding names one codec for soft labels (the tensors named in `logit_keys`,
logits over the last axis) and one for every other float tensor (weights); each tensor entry records
the codec it was written with and that codec's settings, so decoding needs no options.
Decoding rejects anything malformed with a PayloadError saying why: wrong magic, truncated or
inconsistent bytes, non-finite values, out-of-range indices, or (with a PayloadSpec) the wrong
kind, keys or shapes. A rejected payload never reaches an aggregate.
"""

from __future__ import annotations

import dataclasses
import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kdcs.collab.encodings import CODECS, EncodingOptions, PayloadError, payload_encoding
from kdcs.collab.encodings.base import read_array

MAGIC = b"KDCSPAY1"
_LENGTH = struct.Struct("<I")
_ALLOWED_DTYPES = ("float32", "float64", "float16", "int64", "int32", "int16", "uint8", "int8", "bool")


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

    def encode(
        self, encoding: str = "fp32", topk: int | None = None, *, options: EncodingOptions | None = None
    ) -> bytes:
        """The payload as bytes in `encoding` (a name of `kdcs.collab.encodings.ENCODINGS`).

        options: the lossy codecs' settings (k, temperature, levels, coefficients); `topk`, when
        given, overrides options.topk (the former signature).
        """
        chosen = payload_encoding(encoding)
        options = options or EncodingOptions()
        if topk is not None:
            options = dataclasses.replace(options, topk=topk)
        entries, blobs = [], []
        for name, array in self.tensors.items():
            entry, parts = _encode_tensor(name, array, chosen, options, name in self.logit_keys)
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


def _encode_tensor(name: str, array: np.ndarray, encoding, options: EncodingOptions, is_logits: bool):
    entry: dict[str, Any] = {"name": name, "shape": list(array.shape), "dtype": array.dtype.name}
    if not np.issubdtype(array.dtype, np.floating):
        return {**entry, "encoding": "raw"}, [array.tobytes()]
    # soft labels with a class axis; a non-finite row goes by the values codec, which keeps the
    # NaN or inf for the receiver to reject
    as_labels = is_logits and array.ndim >= 1 and array.shape[-1] > 0 and bool(np.all(np.isfinite(array)))
    codec = encoding.logits if as_labels else encoding.values
    fields, parts = codec.encode(array, options)
    return {**entry, **fields}, parts


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
    try:
        if encoding == "raw":
            count = int(np.prod(shape, dtype=np.int64))
            array = read_array(blob, entry["dtype"], count, name).reshape(shape)
        elif isinstance(encoding, str) and encoding in CODECS:
            array = CODECS[encoding].decode(entry, blob, shape)
        else:
            raise PayloadError(f"tensor {name!r} has unknown encoding {encoding!r}")
    except (TypeError, ValueError) as error:
        if isinstance(error, PayloadError):
            raise
        raise PayloadError(f"tensor {name!r} cannot be decoded: {error}") from None
    if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
        raise PayloadError(f"tensor {name!r} holds NaN or infinite values")
    return array


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
