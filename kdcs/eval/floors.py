"""Floors every dataset comes with: what you get without learning anything.

- repeat-last: predict the last known beam (t-1) for every slot t..t+J;
- linear-fit: a least-squares line through the past beams t-L..t-1, extrapolated to t..t+J.
Top-k of a floor ranks beams by their distance to its (real-valued) prediction.
"""

from __future__ import annotations

import numpy as np


def rank_around(center: np.ndarray, num_beams: int, k: int) -> np.ndarray:
    """Beams ordered by distance to a real-valued centre (ties: lower beam first).

    Input: center [...]. Output: [..., k] beam indices.
    """
    beams = np.arange(num_beams)
    # the tiny index term breaks ties deterministically without moving any real distance
    distance = np.abs(beams - np.asarray(center)[..., None]) + beams * 1e-9
    return np.argsort(distance, axis=-1, kind="stable")[..., :k]


def history_rows(seq_index: np.ndarray, ends: np.ndarray, history: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows t-L..t-1 of each window and whether each lies inside the window's sequence.

    Output: rows [W, L] (clipped to 0), valid [W, L] bool.
    """
    rows = ends[:, None] - history + np.arange(history)[None, :]  # [W, L]
    clipped = np.clip(rows, 0, None)
    valid = (rows >= 0) & (seq_index[clipped] == seq_index[ends][:, None])
    return clipped, valid


def repeat_last_centers(
    beam: np.ndarray, seq_index: np.ndarray, ends: np.ndarray, horizon: int
) -> np.ndarray:
    """[W, J+1] prediction = beam(t-1) for every slot (beam(t) itself at a sequence's first row)."""
    prev = np.clip(ends - 1, 0, None)
    last = np.where(seq_index[prev] == seq_index[ends], beam[prev], beam[ends])
    return np.repeat(last[:, None].astype(np.float64), horizon + 1, axis=1)


def linear_fit_centers(
    beam: np.ndarray, seq_index: np.ndarray, ends: np.ndarray, history: int, horizon: int
) -> np.ndarray:
    """[W, J+1] least-squares line through the valid past beams, evaluated at t..t+J (time in slots)."""
    rows, valid = history_rows(seq_index, ends, history)
    x = np.arange(-history, 0, dtype=np.float64)[None, :].repeat(len(ends), 0)  # slot offsets of t-L..t-1
    y = beam[rows].astype(np.float64)
    w = valid.astype(np.float64)
    n = w.sum(1)
    mean_x = (w * x).sum(1) / np.maximum(n, 1)
    mean_y = (w * y).sum(1) / np.maximum(n, 1)
    var_x = (w * (x - mean_x[:, None]) ** 2).sum(1)
    cov = (w * (x - mean_x[:, None]) * (y - mean_y[:, None])).sum(1)
    slope = np.where(var_x > 0, cov / np.where(var_x > 0, var_x, 1), 0.0)  # one point: flat line
    future = np.arange(horizon + 1, dtype=np.float64)[None, :]
    return mean_y[:, None] + slope[:, None] * (future - mean_x[:, None])


def floor_rankings(
    beam: np.ndarray,
    seq_index: np.ndarray,
    ends: np.ndarray,
    history: int,
    horizon: int,
    num_beams: int,
    k: int = 10,
) -> dict[str, np.ndarray]:
    """{"repeat_last": [W, J+1, k], "linear_fit": [W, J+1, k]} ranked beams for each window end."""
    beam, seq_index, ends = np.asarray(beam), np.asarray(seq_index), np.asarray(ends)
    centers = {
        "repeat_last": repeat_last_centers(beam, seq_index, ends, horizon),
        "linear_fit": np.clip(linear_fit_centers(beam, seq_index, ends, history, horizon), 0, num_beams - 1),
    }
    return {name: rank_around(c, num_beams, k) for name, c in centers.items()}
