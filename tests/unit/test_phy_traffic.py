"""Traffic trajectories, GPS errors and the street / AP layout."""

from __future__ import annotations

import numpy as np
import pytest

from kdcs.phy.array import BeamCodebook, UniformLinearArray
from kdcs.phy.channel import line_of_sight_azimuth
from kdcs.phy.lateral_motion import lane_change_offset, lane_change_target
from kdcs.phy.scene import ApPose, Snapshot, Vehicle
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
    low, high = config.initial_speed_range_mps
    assert np.all((first_tx_speeds >= low) & (first_tx_speeds <= high))
    assert np.isclose(all_speeds, 20.0).any() or np.isclose(all_speeds, 1.0).any()


def test_speed_profile_changes_smoothly():
    config = TrafficConfig()

    speeds = speed_profile(config, 10.0, 500, PERIOD_S, np.random.default_rng(0))

    # With 1.5 m/s^2 acceleration noise, no step can change the speed by more than ~0.9 m/s.
    assert np.abs(np.diff(speeds)).max() < 0.9
    assert speeds.std() > 0.2  # but the speed does drift


def test_positions_follow_speeds_lanes_and_directions():
    # Prepare
    keeps_lane = TrafficConfig(lane_change_probability=0.0)
    sequence = simulate_sequence(keeps_lane, SCENE, 30, PERIOD_S, 5.0, np.random.default_rng(3))
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


def test_a_lane_change_moves_the_transmitter_to_the_neighbouring_lane_of_its_direction():
    # Prepare: every pass changes lane; 60 samples (6.7 s) leave room for a whole 3 s change.
    config = TrafficConfig(
        lane_change_probability=1.0, lane_change_duration_s=3.0, num_distractors_range=(2, 2)
    )

    for seed in range(20):
        # Execute
        sequence = simulate_sequence(config, SCENE, 60, PERIOD_S, 0.0, np.random.default_rng(seed))
        tx = [snap.transmitter for snap in sequence]
        y = np.array([v.position_m[1] for v in tx])
        headings = np.array([v.heading_rad for v in tx])

        # Assert: same side of the road (same direction), at least half a lane across, the heading
        # turned towards the new lane while moving, and no distractor in either lane of the pass.
        start, end = (min(SCENE.lane_centers_y_m, key=lambda c, v=v: abs(c - v)) for v in (y[0], y[-1]))
        assert np.sign(start) == np.sign(y[-1])
        assert abs(y[-1] - y[0]) > 3.5 / 2 - 1.0
        moving = np.argmax(np.abs(np.gradient(y)))
        turn = np.sin(headings[moving] - lane_direction(start)) * np.cos(lane_direction(start))
        assert np.sign(turn) == np.sign(y[-1] - y[0])
        for vehicle in sequence[0].vehicles[1:]:
            assert abs(vehicle.position_m[1] - start) > 1.0 and abs(vehicle.position_m[1] - end) > 1.0


def test_lane_change_offset_is_a_smooth_s_curve_from_zero_to_the_shift():
    offset = lane_change_offset(3.5, 3.0, 200, PERIOD_S, np.random.default_rng(0))

    assert offset[0] == 0.0 and offset[-1] == pytest.approx(3.5)
    assert np.all(np.diff(offset) >= 0)
    # A raised cosine over 3 s: the steepest step is pi/2 * 3.5 m / 3 s * 0.111 s = 0.203 m.
    assert np.abs(np.diff(offset)).max() == pytest.approx(np.pi / 2 * 3.5 / 3.0 * PERIOD_S, rel=0.01)


def test_lane_change_target_is_a_same_direction_neighbour_or_none():
    lanes = SCENE.lane_centers_y_m  # two eastbound lanes (south), two westbound (north)
    rng = np.random.default_rng(0)

    assert [lane_change_target(lanes, k, 1.0, rng) for k in range(4)] == [1, 0, 3, 2]
    assert lane_change_target(lanes, 0, 0.0, rng) is None
    assert lane_change_target((-1.75, 1.75), 0, 1.0, rng) is None  # one lane per direction


def test_a_lane_change_45_degrees_off_boresight_moves_the_beam_by_the_hand_computed_amount():
    # Prepare: an AP 20 m south of a car 20 m east of it (45 degrees right of its northward
    # boresight); the car ends a lane change 3.5 m further north.
    codebook = BeamCodebook(UniformLinearArray(16, 0.5, 60e9), num_beams=64, field_of_view_rad=np.pi / 2)
    ap = ApPose(position_m=np.array([0.0, -20.0, 1.6]), boresight_azimuth_rad=np.pi / 2)
    offset = lane_change_offset(3.5, 3.0, 60, PERIOD_S, np.random.default_rng(0))

    def beam(y: float) -> int:
        car = Vehicle(np.array([20.0, y, 0.0]), 0.0, 10.0, 4.6, 1.9, 1.5, (0, 0, 0), True, 1.6)
        return int(codebook.nearest_beam(line_of_sight_azimuth(ap, Snapshot(0.0, (car,)))))

    # Execute
    shift = beam(offset[-1]) - beam(offset[0])

    # Assert: sin(az) goes from 20/sqrt(800) = 0.707 to 20/sqrt(20^2 + 23.5^2) = 0.648 (to the left,
    # up the codebook); beams are sqrt(2)/63 = 0.0224 apart in sin(az): 2.6 beams.
    assert shift in (2, 3)


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
