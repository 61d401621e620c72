"""A parametric code of soft labels over ordered beams ("beam-dct"): a few cosines of the log-profile.

Beams are ordered directions, so a soft label over 64 beams is close to a few lobes over the beam
index, and its log-probability profile at temperature T is smooth: a handful of low-frequency cosine
(DCT-II) coefficients describe it. Per row: log p_T clipped below at -`FLOOR_NATS` (mass there is
under e^-12 per beam), its orthonormal DCT, coefficients 1..M (coefficient 0 is a constant shift,
which softmax ignores) quantised to int8 with one fp16 scale per row. The decoded logits are T times
the rebuilt profile. Bytes per row: M + 2 (M = `dct_coefficients`, 12 by default: 14 bytes against 256
of fp32).

What it keeps: any profile whose clipped log-probabilities lie in the span of the first M + 1
cosines, e.g. one or two smooth lobes (a hand-made two-lobe row decodes within a few 1e-3 nats of KL
at T=4 with M=12; tests/unit/test_collab_encodings.py). What it cannot keep: beam-by-beam detail, such
as the isolated spikes a trained student puts on single tail beams; there it loses to "sqrt-lzma".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.fft import dct, idct

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

FLOOR_NATS = 12.0


class BeamDctCodec(Codec):
    name = "beam-dct"
    logits_only = True

    def encode(self, array: np.ndarray, options: EncodingOptions) -> Encoded:
        classes, temperature = array.shape[-1], float(options.temperature)
        count = min(options.dct_coefficients, classes - 1)
        profile = np.maximum(log_softmax(array.reshape(-1, classes), temperature), -FLOOR_NATS)  # [R, C]
        coefficients = dct(profile, type=2, norm="ortho", axis=1)[:, 1 : count + 1]  # [R, M]
        scale = (np.abs(coefficients).max(axis=1, initial=0.0) / 127.0).astype(np.float16)  # [R]
        scale = np.where(scale > 0, scale, np.float16(1.0))  # a flat row: every coefficient is 0
        codes = np.clip(np.round(coefficients / scale.astype(np.float64)[:, None]), -127, 127)
        entry = {"encoding": self.name, "coefficients": count, "temperature": temperature}
        return entry, [scale.tobytes(), codes.astype(np.int8).tobytes()]

    def decode(self, entry: Mapping[str, Any], blob: bytes, shape: tuple[int, ...]) -> np.ndarray:
        name = entry["name"]
        rows, classes = rows_of(shape, name)
        count = entry_int(entry, "coefficients", 0, classes - 1)
        temperature = entry_positive(entry, "temperature")
        scales, codes = split_blob(
            blob, [rows * 2, rows * count], name, f"{count} DCT coefficients of {shape}"
        )
        scale = read_array(scales, np.float16, rows, name).astype(np.float64)
        if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
            raise PayloadError(f"tensor {name!r} has a non-positive or non-finite DCT scale")
        spectrum = np.zeros((rows, classes))
        values = read_array(codes, np.int8, rows * count, name).reshape(rows, count)
        spectrum[:, 1 : count + 1] = values * scale[:, None]
        profile = idct(spectrum, type=2, norm="ortho", axis=1)  # [R, C] log p_T up to a constant
        return (temperature * profile).astype(np.float32).reshape(shape)
