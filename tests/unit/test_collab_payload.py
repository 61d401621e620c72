"""Payload encodings round-trip within their tolerance, and malformed payloads are rejected."""

from __future__ import annotations

import numpy as np
import pytest

from kdcs.collab.payload import Payload, PayloadError, PayloadSpec


def _logits(rows: int = 6, slots: int = 2, classes: int = 64) -> np.ndarray:
    return np.random.default_rng(0).normal(scale=3.0, size=(rows, slots, classes)).astype(np.float32)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_fp32_round_trip_is_exact_and_integers_stay_integers():
    payload = Payload("logits", {"logits": _logits(), "ids": np.arange(6, dtype=np.int32)}, {"round": 2})

    decoded = Payload.decode(payload.encode("fp32"))

    assert decoded.kind == "logits" and decoded.meta == {"round": 2}
    np.testing.assert_array_equal(decoded.tensors["logits"], payload.tensors["logits"])
    assert decoded.tensors["ids"].dtype == np.int32
    np.testing.assert_array_equal(decoded.tensors["ids"], np.arange(6))


@pytest.mark.parametrize(("encoding", "tolerance"), [("fp16", 1e-2), ("int8", 0.05)])
def test_lossy_encodings_stay_within_tolerance_and_shrink(encoding, tolerance):
    logits = _logits()
    payload = Payload("logits", {"logits": logits})

    data = payload.encode(encoding)
    decoded = Payload.decode(data).tensors["logits"]

    assert np.abs(decoded - logits).max() <= tolerance * np.abs(logits).max()
    assert len(data) < len(payload.encode("fp32"))


def test_topk_keeps_the_top_k_beams_and_their_probabilities():
    logits = _logits()
    payload = Payload("logits", {"logits": logits}, logit_keys=("logits",))

    data = payload.encode("topk", topk=5)
    decoded = Payload.decode(data).tensors["logits"]

    top = np.argsort(-logits, axis=-1)[..., :5]
    np.testing.assert_array_equal(np.argsort(-decoded, axis=-1, kind="stable")[..., :5], top)
    kept_original = np.take_along_axis(_softmax(logits), top, axis=-1)
    kept_decoded = np.take_along_axis(_softmax(decoded), top, axis=-1)
    np.testing.assert_allclose(kept_decoded, kept_original, atol=5e-3)  # fp16 values, exact rest mass
    assert len(data) * 8 < len(payload.encode("fp32"))


def test_topk_leaves_non_logit_tensors_dense():
    weights = np.linspace(-1, 1, 64, dtype=np.float32).reshape(4, 16)
    decoded = Payload.decode(Payload("weights", {"w": weights}).encode("topk", topk=2))
    np.testing.assert_array_equal(decoded.tensors["w"], weights)


def test_spec_checks_kind_keys_and_shapes():
    data = Payload("logits", {"logits": _logits()}).encode()

    Payload.decode(data, PayloadSpec("logits", {"logits": (None, 2, 64)}))
    with pytest.raises(PayloadError, match="shape"):
        Payload.decode(data, PayloadSpec("logits", {"logits": (None, 3, 64)}))
    with pytest.raises(PayloadError, match="expected a 'weights' payload"):
        Payload.decode(data, PayloadSpec("weights"))
    with pytest.raises(PayloadError, match="lacks 'ids'"):
        Payload.decode(data, PayloadSpec("logits", {"logits": (None, 2, 64), "ids": (None,)}))


def test_truncated_garbage_and_inconsistent_bytes_are_rejected():
    data = Payload("logits", {"logits": _logits()}).encode()

    with pytest.raises(PayloadError, match="truncated"):
        Payload.decode(data[:-10])
    with pytest.raises(PayloadError, match="magic"):
        Payload.decode(b"hello world, not a payload")
    with pytest.raises(PayloadError, match="truncated"):
        Payload.decode(data[:20])
    with pytest.raises(PayloadError):
        Payload.decode(data + b"\x00\x00\x00\x00")
