"""Which payload encoding each protocol uses when the config says `payload_encoding: auto` (the default).

Chosen by measurement (benchmarks/bench_encodings.py, README "Payload encodings"): every protocol that
moves soft labels sends them as "sqrt-lzma", the smallest code that keeps the mean KL at T=4 under
0.02 nats per slot on early and trained students' logits alike; protocols that move weights send them
as fp32 (no soft labels to compress, and no measurement here of what quantised weights cost in accuracy).
"""

from __future__ import annotations

SOFT_LABELS_ENCODING = "sqrt-lzma"
WEIGHTS_ENCODING = "fp32"
SOFT_LABEL_PROTOCOLS = ("edge-kd", "fed-distill", "mutual", "ensemble-to-central", "multi-view-kd")


def default_encoding(protocol: str) -> str:
    """The measured default of `protocol` (fp32 for a protocol that moves no soft labels)."""
    return SOFT_LABELS_ENCODING if protocol in SOFT_LABEL_PROTOCOLS else WEIGHTS_ENCODING
