"""How much of a soft label arrives: the KL divergence at a temperature between sent and decoded rows.

KL(p_T || q_T) with p_T = softmax(original / T) (what the sender's model says) and q_T =
softmax(decoded / T) (what the receiver distils from), per row of the last axis (one slot of one
window: a distribution over the beams), in nats. The direction is the one the distillation loss
weighs: the sender's probabilities weight the receiver's log-errors.
"""

from __future__ import annotations

import numpy as np

from kdcs.collab.encodings.base import log_softmax


def kl_per_row(original: np.ndarray, decoded: np.ndarray, temperature: float) -> np.ndarray:
    """KL(softmax(original/T) || softmax(decoded/T)) over the last axis: shape original.shape[:-1]."""
    if np.shape(original) != np.shape(decoded):
        raise ValueError(f"original {np.shape(original)} and decoded {np.shape(decoded)} differ in shape")
    logp = log_softmax(original, temperature)
    logq = log_softmax(decoded, temperature)
    return np.maximum((np.exp(logp) * (logp - logq)).sum(axis=-1), 0.0)  # >= 0 up to rounding


def mean_kl(original: np.ndarray, decoded: np.ndarray, temperature: float) -> float:
    """Mean KL per row (per slot of each window) at temperature T, in nats."""
    return float(kl_per_row(original, decoded, temperature).mean())
