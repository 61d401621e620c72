"""Beam-prediction metrics: top-k accuracy per slot, the DeepSense DBA score, power loss.

Predictions come as rankings: `ranked[n, s, j]` is the j-th most likely beam (0-based)
for window n at slot s (s = 0 is the current slot t, s = 1..J the future slots).
"""

from __future__ import annotations

import numpy as np

TOP_KS = (1, 2, 3, 5, 10)
DBA_TOLERANCE_BEAMS = 5.0  # DeepSense's normalisation delta


def rank_scores(scores: np.ndarray, k: int | None = None) -> np.ndarray:
    """Input: scores [N, S, B] (logits or probabilities). Output: [N, S, k] beam indices, best first."""
    order = np.argsort(-np.asarray(scores), axis=-1, kind="stable")
    return order if k is None else order[..., :k]


def topk_accuracy(
    ranked: np.ndarray, target: np.ndarray, ks: tuple[int, ...] = TOP_KS
) -> dict[int, np.ndarray]:
    """Fraction of windows whose true beam is among the first k ranked beams, per slot.

    Input: ranked [N, S, K] with K >= max(ks); target [N, S]. Output: {k: [S] accuracy}.
    """
    ranked, target = np.asarray(ranked), np.asarray(target)
    if ranked.shape[-1] < max(ks):
        raise ValueError(f"top-{max(ks)} needs at least {max(ks)} ranked beams, got {ranked.shape[-1]}")
    hits = ranked == target[..., None]  # [N, S, K]
    first_hit = np.where(hits.any(-1), hits.argmax(-1), ranked.shape[-1])  # [N, S]
    return {k: (first_hit < k).mean(axis=0) for k in ks}


def _distance_terms(ranked: np.ndarray, target: np.ndarray, max_k: int) -> np.ndarray:
    """[max_k, S]: Y_K = 1 - mean_n min_{j<=K} min(|yhat_j - y| / delta, 1), for K = 1..max_k."""
    dist = np.minimum(np.abs(ranked[..., :max_k] - target[..., None]) / DBA_TOLERANCE_BEAMS, 1.0)  # [N, S, K]
    best_so_far = np.minimum.accumulate(dist, axis=-1)  # [N, S, K]
    return 1.0 - best_so_far.mean(axis=0).T  # [K, S]


def dba_score(ranked: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Official DeepSense DBA per slot: (1/3) * sum_{K=1..3} Y_K. Input [N, S, >=3], [N, S]. Output [S]."""
    return _distance_terms(np.asarray(ranked), np.asarray(target), 3).mean(axis=0)


def dba_y3_term(ranked: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The Y_3 term alone (what the paper's code reports as "DBA"; it reads higher). Output [S]."""
    return _distance_terms(np.asarray(ranked), np.asarray(target), 3)[2]


def power_loss_db(chosen: np.ndarray, power: np.ndarray) -> np.ndarray:
    """Received power of the chosen beam relative to the best beam, dB (<= 0).

    Input: chosen [N, S] beam indices; power [N, S, B] linear received power. Output [S] mean over windows.
    """
    power = np.asarray(power, dtype=np.float64)
    picked = np.take_along_axis(power, np.asarray(chosen)[..., None], axis=-1)[..., 0]
    ratio = np.maximum(picked, 1e-30) / np.maximum(power.max(axis=-1), 1e-30)
    return (10.0 * np.log10(ratio)).mean(axis=0)


def beam_distance_histogram(chosen: np.ndarray, target: np.ndarray, max_distance: int = 10) -> np.ndarray:
    """Counts of |predicted - true| beam distance, 0..max_distance (last bin collects the rest). Output [max+1]."""
    dist = np.minimum(np.abs(np.asarray(chosen) - np.asarray(target)).ravel(), max_distance)
    return np.bincount(dist, minlength=max_distance + 1)


def summarize(ranked: np.ndarray, target: np.ndarray, power: np.ndarray | None = None) -> dict:
    """Every metric per slot and its mean over slots, as plain lists (JSON-ready)."""
    out: dict = {}
    for k, acc in topk_accuracy(ranked, target).items():
        out[f"top{k}"] = {"per_slot": acc.tolist(), "mean": float(acc.mean())}
    for name, fn in (("dba", dba_score), ("dba_y3_term", dba_y3_term)):
        values = fn(ranked, target)
        out[name] = {"per_slot": values.tolist(), "mean": float(values.mean())}
    if power is not None:
        loss = power_loss_db(ranked[..., 0], power)
        out["power_loss_db"] = {"per_slot": loss.tolist(), "mean": float(loss.mean())}
    # counts of |top-1 - true| over all windows and slots: 0, 1, ..., 9, and 10 or more beams off
    out["beam_distance_histogram"] = beam_distance_histogram(ranked[..., 0], target).tolist()
    out["num_windows"] = int(np.asarray(target).shape[0])
    return out
