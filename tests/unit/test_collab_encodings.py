"""Soft-label encodings: each keeps what it states on hand-made distributions over 64 ordered beams,
its bytes are what the serialised payload holds, and malformed tensors are refused with the reason."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from kdcs.collab.config import CollabConfig, payload_codec
from kdcs.collab.encodings import ENCODING_NAMES, EncodingOptions, mean_kl
from kdcs.collab.encodings.base import log_softmax
from kdcs.collab.payload import MAGIC, Payload, PayloadError
from kdcs.config import ConfigError, load_config

T = 4.0
BEAMS = np.arange(64)


def lobes(centres, widths, weights, floor=1e-4) -> np.ndarray:
    """A distribution over the 64 beams: Gaussian lobes over the beam index plus a small floor."""
    p = sum(
        w * np.exp(-0.5 * ((BEAMS - c) / s) ** 2) for c, s, w in zip(centres, widths, weights, strict=True)
    )
    p = p + floor
    return p / p.sum()


def as_logits(p: np.ndarray, rows: int = 3) -> np.ndarray:
    """Logits whose softmax at T is `p`, as a [rows, 2, 64] exchange (windows x slots x beams)."""
    return np.broadcast_to(T * np.log(p), (rows, 2, p.size)).astype(np.float32).copy()


TWO_LOBES = as_logits(lobes([20, 44], [3, 5], [0.6, 0.4]))
ONE_LOBE = as_logits(lobes([30], [4], [1.0]))


def random_logits(rows: int = 32) -> np.ndarray:
    return np.random.default_rng(0).normal(scale=3.0, size=(rows, 4, 64)).astype(np.float32)


def round_trip(logits: np.ndarray, encoding: str, **options) -> tuple[np.ndarray, bytes]:
    data = Payload("logits", {"logits": logits}, logit_keys=("logits",)).encode(
        encoding, options=EncodingOptions(**options)
    )
    return Payload.decode(data).tensors["logits"], data


def header_of(data: bytes) -> tuple[dict, int]:
    (length,) = struct.unpack_from("<I", data, len(MAGIC))
    start = len(MAGIC) + 4
    return json.loads(data[start : start + length]), start + length


# stated mean KL at T=4 on the two-lobe distribution (module docstrings of kdcs/collab/encodings/)
STATED_KL_TWO_LOBES = {
    "fp32": 1e-12,
    "fp16": 1e-5,
    "int8": 1e-3,
    "beam-dct": 0.005,
    "sqrt-lzma": 64 / (6 * 24**2),
}


@pytest.mark.parametrize(("encoding", "bound"), STATED_KL_TWO_LOBES.items())
def test_each_encoding_keeps_a_two_lobe_distribution_within_its_stated_kl(encoding, bound):
    decoded, _ = round_trip(TWO_LOBES, encoding)

    assert decoded.shape == TWO_LOBES.shape and decoded.dtype == np.float32
    assert mean_kl(TWO_LOBES, decoded, T) <= bound


def test_exact_encoding_has_zero_kl_and_kl_of_different_rows_is_positive():
    decoded, _ = round_trip(random_logits(), "fp32")

    assert mean_kl(random_logits(), decoded, T) == 0.0
    assert mean_kl(TWO_LOBES, ONE_LOBE, T) > 1.0


@pytest.mark.parametrize("levels", [16, 24, 48])
def test_sqrt_lzma_kl_follows_its_stated_law_on_any_logits(levels):
    logits = random_logits()

    decoded, _ = round_trip(logits, "sqrt-lzma", sqrt_levels=levels)

    stated = 64 / (6 * levels**2)
    assert 0.5 * stated <= mean_kl(logits, decoded, T) <= 1.5 * stated


def test_dense_log_probability_encodings_keep_every_value_within_their_step():
    logits = random_logits()
    truth = log_softmax(logits)

    fp16, _ = round_trip(logits, "fp16")
    int8, _ = round_trip(logits, "int8")

    assert np.abs(fp16 - truth).max() <= np.abs(truth).max() * 2**-10
    row_range = -truth.min(axis=-1, keepdims=True)
    assert np.all(np.abs(int8 - truth) <= row_range / 510 * 1.01)  # half a step of range / 255


def test_topk_tail_keeps_the_top_k_and_the_tail_mass_at_the_temperature():
    logits = random_logits()
    decoded, _ = round_trip(logits, "topk-tail", topk=5)

    p, q = np.exp(log_softmax(logits, T)), np.exp(log_softmax(decoded, T))
    top = np.argsort(-p, axis=-1)[..., :5]
    np.testing.assert_allclose(np.take_along_axis(q, top, -1), np.take_along_axis(p, top, -1), atol=2e-3)
    tail = 1 - np.take_along_axis(p, top, -1).sum(-1)
    np.testing.assert_allclose(1 - np.take_along_axis(q, top, -1).sum(-1), tail, atol=2e-3)


def test_beam_structure_beats_a_flat_tail_on_a_smooth_lobe_at_t4():
    flat, flat_bytes = round_trip(ONE_LOBE, "topk", topk=8)
    tail, _ = round_trip(ONE_LOBE, "topk-tail", topk=8)
    dct, dct_bytes = round_trip(ONE_LOBE, "beam-dct")

    assert mean_kl(ONE_LOBE, dct, T) * 100 < mean_kl(ONE_LOBE, flat, T)
    assert mean_kl(ONE_LOBE, tail, T) * 10 < mean_kl(ONE_LOBE, flat, T)
    assert len(dct_bytes) < len(flat_bytes)


def test_decoded_distributions_ignore_a_constant_added_to_the_logits():
    for encoding in ENCODING_NAMES:
        shifted, _ = round_trip(TWO_LOBES + 1000.0, encoding)
        plain, _ = round_trip(TWO_LOBES, encoding)
        assert mean_kl(plain, shifted, T) < 1e-4, encoding


# bytes per row (one slot of one window, C = 64) each codec states in its module docstring
STATED_ROW_BYTES = {"fp32": 256, "fp16": 128, "int8": 66, "topk": 26, "topk-tail": 27, "beam-dct": 14}


@pytest.mark.parametrize("encoding", ENCODING_NAMES)
def test_bytes_are_the_serialised_size_and_match_the_stated_row_cost(encoding):
    logits = random_logits()
    ids = np.arange(32, dtype=np.int32)
    _, data = round_trip(logits, encoding)
    data = Payload("logits", {"logits": logits, "ids": ids}, logit_keys=("logits",)).encode(encoding)

    header, body_start = header_of(data)
    entries = {entry["name"]: entry for entry in header["tensors"]}
    assert len(data) == body_start + sum(entry["nbytes"] for entry in header["tensors"])
    assert entries["ids"]["nbytes"] == ids.nbytes
    if encoding in STATED_ROW_BYTES:
        assert entries["logits"]["nbytes"] == STATED_ROW_BYTES[encoding] * 32 * 4
    else:  # entropy coded: no fixed size, but well under an eighth of fp32 on these rows
        assert entries["logits"]["nbytes"] * 8 < 256 * 32 * 4


@pytest.mark.parametrize("encoding", ENCODING_NAMES)
def test_non_finite_soft_labels_are_rejected_in_every_encoding(encoding):
    logits = random_logits()
    logits[1, 0, 3] = np.inf if encoding == "int8" else np.nan
    data = Payload("logits", {"logits": logits}, logit_keys=("logits",)).encode(encoding)

    with pytest.raises(PayloadError, match="NaN or infinite|non-finite"):
        Payload.decode(data)


def rewritten(data: bytes, change) -> bytes:
    """The payload with its header edited by `change(entry)` (the logits entry) and body kept."""
    header, body_start = header_of(data)
    change(header["tensors"][0])
    text = json.dumps(header).encode()
    return MAGIC + struct.pack("<I", len(text)) + text + data[body_start:]


def with_body(data: bytes, body: bytes) -> bytes:
    header, _ = header_of(data)
    header["tensors"][0]["nbytes"] = len(body)
    text = json.dumps(header).encode()
    return MAGIC + struct.pack("<I", len(text)) + text + body


@pytest.mark.parametrize("encoding", ENCODING_NAMES)
def test_a_shape_that_does_not_fit_the_bytes_is_rejected(encoding):
    _, data = round_trip(random_logits(), encoding)

    def grow(entry):
        entry["shape"] = [entry["shape"][0] + 1, *entry["shape"][1:]]

    with pytest.raises(PayloadError, match="bytes|LZMA stream does not hold exactly"):
        Payload.decode(rewritten(data, grow))


@pytest.mark.parametrize("encoding", ENCODING_NAMES)
def test_a_truncated_tensor_is_rejected(encoding):
    _, data = round_trip(random_logits(), encoding)
    _, body_start = header_of(data)

    with pytest.raises(PayloadError, match="bytes|LZMA"):
        Payload.decode(with_body(data, data[body_start:-3]))


def test_a_wrong_dtype_or_unknown_codec_is_rejected():
    _, data = round_trip(random_logits(), "int8")

    with pytest.raises(PayloadError, match="malformed tensor entry"):
        Payload.decode(rewritten(data, lambda entry: entry.update(dtype="complex64")))
    with pytest.raises(PayloadError, match="unknown encoding 'int4'"):
        Payload.decode(rewritten(data, lambda entry: entry.update(encoding="int4")))


@pytest.mark.parametrize(
    ("encoding", "field", "value", "reason"),
    [
        ("topk", "k", 65, "field 'k' must be an integer in"),
        ("topk-tail", "k", 0, "field 'k' must be an integer in"),
        ("topk-tail", "temperature", -1.0, "field 'temperature' must be a positive number"),
        ("beam-dct", "coefficients", 64, "field 'coefficients' must be an integer in"),
        ("sqrt-lzma", "levels", 300, "field 'levels' must be an integer in"),
        ("sqrt-lzma", "temperature", "hot", "field 'temperature' must be a positive number"),
    ],
)
def test_out_of_range_codec_fields_are_rejected_with_the_field_named(encoding, field, value, reason):
    _, data = round_trip(random_logits(), encoding)

    with pytest.raises(PayloadError, match=reason):
        Payload.decode(rewritten(data, lambda entry: entry.update({field: value})))


def test_bad_indices_codes_and_streams_are_rejected():
    _, data = round_trip(random_logits(rows=1), "topk", topk=2)
    _, start = header_of(data)
    body = bytearray(data[start:])
    body[0] = 200  # a beam index beyond 64
    with pytest.raises(PayloadError, match="index beyond its 64 classes"):
        Payload.decode(data[:start] + bytes(body))

    _, data = round_trip(TWO_LOBES, "sqrt-lzma", sqrt_levels=24)  # peak code round(24 sqrt 0.08) = 7
    with pytest.raises(PayloadError, match="code above its 4 levels"):
        Payload.decode(rewritten(data, lambda entry: entry.update(levels=4)))
    with pytest.raises(PayloadError, match="not a valid LZMA stream|does not hold exactly"):
        Payload.decode(with_body(data, b"\x01" * 40))


def test_auto_resolves_per_protocol_and_unknown_encodings_name_the_key():
    soft = load_config(CollabConfig(), overrides=["protocol=fed-distill", "kd_temperature=3"])
    weights = load_config(CollabConfig(), overrides=["protocol=fedavg"])

    name, options = payload_codec(soft)
    assert name == "sqrt-lzma" and options.temperature == 3.0
    assert payload_codec(weights)[0] == "fp32"
    with pytest.raises(ConfigError, match="payload_encoding"):
        load_config(CollabConfig(), overrides=["payload_encoding=int4"])
