"""Vehicle trajectories for one sequence: the transmitting vehicle (unit2) and distractors.

Each vehicle keeps its lane (with a little lane-keeping wander; the transmitter may change lanes,
`kdcs.phy.lateral_motion`) and changes speed through a
correlated random acceleration (an Ornstein-Uhlenbeck process), so speed drifts smoothly the way
real traffic does instead of jumping from sample to sample. Every sequence is one pass of the
transmitter past the access points; distractors in other lanes may cross the line of sight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kdcs.phy.lateral_motion import headings_along, lane_change_offset, lane_change_target, lateral_wander
from kdcs.phy.scene import Snapshot, StaticScene, Vehicle
from kdcs.phy.street import lane_direction

# Body types a distractor can have: name -> (length, width, height) metres, and draw probability.
DISTRACTOR_BODIES: dict[str, tuple[float, float, float]] = {
    "car": (4.5, 1.8, 1.5),
    "van": (5.5, 2.0, 2.4),
    "truck": (9.0, 2.5, 3.6),
    "bus": (12.0, 2.6, 3.2),
}

_PALETTE = (
    (200, 30, 30),
    (30, 60, 170),
    (230, 230, 230),
    (25, 25, 25),
    (140, 140, 150),
    (30, 120, 60),
    (220, 180, 40),
    (120, 70, 40),
)


@dataclass(frozen=True)
class TrafficConfig:
    """How vehicles move.

    Parameters
    ----------
    speed_min_mps, speed_max_mps: hard bounds on any vehicle's speed, m/s.
    initial_speed_range_mps: the transmitter's speed at the start of a sequence is uniform here, m/s.
    acceleration_noise_std_mps2: stationary std of the random acceleration, m/s^2.
    acceleration_correlation_s: correlation time of the acceleration, seconds.
    lateral_wander_std_m: stationary std of the lane-keeping wander, metres.
    lane_change_probability: chance that the transmitter changes to the neighbouring lane of its
        direction during a pass (distractors keep their lanes).
    lane_change_duration_s: how long one lane change takes, seconds.
    pass_center_range_m: the transmitter's x at mid-sequence is uniform in this range, metres.
    transmitter_body_m: (length, width, height) of the transmitting car, metres.
    transmitter_antenna_height_m: height of its roof-mounted antenna above the road, metres.
    num_distractors_range: inclusive (min, max) number of distractor vehicles per sequence.
    distractor_probabilities: draw probability of each body in DISTRACTOR_BODIES order.
    distractor_speed_range_mps: distractor speeds are uniform here, m/s.
    distractor_offset_range_m: distractor x at mid-sequence minus the transmitter's, metres.
    illumination_range: per-sequence brightness factor (dusk .. bright sun).
    """

    speed_min_mps: float = 1.0
    speed_max_mps: float = 20.0
    initial_speed_range_mps: tuple[float, float] = (4.0, 12.0)
    acceleration_noise_std_mps2: float = 1.5
    acceleration_correlation_s: float = 1.5
    lateral_wander_std_m: float = 0.2
    lane_change_probability: float = 0.4
    lane_change_duration_s: float = 3.0
    pass_center_range_m: tuple[float, float] = (-5.0, 5.0)
    transmitter_body_m: tuple[float, float, float] = (4.6, 1.9, 1.5)
    transmitter_antenna_height_m: float = 1.6
    num_distractors_range: tuple[int, int] = (0, 2)
    distractor_probabilities: tuple[float, ...] = (0.8, 0.1, 0.06, 0.04)
    distractor_speed_range_mps: tuple[float, float] = (3.0, 14.0)
    distractor_offset_range_m: tuple[float, float] = (-15.0, 15.0)
    illumination_range: tuple[float, float] = (0.6, 1.2)


def speed_profile(
    config: TrafficConfig,
    initial_speed_mps: float,
    num_samples: int,
    sample_period_s: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Speeds along one sequence under a correlated random acceleration.

    Input: start speed m/s, T samples, period s. Output: [T] speeds, m/s, within the config bounds.
    """
    rho = float(np.exp(-sample_period_s / config.acceleration_correlation_s))
    innovation = config.acceleration_noise_std_mps2 * np.sqrt(1.0 - rho**2)
    acceleration = rng.normal(0.0, config.acceleration_noise_std_mps2)
    speeds = np.empty(num_samples)
    speeds[0] = initial_speed_mps
    for t in range(1, num_samples):
        acceleration = rho * acceleration + innovation * rng.normal()
        speeds[t] = np.clip(
            speeds[t - 1] + acceleration * sample_period_s, config.speed_min_mps, config.speed_max_mps
        )
    return speeds


