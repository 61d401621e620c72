"""Synthetic raw FMCW radar cubes for the street scene (dechirped beat signal of point targets).

Each vehicle is a few point scatterers on its box, each static Scatterer is one point. For a point at
slant range R with radial velocity v (positive = moving away) and direction cosine
sin(azimuth) * cos(elevation) along the horizontal receive array, the dechirped sample at receive
element n, fast-time sample k and chirp m is

    a * exp(+j 2 pi f_b k / fs) * exp(+j 4 pi (R + v m T_c) / lambda) * exp(+j 2 pi d sin(az) cos(el) n)

with beat frequency f_b = 2 S R / c and amplitude a ~ sqrt(RCS) / R^2 (radar equation), normalised so
a reference car (reference_rcs_m2 at reference_range_m) has amplitude 1. Azimuth is measured in the AP
local frame, positive to the left: the sign kdcs.phy.fmcw.range_angle_map and angle_bin_centers_rad
assume. Range migration within a frame (about one range bin at 20 m/s) is neglected.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kdcs.phy.fmcw import SPEED_OF_LIGHT_MPS, FmcwRadarConfig
from kdcs.phy.scene import ApPose, Snapshot, StaticScene, Vehicle

REFERENCE_CAR_RCS_M2 = 10.0  # typical 77 GHz radar cross-section of a passenger car
REFERENCE_CAR_SIZE_M = (4.5, 1.8, 1.5)  # length, width, height of that car
MIN_AMPLITUDE_RANGE_M = 1.0  # the far-field radar equation is meaningless closer than this


@dataclass(frozen=True)
class PointTargets:
    """Point scatterers seen by one radar.

    Parameters
    ----------
    position_m: [P, 3] world positions, metres.
    velocity_mps: [P, 3] world velocities, metres per second.
    rcs_m2: [P] radar cross-sections, square metres.
    """

    position_m: np.ndarray
    velocity_mps: np.ndarray
    rcs_m2: np.ndarray

    @staticmethod
    def concatenate(parts: list[PointTargets]) -> PointTargets:
        if not parts:
            return PointTargets(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0))
        return PointTargets(
            np.concatenate([p.position_m for p in parts]),
            np.concatenate([p.velocity_mps for p in parts]),
            np.concatenate([p.rcs_m2 for p in parts]),
        )


def vehicle_rcs_m2(vehicle: Vehicle) -> float:
    """Total RCS of a vehicle, square metres, scaled from a reference car by its side-plus-front area."""
    ref_length, ref_width, ref_height = REFERENCE_CAR_SIZE_M
    area = (vehicle.length_m + vehicle.width_m) * vehicle.height_m
    return REFERENCE_CAR_RCS_M2 * area / ((ref_length + ref_width) * ref_height)


def vehicle_scattering_points(vehicle: Vehicle, radar_position_m: np.ndarray) -> PointTargets:
    """The three vertical box edges nearest the radar, at half height; the far edge is shadowed.

    Input: radar_position_m [3] metres. Output: PointTargets with P = 3, the vehicle RCS split evenly.
    """
    # The four vertical edges in Vehicle.corners_m() order (length side, then width side), computed
    # directly: this runs for every vehicle of every radar frame.
    c, s = np.cos(vehicle.heading_rad), np.sin(vehicle.heading_rad)
    along = np.array([-1.0, -1.0, 1.0, 1.0]) * (vehicle.length_m / 2)  # [4]
    across = np.array([-1.0, 1.0, -1.0, 1.0]) * (vehicle.width_m / 2)  # [4]
    edges = np.empty((4, 3))
    edges[:, 0] = vehicle.position_m[0] + c * along - s * across
    edges[:, 1] = vehicle.position_m[1] + s * along + c * across
    edges[:, 2] = vehicle.height_m / 2.0
    nearest = np.argsort(np.linalg.norm(edges - radar_position_m, axis=1))[:3]
    velocity = vehicle.speed_mps * np.array([c, s, 0.0])
    return PointTargets(
        position_m=edges[nearest],
        velocity_mps=np.broadcast_to(velocity, (3, 3)),
        rcs_m2=np.full(3, vehicle_rcs_m2(vehicle) / 3.0),
    )


def static_point_targets(scene: StaticScene) -> PointTargets:
    """The scene's static scatterers (poles, building corners) as motionless point targets."""
    if not scene.scatterers:
        return PointTargets.concatenate([])
    return PointTargets(
        position_m=np.stack([np.asarray(s.position_m, dtype=np.float64) for s in scene.scatterers]),
        velocity_mps=np.zeros((len(scene.scatterers), 3)),
        rcs_m2=np.array([s.radar_cross_section_m2 for s in scene.scatterers], dtype=np.float64),
    )


