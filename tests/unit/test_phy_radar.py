"""Unit tests for the synthetic FMCW radar cube (beat signal of point targets)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from kdcs.phy.fmcw import FmcwRadarConfig, angle_bin_centers_rad, range_angle_map
from kdcs.phy.radar_synthesis import (
    beat_signal_cube,
    radar_equation_amplitude,
    synthesize_radar_cube,
    vehicle_rcs_m2,
)
from kdcs.phy.scene import ApPose, Scatterer, Snapshot, StaticScene, Vehicle

QUIET = FmcwRadarConfig(noise_std=0.0)
EMPTY_STREET = StaticScene(road_half_width_m=7.0, lane_centers_y_m=(-1.75, 1.75))
NUM_ANGLE_BINS = 64


def _point_vehicle(x_m: float, y_m: float, heading_rad: float, speed_mps: float) -> Vehicle:
    """A vehicle so small that its scattering points coincide: a moving point target at 1 cm height."""
    return Vehicle(np.array([x_m, y_m, 0.0]), heading_rad, speed_mps, 0.002, 0.002, 0.02, (0, 0, 0))


def _peak_cell(cube: np.ndarray) -> tuple[int, int]:
    ram = range_angle_map(cube, NUM_ANGLE_BINS)
    range_bin, angle_bin = np.unravel_index(np.argmax(ram), ram.shape)
    return int(range_bin), int(angle_bin)


def _spatial_frequency(azimuth_rad: float) -> float:
    return QUIET.rx_spacing_wavelengths * np.sin(azimuth_rad)


@pytest.mark.parametrize("range_m", [4.0, 12.3, 27.9, 44.0])
@pytest.mark.parametrize("azimuth_deg", [-50.0, -17.0, 0.0, 24.0, 60.0])
def test_point_target_peaks_at_its_range_and_angle_bin(range_m, azimuth_deg):
    # Prepare
    azimuth = np.deg2rad(azimuth_deg)
    cube = beat_signal_cube(QUIET, [range_m], [azimuth], [4.0], [1.0])
    # Execute
    range_bin, angle_bin = _peak_cell(cube)
    # Assert: within one range bin and one (zero-padded) angle bin
    assert abs(QUIET.range_bin_centers_m()[range_bin] - range_m) <= QUIET.range_resolution_m
    peak_frequency = QUIET.rx_spacing_wavelengths * np.sin(angle_bin_centers_rad(NUM_ANGLE_BINS)[angle_bin])
    assert abs(peak_frequency - _spatial_frequency(azimuth)) <= 1.0 / NUM_ANGLE_BINS + 1e-9


@pytest.mark.parametrize("x_m, y_m", [(-5.0, 10.0), (6.0, 20.0), (0.0, 15.0), (-14.0, 9.0)])
def test_scene_target_lands_at_its_azimuth_in_the_ap_frame(x_m, y_m):
    # Prepare: radar at the origin looking north; a car west of the boresight is to its left (+ azimuth)
    pose = ApPose(np.array([0.0, 0.0, 0.01]), np.pi / 2, 0.0)
    snapshot = Snapshot(0.0, (_point_vehicle(x_m, y_m, heading_rad=0.3, speed_mps=6.0),))
    expected_range, expected_azimuth, _ = pose.range_azimuth_elevation(np.array([x_m, y_m, 0.01]))
    # Execute
    cube = synthesize_radar_cube(QUIET, pose, snapshot, EMPTY_STREET, np.random.default_rng(0))
    range_bin, angle_bin = _peak_cell(cube)
    # Assert
    assert abs(QUIET.range_bin_centers_m()[range_bin] - expected_range) <= QUIET.range_resolution_m
    peak_azimuth = angle_bin_centers_rad(NUM_ANGLE_BINS)[angle_bin]
    if abs(expected_azimuth) > 0.1:  # the sign convention: west of a north-looking radar is + (left)
        assert np.sign(peak_azimuth) == np.sign(expected_azimuth)
    peak_frequency = QUIET.rx_spacing_wavelengths * np.sin(peak_azimuth)
    assert abs(peak_frequency - _spatial_frequency(float(expected_azimuth))) <= 1.0 / NUM_ANGLE_BINS + 1e-9


def test_radial_velocity_sets_the_doppler_bin():
    # Prepare: a car on the boresight driving straight away at 3 m/s
    pose = ApPose(np.array([0.0, 0.0, 0.01]), 0.0, 0.0)
    snapshot = Snapshot(0.0, (_point_vehicle(15.0, 0.0, heading_rad=0.0, speed_mps=3.0),))
    expected_bin = 2.0 * 3.0 * QUIET.chirp_interval_s * QUIET.num_chirps / QUIET.wavelength_m  # about 12.8
    # Execute
    cube = synthesize_radar_cube(QUIET, pose, snapshot, EMPTY_STREET, np.random.default_rng(0))
    doppler = np.abs(np.fft.fft(np.fft.fft(cube, axis=1), axis=2)).sum(axis=(0, 1))  # [chirps]
    # Assert
    assert abs(int(np.argmax(doppler)) - expected_bin) <= 1.0


def test_static_scatterer_is_removed_by_clutter_removal():
    # Prepare: the same point once static (a pole), once moving
    pose = ApPose(np.array([0.0, 0.0, 1.0]), 0.0, 0.0)
    pole = StaticScene(7.0, (0.0,), scatterers=(Scatterer(np.array([12.0, 3.0, 1.0]), 0.5, 10.0),))
    rng = np.random.default_rng(0)
    # Execute
    static_cube = synthesize_radar_cube(QUIET, pose, Snapshot(0.0, ()), pole, rng)
    moving_cube = beat_signal_cube(QUIET, [12.37], [np.arctan2(3.0, 12.0)], [2.0], [1.0])
    # Assert: the raw cube holds the pole, the range-angle map does not
    assert np.abs(static_cube).max() > 0.5
    assert range_angle_map(static_cube).max() < range_angle_map(moving_cube).max() - 60.0


def test_amplitude_follows_the_radar_equation():
    # Prepare / Execute / Assert: known values, 1 at the reference car and range
    np.testing.assert_allclose(
        radar_equation_amplitude([10.0, 10.0, 40.0], [10.0, 20.0, 10.0]), [1.0, 0.25, 2.0]
    )
    assert vehicle_rcs_m2(Vehicle(np.zeros(3), 0.0, 0.0, 4.5, 1.8, 1.5, (0, 0, 0))) == pytest.approx(10.0)


def test_echo_strength_falls_with_range():
    # Prepare: the same car on the boresight at 40 and 80 range bins (on bin centres, so no leakage)
    pose = ApPose(np.array([0.0, 0.0, 0.01]), 0.0, 0.0)
    peaks = []
    for bins in (40, 80):
        snapshot = Snapshot(0.0, (_point_vehicle(bins * QUIET.range_resolution_m, 0.0, 0.0, 2.0),))
        # Execute
        cube = synthesize_radar_cube(QUIET, pose, snapshot, EMPTY_STREET, np.random.default_rng(0))
        peaks.append(np.abs(np.fft.fft(cube, axis=1)).max())
    # Assert: twice the range, a quarter of the amplitude
    assert peaks[1] / peaks[0] == pytest.approx(0.25, rel=0.02)


@pytest.mark.parametrize("x_m, y_m", [(60.0, 0.0), (-10.0, 1.0)])
def test_targets_beyond_max_range_or_behind_are_dropped(x_m, y_m):
    # Prepare: beyond 50 m, or behind the radar
    pose = ApPose(np.array([0.0, 0.0, 0.01]), 0.0, 0.0)
    snapshot = Snapshot(0.0, (_point_vehicle(x_m, y_m, 0.0, 5.0),))
    # Execute
    cube = synthesize_radar_cube(QUIET, pose, snapshot, EMPTY_STREET, np.random.default_rng(0))
    # Assert
    assert not np.any(cube)


def test_shape_dtype_noise_power_and_determinism():
    # Prepare
    config = dataclasses.replace(QUIET, num_chirps=16, noise_std=0.05)
    pose = ApPose(np.array([0.0, -10.0, 1.0]), np.pi / 2, 0.0)
    snapshot = Snapshot(0.0, (_point_vehicle(2.0, 0.0, 0.0, 8.0),))
    # Execute
    first = synthesize_radar_cube(config, pose, snapshot, EMPTY_STREET, np.random.default_rng(3))
    again = synthesize_radar_cube(config, pose, snapshot, EMPTY_STREET, np.random.default_rng(3))
    other = synthesize_radar_cube(config, pose, snapshot, EMPTY_STREET, np.random.default_rng(4))
    noise_only = synthesize_radar_cube(
        config, pose, Snapshot(0.0, ()), EMPTY_STREET, np.random.default_rng(5)
    )
    # Assert
    assert first.shape == (4, 256, 16) and first.dtype == np.complex64
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert np.mean(np.abs(noise_only) ** 2) == pytest.approx(0.05**2, rel=0.05)
