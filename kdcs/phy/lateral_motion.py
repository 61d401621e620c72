"""Sideways motion of a vehicle in its lane: lane-keeping wander and lane changes.

Seen from an AP beside the road, sideways motion moves the line-of-sight angle by itself: a lane
change (3.5 m over a few seconds) 45 degrees off the boresight of an AP 20 m from the lane turns it
by 5 degrees, 2-3 beams of a 64-beam codebook (none at broadside), along an S-curve that a camera, a
radar or a GPS receiver sees as it happens. Measured on the default street it moves the beam
statistics little: the geometric beam track already bends more from the pass itself.
"""

from __future__ import annotations

import numpy as np

from kdcs.phy.street import lane_direction


def lateral_wander(std_m: float, num_samples: int, rng: np.random.Generator, rho: float = 0.95) -> np.ndarray:
    """[T] slow AR(1) sideways offset from the lane centre, metres (stationary std std_m)."""
    out = np.empty(num_samples)
    out[0] = rng.normal(0.0, std_m)
    for t in range(1, num_samples):
        out[t] = rho * out[t - 1] + np.sqrt(1.0 - rho**2) * std_m * rng.normal()
    return out


def lane_change_target(
    lane_centers_y_m: tuple[float, ...], lane: int, probability: float, rng: np.random.Generator
) -> int | None:
    """The lane a vehicle changes into during this pass, or None (it keeps its lane).

    With the given probability it moves to a neighbouring lane of the same direction (chosen
    uniformly when there are two); a lane with no such neighbour never changes.
    """
    direction = lane_direction(lane_centers_y_m[lane])
    neighbours = [
        k
        for k in (lane - 1, lane + 1)
        if 0 <= k < len(lane_centers_y_m) and lane_direction(lane_centers_y_m[k]) == direction
    ]
    if rng.uniform() >= probability or not neighbours:
        return None
    return int(neighbours[int(rng.integers(len(neighbours)))])


def lane_change_offset(
    shift_m: float, duration_s: float, num_samples: int, sample_period_s: float, rng: np.random.Generator
) -> np.ndarray:
    """[T] sideways offset, metres, of one lane change of shift_m along a raised-cosine S-curve.

    The change starts at a uniform time such that at least half of it falls inside the sequence.
    """
    times = np.arange(num_samples) * sample_period_s
    start = rng.uniform(0.0, max(times[-1] - duration_s / 2.0, 0.0))
    progress = np.clip((times - start) / duration_s, 0.0, 1.0)
    return shift_m * (1.0 - np.cos(np.pi * progress)) / 2.0


def headings_along(
    lane_heading_rad: float, speeds_mps: np.ndarray, offset_m: np.ndarray, sample_period_s: float
) -> np.ndarray:
    """[T] heading, rad, of a vehicle driving at speeds along its lane while offset_m moves it sideways.

    Velocity = speed along the lane plus d(offset)/dt across it (north = +y).
    """
    lateral_speed = np.gradient(offset_m, sample_period_s) if len(offset_m) > 1 else np.zeros(1)
    along = speeds_mps * np.cos(lane_heading_rad)
    across = speeds_mps * np.sin(lane_heading_rad) + lateral_speed
    return np.arctan2(across, along)
