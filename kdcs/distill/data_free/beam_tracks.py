"""Beam sequences for synthetic windows: what "data-free" means for the beam-history input.

The beam history is a sequence of discrete codebook indices (the model embeds their positions), so it
cannot be optimised by gradient like a camera frame. It is chosen instead: a track drawn from
`TrackPrior` (a point moving smoothly over the codebook, with jitter), which fixes both the window's
beam-history input (the beams before the current slot) and the beams the teacher is asked to be
confident about (the current slot and the J after it). No recorded beam enters a track.
"""

from __future__ import annotations

import numpy as np

from kdcs.distill.data_free.config import TrackPrior


def sample_beam_tracks(
    count: int, history: int, horizon: int, num_beams: int, prior: TrackPrior, rng: np.random.Generator
) -> np.ndarray:
    """`count` tracks over slots t-L..t+J (L + J + 1 beams): the first L are the window's beam-history
    input (beam(s-1) at input slot s), the last J + 1 the beams at t..t+J.

    Output: [count, L + J + 1] int64 in 0..num_beams-1.
    """
    slots = np.arange(-history, horizon + 1, dtype=np.float64)[None, :]  # s = slot - t
    current = rng.uniform(0.0, num_beams - 1.0, size=(count, 1))
    rate = rng.uniform(-prior.max_rate, prior.max_rate, size=(count, 1))
    curvature = rng.normal(0.0, prior.curvature_std, size=(count, 1))
    jitter = rng.normal(0.0, prior.jitter_std, size=(count, slots.shape[1]))
    path = current + rate * slots + 0.5 * curvature * slots**2 + jitter
    return np.clip(np.rint(path), 0, num_beams - 1).astype(np.int64)


def split_track(tracks: np.ndarray, history: int) -> tuple[np.ndarray, np.ndarray]:
    """(beam-history input [N, L], beams at t..t+J [N, J+1]) of tracks from `sample_beam_tracks`."""
    return tracks[:, :history], tracks[:, history:]
