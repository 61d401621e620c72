"""Traffic trajectories, GPS errors and the street / AP layout."""

from __future__ import annotations

import numpy as np
import pytest

from kdcs.phy.street import StreetConfig, access_point_poses, build_static_scene, lane_direction
from kdcs.phy.traffic import TrafficConfig, gps_error_track, simulate_sequence, speed_profile

SCENE = build_static_scene(StreetConfig())
PERIOD_S = 0.111


def _many_sequences(config: TrafficConfig, count: int = 40, length: int = 40) -> list:
    return [
        simulate_sequence(config, SCENE, length, PERIOD_S, 0.0, np.random.default_rng(s))
        for s in range(count)
    ]


def test_speeds_stay_within_bounds_and_start_in_range():
    # Prepare: strong acceleration noise so the bounds are actually hit.
    config = TrafficConfig(acceleration_noise_std_mps2=6.0, speed_min_mps=1.0, speed_max_mps=20.0)

    # Execute
    sequences = _many_sequences(config)
    all_speeds = np.array([v.speed_mps for seq in sequences for snap in seq for v in snap.vehicles])
    first_tx_speeds = np.array([seq[0].transmitter.speed_mps for seq in sequences])

    # Assert
    assert all_speeds.min() >= 1.0 and all_speeds.max() <= 20.0
    assert np.all((first_tx_speeds >= 2.0) & (first_tx_speeds <= 8.0))
    assert np.isclose(all_speeds, 20.0).any() or np.isclose(all_speeds, 1.0).any()


def test_speed_profile_changes_smoothly():
    config = TrafficConfig()

    speeds = speed_profile(config, 10.0, 500, PERIOD_S, np.random.default_rng(0))

    # With 1.5 m/s^2 acceleration noise, no step can change the speed by more than ~0.9 m/s.
    assert np.abs(np.diff(speeds)).max() < 0.9
    assert speeds.std() > 0.2  # but the speed does drift


def test_positions_follow_speeds_lanes_and_directions():
    # Prepare
    sequence = simulate_sequence(TrafficConfig(), SCENE, 30, PERIOD_S, 5.0, np.random.default_rng(3))
    tx = [snap.transmitter for snap in sequence]
    x = np.array([v.position_m[0] for v in tx])
    y = np.array([v.position_m[1] for v in tx])
    speeds = np.array([v.speed_mps for v in tx])

    # Assert: one lane, moving in that lane's direction, distance = speed * period each step.
    lane = min(SCENE.lane_centers_y_m, key=lambda c: abs(c - y.mean()))
    assert np.abs(y - lane).max() < 1.0
    assert tx[0].heading_rad == lane_direction(lane)
    np.testing.assert_allclose(np.abs(np.diff(x)), speeds[:-1] * PERIOD_S, atol=1e-9)
    assert np.all(np.sign(np.diff(x)) == np.cos(tx[0].heading_rad))
    assert sequence[0].time_s == 5.0 and sequence[-1].time_s == pytest.approx(5.0 + 29 * PERIOD_S)


def test_transmitter_is_first_and_distractors_use_other_lanes():
    for sequence in _many_sequences(TrafficConfig(num_distractors_range=(0, 3)), count=30, length=5):
        vehicles = sequence[0].vehicles
        lanes = [min(SCENE.lane_centers_y_m, key=lambda c, v=v: abs(c - v.position_m[1])) for v in vehicles]
        assert vehicles[0].is_transmitter and not any(v.is_transmitter for v in vehicles[1:])
        assert len(vehicles) - 1 <= 3
        assert len(set(lanes)) == len(lanes)  # never two vehicles in one lane


def test_same_generator_seed_gives_the_same_sequence():
    a = simulate_sequence(TrafficConfig(), SCENE, 20, PERIOD_S, 0.0, np.random.default_rng(11))
    b = simulate_sequence(TrafficConfig(), SCENE, 20, PERIOD_S, 0.0, np.random.default_rng(11))
    c = simulate_sequence(TrafficConfig(), SCENE, 20, PERIOD_S, 0.0, np.random.default_rng(12))

    tracks = [np.array([s.transmitter.position_m for s in seq]) for seq in (a, b, c)]  # [T, 3] each
    np.testing.assert_array_equal(tracks[0], tracks[1])
    assert not np.array_equal(tracks[0], tracks[2])


def test_gps_error_has_the_configured_spread_and_correlation():
    # Prepare: a long track so the sample statistics are tight.
    error = gps_error_track(1.5, 4.0, 0.0, 200_000, PERIOD_S, np.random.default_rng(0))

    # Assert: stationary std 1.5 m per axis, lag-1 correlation exp(-0.111 / 4).
    assert error.shape == (200_000, 2)
    assert error.std(axis=0) == pytest.approx([1.5, 1.5], rel=0.05)
    lag1 = np.corrcoef(error[1:, 0], error[:-1, 0])[0, 1]
    assert lag1 == pytest.approx(np.exp(-PERIOD_S / 4.0), abs=0.01)


def test_access_points_stand_apart_on_both_sides_and_look_at_the_street():
    # Prepare
    config = StreetConfig()

    # Execute
    poses = access_point_poses(4, config)

    # Assert: distinct positions, alternating sides beyond the road, boresight towards the road centre.
    positions = np.array([p.position_m for p in poses])
    assert len({tuple(p) for p in positions.round(3)}) == 4
    assert list(np.sign(positions[:, 1])) == [-1, 1, -1, 1]
    assert np.all(np.abs(positions[:, 1]) > config.road_half_width_m + config.sidewalk_width_m)
    for pose in poses:
        aim = np.array([config.ap_aim_fraction * pose.position_m[0], 0.0, pose.position_m[2]])
        _, azimuth, _ = pose.range_azimuth_elevation(aim)
        assert float(azimuth) == pytest.approx(0.0, abs=1e-9)
        assert 0.0 < pose.downtilt_rad < np.deg2rad(30.0)


def test_access_point_layout_rejects_zero_aps():
    with pytest.raises(ValueError, match="num_aps"):
        access_point_poses(0, StreetConfig())


def test_static_scene_has_lanes_poles_and_buildings():
    scene = build_static_scene(StreetConfig())

    assert scene.lane_centers_y_m == (-5.25, -1.75, 1.75, 5.25)
    assert len(scene.scatterers) > 10
    assert scene.background_boxes.shape[1] == 6
    # Buildings stand behind the sidewalks on both sides, never on the road.
    assert np.all((scene.background_boxes[:, 1] > 7.0) | (scene.background_boxes[:, 3] < -7.0))