def scene_point_targets(pose: ApPose, snapshot: Snapshot, scene: StaticScene) -> PointTargets:
    """All point scatterers of a snapshot: vehicles (moving) and the scene's static scatterers."""
    parts = [vehicle_scattering_points(v, pose.position_m) for v in snapshot.vehicles]
    return PointTargets.concatenate([*parts, static_point_targets(scene)])


def radar_equation_amplitude(
    rcs_m2: np.ndarray,
    range_m: np.ndarray,
    reference_rcs_m2: float = REFERENCE_CAR_RCS_M2,
    reference_range_m: float = 10.0,
) -> np.ndarray:
    """Received amplitude [P] ~ sqrt(RCS) / R^2, equal to 1 for reference_rcs_m2 at reference_range_m.

    Input: rcs_m2 [P] square metres, range_m [P] metres (clamped to >= 1 m).
    """
    range_m = np.maximum(np.asarray(range_m, dtype=np.float64), MIN_AMPLITUDE_RANGE_M)
    return (
        np.sqrt(np.asarray(rcs_m2, dtype=np.float64) / reference_rcs_m2) * (reference_range_m / range_m) ** 2
    )


def beat_signal_cube(
    config: FmcwRadarConfig,
    range_m: np.ndarray,
    azimuth_rad: np.ndarray,
    radial_velocity_mps: np.ndarray,
    amplitude: np.ndarray,
    elevation_rad: np.ndarray | None = None,
) -> np.ndarray:
    """Noise-free dechirped cube of point targets.

    Input: range_m [P] metres, azimuth_rad [P] (AP local frame, + = left), radial_velocity_mps [P]
    (+ = receding), amplitude [P] linear, elevation_rad [P] or None for 0.
    Output: [num_rx, num_samples, num_chirps] complex64.
    """
    range_m, azimuth_rad, radial_velocity_mps, amplitude = (
        np.atleast_1d(np.asarray(x, dtype=np.float64))
        for x in (range_m, azimuth_rad, radial_velocity_mps, amplitude)
    )
    elevation = (
        np.zeros_like(range_m) if elevation_rad is None else np.atleast_1d(elevation_rad).astype(np.float64)
    )
    spatial_frequency = (
        config.rx_spacing_wavelengths * np.sin(azimuth_rad) * np.cos(elevation)
    )  # [P] cycles/elem
    beat_frequency_hz = 2.0 * config.chirp_slope_hz_per_s * range_m / SPEED_OF_LIGHT_MPS  # [P]
    elements = np.arange(config.num_rx)
    fast_time_s = np.arange(config.num_samples) / config.sample_rate_hz
    slow_time_s = np.arange(config.num_chirps) * config.chirp_interval_s
    rx = amplitude[:, None] * np.exp(2j * np.pi * spatial_frequency[:, None] * elements)  # [P, rx]
    fast = np.exp(2j * np.pi * beat_frequency_hz[:, None] * fast_time_s)  # [P, samples]
    path_m = range_m[:, None] + radial_velocity_mps[:, None] * slow_time_s  # [P, chirps]
    slow = np.exp(4j * np.pi * path_m / config.wavelength_m)  # carrier + Doppler phase
    # Built directly as a C-ordered [rx * samples, P] matrix: a transposed (Fortran-ordered) complex64
    # operand sends OpenBLAS to a multithreaded path that costs ~10 ms instead of ~0.05 ms on a busy host.
    rx_fast = (rx.T[:, None, :] * fast.T[None, :, :]).reshape(
        config.num_rx * config.num_samples, len(range_m)
    )
    cube = rx_fast.astype(np.complex64) @ slow.astype(np.complex64)  # [rx * samples, chirps]
    return cube.reshape(config.cube_shape)