def _track(
    speeds: np.ndarray, lane_y: float, mid_x: float, lateral_m: np.ndarray, sample_period_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Positions [T, 3] (z = 0) of a vehicle in a lane whose x at mid-sequence is mid_x, moved
    sideways by lateral_m [T]; and its headings [T] rad."""
    heading = lane_direction(lane_y)
    direction = np.cos(heading)
    travelled = np.concatenate([[0.0], np.cumsum(speeds[:-1] * sample_period_s)])  # [T] metres
    x = direction * (travelled - travelled[len(travelled) // 2]) + mid_x
    y = lane_y + lateral_m
    return np.stack([x, y, np.zeros_like(x)], axis=-1), np.full(len(x), heading)


@dataclass(frozen=True)
class _Track:
    """One vehicle over a whole sequence."""

    positions_m: np.ndarray  # [T, 3]
    headings_rad: np.ndarray  # [T]
    speeds_mps: np.ndarray  # [T]
    body_m: tuple[float, float, float]  # length, width, height
    color_rgb: tuple[int, int, int]
    is_transmitter: bool

    def vehicle(self, t: int, antenna_height_m: float) -> Vehicle:
        length, width, height = self.body_m
        return Vehicle(
            self.positions_m[t], float(self.headings_rad[t]), float(self.speeds_mps[t]), length, width, height,
            self.color_rgb, self.is_transmitter, antenna_height_m,
        )  # fmt: skip


def _drive(
    config: TrafficConfig,
    lane_y: float,
    initial_speed_mps: float,
    mid_x: float,
    num_samples: int,
    sample_period_s: float,
    rng: np.random.Generator,
    lane_change_m: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions [T, 3], headings [T] rad and speeds [T] m/s of a vehicle in its lane.

    lane_change_m: [T] sideways offset of a lane change, metres (None = it keeps its lane); the
    heading follows it, the lane-keeping wander is too small and slow to turn the car visibly.
    """
    speeds = speed_profile(config, initial_speed_mps, num_samples, sample_period_s, rng)
    lateral = lateral_wander(config.lateral_wander_std_m, num_samples, rng)
    positions, headings = _track(speeds, lane_y, mid_x, lateral, sample_period_s)
    if lane_change_m is not None:
        positions[:, 1] += lane_change_m
        headings = headings_along(float(headings[0]), speeds, lane_change_m, sample_period_s)
    return positions, headings, speeds


def simulate_sequence(
    config: TrafficConfig,
    scene: StaticScene,
    num_samples: int,
    sample_period_s: float,
    start_time_s: float,
    rng: np.random.Generator,
) -> list[Snapshot]:
    """One pass of the transmitting vehicle past the access points, with distractors.

    Parameters
    ----------
    num_samples: T, snapshots to produce; sample_period_s: seconds between them.
    start_time_s: time of the first snapshot, seconds.
    Output: T Snapshots; vehicles[0] is the transmitter, the rest are distractors.
    """
    lanes = scene.lane_centers_y_m
    tx_lane = int(rng.integers(len(lanes)))
    initial_speed = rng.uniform(*config.initial_speed_range_mps)
    tx_mid_x = rng.uniform(*config.pass_center_range_m)
    target_lane = lane_change_target(lanes, tx_lane, config.lane_change_probability, rng)
    lane_change = None
    if target_lane is not None:
        shift = lanes[target_lane] - lanes[tx_lane]
        lane_change = lane_change_offset(
            shift, config.lane_change_duration_s, num_samples, sample_period_s, rng
        )
    motion = _drive(
        config, lanes[tx_lane], initial_speed, tx_mid_x, num_samples, sample_period_s, rng, lane_change
    )
    color = _PALETTE[int(rng.integers(len(_PALETTE)))]
    tracks = [_Track(*motion, config.transmitter_body_m, color, True)]

    # At most one distractor per lane the transmitter never uses, so no two vehicles ever overlap.
    low, high = config.num_distractors_range
    other_lanes = rng.permutation([k for k in range(len(lanes)) if k not in (tx_lane, target_lane)])
    num_distractors = min(int(rng.integers(low, high + 1)), len(other_lanes))
    probabilities = np.asarray(config.distractor_probabilities, dtype=np.float64)
    bodies = list(DISTRACTOR_BODIES.values())
    for lane in other_lanes[:num_distractors]:
        body = bodies[int(rng.choice(len(bodies), p=probabilities / probabilities.sum()))]
        initial_speed = rng.uniform(*config.distractor_speed_range_mps)
        mid_x = tx_mid_x + rng.uniform(*config.distractor_offset_range_m)
        motion = _drive(config, lanes[lane], initial_speed, mid_x, num_samples, sample_period_s, rng)
        tracks.append(_Track(*motion, body, _PALETTE[int(rng.integers(len(_PALETTE)))], False))

    illumination = float(rng.uniform(*config.illumination_range))
    antenna = config.transmitter_antenna_height_m
    return [
        Snapshot(
            start_time_s + t * sample_period_s, tuple(tr.vehicle(t, antenna) for tr in tracks), illumination
        )
        for t in range(num_samples)
    ]


@dataclass(frozen=True)
class GpsNoiseConfig:
    """Errors of the transmitting vehicle's GPS receiver (per horizontal axis).

    GPS errors wander slowly (multipath, satellite geometry) rather than jumping from fix to fix,
    so each error is a first-order autoregressive process with the given stationary std and
    correlation time, plus a little white noise.

    Parameters
    ----------
    raw_std_m, raw_correlation_s: the raw (`unit2_loc`) error, metres and seconds.
    calibrated_std_m, calibrated_correlation_s: the calibrated (`unit2_loc_cal`) error.
    white_std_m: independent per-fix noise added to both, metres.
    """

    raw_std_m: float = 1.5
    raw_correlation_s: float = 4.0
    calibrated_std_m: float = 0.25
    calibrated_correlation_s: float = 1.0
    white_std_m: float = 0.05


def gps_error_track(
    std_m: float,
    correlation_s: float,
    white_std_m: float,
    num_samples: int,
    period_s: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """[T, 2] east, north position errors of consecutive GPS fixes, metres."""
    rho = float(np.exp(-period_s / correlation_s)) if correlation_s > 0 else 0.0
    error = np.empty((num_samples, 2))
    error[0] = rng.normal(0.0, std_m, size=2)
    for t in range(1, num_samples):
        error[t] = rho * error[t - 1] + np.sqrt(1.0 - rho**2) * std_m * rng.normal(size=2)
    return error + rng.normal(0.0, white_std_m, size=(num_samples, 2))
