"""How tensors travel: payload encodings, each a pair of codecs (one file per codec).

A payload encoding (config key `payload_encoding`) names the codec of soft-label tensors (a payload's
`logit_keys`: logits over the beams, [..., C]) and the codec of every other float tensor (weights):

    encoding    soft labels                                   other floats  bytes/row (C=64)  KL at T
    fp32        logits, fp32                                  fp32          256               0
    fp16        log-probabilities, fp16                       fp16          128               ~1e-7
    int8        log-probabilities, uint8 per row + fp16 step  int8          66                ~1e-5
    topk        top-k logits + one flat fill (exact at T=1)   fp32          3k + 2            large at T=4
    topk-tail   top-k at T + tail mass with a fitted decay    fp32          3k + 3            see bench
    beam-dct    M cosine coefficients of log p_T (int8)       fp32          M + 2             smooth lobes
    sqrt-lzma   round(L sqrt p_T), LZMA-compressed            fp32          ~3-11 measured    ~C/(6 L^2)

Integer tensors (window ids) always go as they are. Which one to use is measured by
benchmarks/bench_encodings.py (bytes counted from the serialised payload, KL at T between what was
sent and what is decoded); the README's collaboration section has the table and the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

from kdcs.collab.encodings.base import Codec, EncodingOptions, PayloadError
from kdcs.collab.encodings.beam_dct import BeamDctCodec
from kdcs.collab.encodings.dense import Fp16Codec, Fp16LogProbCodec, Fp32Codec, Int8Codec, Int8LogProbCodec
from kdcs.collab.encodings.fidelity import mean_kl
from kdcs.collab.encodings.sqrt_lzma import SqrtLzmaCodec
from kdcs.collab.encodings.topk import TopkCodec
from kdcs.collab.encodings.topk_tail import TopkTailCodec


@dataclass(frozen=True)
class PayloadEncoding:
    """A user-facing encoding: how soft labels go (`logits`) and how other float tensors go (`values`)."""

    name: str
    logits: Codec
    values: Codec
    exact: bool = False  # decoded soft labels equal the sent ones (KL 0 at any temperature)


FP32 = Fp32Codec()
ENCODINGS: dict[str, PayloadEncoding] = {
    encoding.name: encoding
    for encoding in (
        PayloadEncoding("fp32", FP32, FP32, exact=True),
        PayloadEncoding("fp16", Fp16LogProbCodec(), Fp16Codec()),
        PayloadEncoding("int8", Int8LogProbCodec(), Int8Codec()),
        PayloadEncoding("topk", TopkCodec(), FP32),
        PayloadEncoding("topk-tail", TopkTailCodec(), FP32),
        PayloadEncoding("beam-dct", BeamDctCodec(), FP32),
        PayloadEncoding("sqrt-lzma", SqrtLzmaCodec(), FP32),
    )
}
ENCODING_NAMES = tuple(ENCODINGS)
# what a receiver may meet in a tensor entry's "encoding" field, whatever the payload encoding was
CODECS: dict[str, Codec] = {codec.name: codec for e in ENCODINGS.values() for codec in (e.logits, e.values)}


def payload_encoding(name: str) -> PayloadEncoding:
    if name not in ENCODINGS:
        raise ValueError(f"unknown payload encoding {name!r}; known: {', '.join(ENCODING_NAMES)}")
    return ENCODINGS[name]


__all__ = [
    "CODECS",
    "ENCODINGS",
    "ENCODING_NAMES",
    "Codec",
    "EncodingOptions",
    "PayloadEncoding",
    "PayloadError",
    "mean_kl",
    "payload_encoding",
]