def _echo_cube(
    config: FmcwRadarConfig, pose: ApPose, targets: PointTargets, reference_range_m: float
) -> np.ndarray:
    """Noise-free cube [rx, samples, chirps] complex64 of the targets in range and in front of the radar."""
    range_m, azimuth, elevation = pose.range_azimuth_elevation(targets.position_m)
    visible = (range_m < config.max_range_m) & (np.abs(azimuth) <= np.pi / 2) & (range_m > 0.0)
    line_of_sight = (targets.position_m - pose.position_m) / np.maximum(range_m, 1e-9)[:, None]  # [P, 3]
    radial_velocity = np.einsum("pk,pk->p", targets.velocity_mps, line_of_sight)
    amplitude = radar_equation_amplitude(targets.rcs_m2, range_m, reference_range_m=reference_range_m)
    return beat_signal_cube(
        config,
        range_m[visible],
        azimuth[visible],
        radial_velocity[visible],
        amplitude[visible],
        elevation_rad=elevation[visible],
    )


# Memo of the static scatterers' echoes keyed by value (poses and scenes hold arrays). They do not
# move, so their echo is the same in every frame of an AP: computing it once per AP instead of per
# frame removes ~60 of the ~65 point targets a frame would otherwise sum.
_STATIC_ECHO_MEMO: dict[tuple, np.ndarray] = {}
_STATIC_ECHO_MEMO_SIZE = 16


def _static_echo_cube(
    config: FmcwRadarConfig, pose: ApPose, scene: StaticScene, reference_range_m: float
) -> np.ndarray:
    """Memoised echo cube of the scene's static scatterers seen from pose; the array is read-only."""
    targets = static_point_targets(scene)
    key = (
        config,
        float(reference_range_m),
        np.asarray(pose.position_m, dtype=np.float64).tobytes(),
        float(pose.boresight_azimuth_rad),
        float(pose.downtilt_rad),
        targets.position_m.tobytes(),
        targets.rcs_m2.tobytes(),
    )
    cube = _STATIC_ECHO_MEMO.get(key)
    if cube is None:
        cube = _echo_cube(config, pose, targets, reference_range_m)
        cube.setflags(write=False)
        if len(_STATIC_ECHO_MEMO) >= _STATIC_ECHO_MEMO_SIZE:
            _STATIC_ECHO_MEMO.pop(next(iter(_STATIC_ECHO_MEMO)))
        _STATIC_ECHO_MEMO[key] = cube
    return cube


def synthesize_radar_cube(
    config: FmcwRadarConfig,
    pose: ApPose,
    snapshot: Snapshot,
    scene: StaticScene,
    rng: np.random.Generator,
    reference_range_m: float = 10.0,
) -> np.ndarray:
    """Raw FMCW radar cube of one snapshot, as DeepSense stores it.

    Parameters
    ----------
    config: radar waveform and array.
    pose: radar position (metres) and boresight; azimuths are measured in its local frame.
    snapshot: vehicles (moving scatterers) at this instant.
    scene: static scatterers (constant over chirps, so clutter removal cancels them).
    rng: source of the complex Gaussian receiver noise, E|n|^2 = config.noise_std^2.
    reference_range_m: range at which a reference car (10 m^2) has amplitude 1, metres.

    Output: [num_rx, num_samples, num_chirps] complex64. Targets beyond config.max_range_m or behind
    the radar (|azimuth| > 90 deg) are dropped.
    """
    moving = PointTargets.concatenate(
        [vehicle_scattering_points(v, pose.position_m) for v in snapshot.vehicles]
    )
    cube = _echo_cube(config, pose, moving, reference_range_m)
    cube += _static_echo_cube(config, pose, scene, reference_range_m)
    if config.noise_std > 0.0:
        # Real and imaginary parts drawn together as float32 pairs, then viewed as complex64.
        noise = rng.standard_normal((*config.cube_shape, 2), dtype=np.float32).view(np.complex64)[..., 0]
        cube += noise * np.float32(config.noise_std / np.sqrt(2.0))
    return cube
