"""A reply is screened before it is decoded: too large, another kind, other tensors, shapes or
dtypes are rejected from the header alone, with nothing allocated for the announced tensors."""

from __future__ import annotations

import json
import struct
import tracemalloc

import numpy as np
import pytest
import torch

from kdcs.collab.encodings import ENCODING_NAMES
from kdcs.collab.payload import MAGIC, Payload, PayloadError, PayloadSpec
from kdcs.collab.protocol import window_ids_spec
from kdcs.collab.reply_screen import screen_reply

LOGITS = PayloadSpec("logits", {"logits": (None, 2, 64)})
BOUND = 1 << 20


def _forged(kind: str, entries: list[dict], body: bytes) -> bytes:
    """A payload with a hand-written header (what a faulty or hostile node could send)."""
    header = json.dumps({"kind": kind, "meta": {}, "tensors": entries}).encode()
    return MAGIC + struct.pack("<I", len(header)) + header + body


def _logits(rows: int = 5) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(rows, 2, 64)).astype(np.float32)


@pytest.mark.parametrize("encoding", ENCODING_NAMES)
def test_a_good_reply_passes_in_every_encoding(encoding):
    data = Payload("logits", {"logits": _logits()}, logit_keys=("logits",)).encode(encoding)
    screen_reply(data, LOGITS, BOUND)
    ids = Payload("window_ids", {"train_ids": np.arange(7), "val_ids": np.arange(3)}).encode()
    screen_reply(ids, window_ids_spec(), BOUND)


def test_a_models_weights_pass_with_their_integer_buffers_and_a_boolean_is_refused():
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2)
    )  # num_batches_tracked: int64
    state = {name: value.numpy() for name, value in model.state_dict().items()}
    spec = PayloadSpec("weights", {name: value.shape for name, value in state.items()})
    screen_reply(Payload("weights", state).encode("fp32"), spec, BOUND)
    entry = {"name": "1.num_batches_tracked", "shape": [], "dtype": "bool", "encoding": "raw", "nbytes": 1}
    others = [
        {"name": n, "shape": list(v.shape), "dtype": "float32", "encoding": "raw", "nbytes": v.size * 4}
        for n, v in state.items()
        if n != entry["name"]
    ]
    forged = _forged("weights", [*others, entry], bytes(sum(e["nbytes"] for e in [*others, entry])))
    with pytest.raises(PayloadError, match="dtype bool, expected numeric"):
        screen_reply(forged, spec, BOUND)


def test_a_reply_over_the_bound_is_rejected_by_its_size():
    data = Payload("logits", {"logits": _logits(rows=100)}).encode()
    with pytest.raises(PayloadError, match=rf"reply of {len(data):,} bytes exceeds max_reply_bytes=10,000"):
        screen_reply(data, LOGITS, 10_000)


def test_a_tensor_announcing_a_huge_shape_is_rejected_before_anything_is_allocated():
    # Prepare: top-1 of 10^9 classes in 5 bytes; decoding would build a 4 GB dense row
    entry = {"name": "logits", "shape": [1, 1, 10**9], "dtype": "float32", "encoding": "topk", "k": 1}
    data = _forged("logits", [{**entry, "index_dtype": "uint32", "nbytes": 8}], bytes(8))

    # Execute
    tracemalloc.start()
    with pytest.raises(PayloadError, match=r"tensor 'logits' has shape \(1, 1, 1000000000\), expected"):
        screen_reply(data, LOGITS, BOUND)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    # Assert
    assert peak < 1 << 20


@pytest.mark.parametrize(
    ("kind", "entry", "spec", "words"),
    [
        (
            "logits",
            {"name": "logits", "shape": [5, 2, 64], "dtype": "int64"},
            LOGITS,
            "dtype int64, expected float",
        ),
        (
            "window_ids",
            {"name": "train_ids", "shape": [5], "dtype": "float32"},
            None,
            "dtype float32, expected int",
        ),
        (
            "weights",
            {"name": "logits", "shape": [5, 2, 64], "dtype": "float32"},
            LOGITS,
            "expected a 'logits'",
        ),
        ("logits", {"name": "extra", "shape": [5, 2, 64], "dtype": "float32"}, LOGITS, "lacks 'logits'"),
        (
            "logits",
            {"name": "logits", "shape": [5, 3, 64], "dtype": "float32"},
            LOGITS,
            "has shape (5, 3, 64)",
        ),
    ],
)
def test_the_announced_kind_tensors_shapes_and_dtypes_must_be_the_expected_ones(kind, entry, spec, words):
    count = int(np.prod(entry["shape"]))
    nbytes = count * np.dtype(entry["dtype"]).itemsize
    entries = [{**entry, "encoding": "raw", "nbytes": nbytes}]
    if kind == "window_ids":
        entries.append({"name": "val_ids", "shape": [2], "dtype": "int64", "encoding": "raw", "nbytes": 16})
        nbytes += 16
    with pytest.raises(PayloadError) as caught:
        screen_reply(_forged(kind, entries, bytes(nbytes)), spec or window_ids_spec(), BOUND)
    assert words in str(caught.value)
