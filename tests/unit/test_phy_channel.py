"""Channel physics: Friis loss, blockage geometry, path-length rates and the line-of-sight beam."""

from __future__ import annotations

import numpy as np
import pytest

from kdcs.phy.array import BeamCodebook, UniformLinearArray
from kdcs.phy.channel import (
    ChannelConfig,
    channel_vector,
    free_space_path_loss_db,
    line_of_sight_azimuth,
    propagation_paths,
    segments_blocked,
)
from kdcs.phy.scene import ApPose, Snapshot, StaticScene, Vehicle
from kdcs.phy.street import StreetConfig, build_static_scene

LOS_ONLY = ChannelConfig(include_ground_reflection=False, include_facades=False, include_scatterers=False)
EMPTY_SCENE = StaticScene(road_half_width_m=7.0, lane_centers_y_m=(-5.25, -1.75, 1.75, 5.25))
# An AP 15 m south of the road centre, looking north (boresight = +y), antenna 1.6 m high.
AP_LOOKING_NORTH = ApPose(position_m=np.array([0.0, -15.0, 1.6]), boresight_azimuth_rad=np.pi / 2)
CODEBOOK = BeamCodebook(UniformLinearArray(16, 0.5, 60e9), num_beams=64, field_of_view_rad=np.deg2rad(90.0))


def _car(
    x: float, y: float, *, transmitter: bool = False, height: float = 1.5, length: float = 4.5
) -> Vehicle:
    return Vehicle(
        position_m=np.array([x, y, 0.0]),
        heading_rad=0.0,
        speed_mps=10.0,
        length_m=length,
        width_m=1.8,
        height_m=height,
        color_rgb=(200, 30, 30),
        is_transmitter=transmitter,
        antenna_height_m=1.6,
    )


def _snapshot(*vehicles: Vehicle) -> Snapshot:
    return Snapshot(time_s=0.0, vehicles=tuple(vehicles))


def test_free_space_path_loss_at_60_ghz_and_10_m_is_the_friis_value():
    # Friis: 20 log10(4 pi d / lambda), lambda = c / 60 GHz = 4.99654 mm -> 88.01 dB at 10 m.
    assert float(free_space_path_loss_db(10.0, 60e9)) == pytest.approx(88.0108, abs=1e-3)
    # Doubling the distance costs 6.02 dB.
    assert float(free_space_path_loss_db(20.0, 60e9) - free_space_path_loss_db(10.0, 60e9)) == pytest.approx(
        20 * np.log10(2), abs=1e-9
    )


def test_line_of_sight_power_on_the_matched_beam_is_the_link_budget():
    # Prepare: transmitter straight ahead at 15 m, same height: every factor is known.
    snapshot = _snapshot(_car(0.0, 0.0, transmitter=True))

    # Execute
    h = channel_vector(CODEBOOK.array, AP_LOOKING_NORTH, snapshot, EMPTY_SCENE, LOS_ONLY)
    matched_power_dbm = 10 * np.log10(np.linalg.norm(h) ** 2)

    # Assert: P_tx - Friis(15 m) + 10 log10(N) array gain.
    expected_dbm = LOS_ONLY.tx_power_dbm - float(free_space_path_loss_db(15.0, 60e9)) + 10 * np.log10(16)
    assert matched_power_dbm == pytest.approx(expected_dbm, abs=1e-6)


def test_argmax_beam_follows_the_line_of_sight_angle():
    # Prepare: the transmitter drives along a lane through the field of view.
    xs = np.linspace(-12.0, 12.0, 49)
    argmax, nearest = [], []

    # Execute
    for x in xs:
        snapshot = _snapshot(_car(x, 1.75, transmitter=True))
        h = channel_vector(CODEBOOK.array, AP_LOOKING_NORTH, snapshot, EMPTY_SCENE, LOS_ONLY)
        argmax.append(int(np.argmax(np.abs(CODEBOOK.weights.conj() @ h) ** 2)))
        nearest.append(int(CODEBOOK.nearest_beam(line_of_sight_azimuth(AP_LOOKING_NORTH, snapshot))))

    # Assert: driving east (to the AP's right) lowers the beam index monotonically, always on the
    # beam nearest the geometric angle (a one-beam tie margin for the array's elevation factor).
    assert np.all(np.diff(argmax) <= 0) and argmax[0] > argmax[-1]
    assert np.max(np.abs(np.array(argmax) - np.array(nearest))) <= 1
    assert np.mean(np.array(argmax) == np.array(nearest)) > 0.9


def test_a_truck_between_ap_and_transmitter_blocks_the_line_of_sight():
    # Prepare: transmitter in the far lane, a 3.6 m truck in the near lane right in between.
    transmitter = _car(0.0, 5.25, transmitter=True)
    truck = _car(0.0, -5.25, height=3.6, length=9.0)

    # Execute
    clear = channel_vector(CODEBOOK.array, AP_LOOKING_NORTH, _snapshot(transmitter), EMPTY_SCENE, LOS_ONLY)
    blocked = channel_vector(
        CODEBOOK.array, AP_LOOKING_NORTH, _snapshot(transmitter, truck), EMPTY_SCENE, LOS_ONLY
    )
    paths = propagation_paths(AP_LOOKING_NORTH, _snapshot(transmitter, truck), EMPTY_SCENE, LOS_ONLY, 60e9)

    # Assert: exactly the blockage loss in line-of-sight-only mode.
    assert bool(paths.blocked[0])
    drop_db = 10 * np.log10(np.linalg.norm(clear) ** 2 / np.linalg.norm(blocked) ** 2)
    assert drop_db == pytest.approx(LOS_ONLY.blockage_loss_db, abs=1e-9)


def test_a_car_beside_the_ray_does_not_block():
    transmitter = _car(0.0, 5.25, transmitter=True)
    car_far_aside = _car(12.0, -5.25)

    paths = propagation_paths(
        AP_LOOKING_NORTH, _snapshot(transmitter, car_far_aside), EMPTY_SCENE, LOS_ONLY, 60e9
    )

    assert not bool(paths.blocked[0])


def test_segments_blocked_known_cases():
    # A 4.5 x 1.8 x 1.5 box centred at the origin.
    box = (_car(0.0, 0.0),)
    start = np.array([[0.0, -10.0, 1.0], [0.0, -10.0, 2.0], [0.0, -10.0, 1.0], [10.0, -10.0, 1.0]])
    end = np.array([[0.0, 10.0, 1.0], [0.0, 10.0, 2.0], [0.0, -2.0, 1.0], [10.0, 10.0, 1.0]])

    blocked = segments_blocked(start, end, box)

    # Through the body; above the roof; stopping short of it; passing 10 m beside it.
    np.testing.assert_array_equal(blocked, [True, False, False, False])


def test_ground_reflection_bounces_on_the_road_and_has_the_image_length():
    config = ChannelConfig(include_facades=False, include_scatterers=False)
    snapshot = _snapshot(_car(0.0, 0.0, transmitter=True))

    paths = propagation_paths(AP_LOOKING_NORTH, snapshot, EMPTY_SCENE, config, 60e9)

    assert paths.kind == ("los", "ground")
    image_distance = np.hypot(15.0, 1.6 + 1.6)  # AP to the antenna's mirror image below the road
    assert paths.length_m[1] == pytest.approx(image_distance)
    assert paths.elevation_rad[1] < 0
    # Amplitude relative to the line of sight: coefficient x Friis ratio x element pattern sqrt(cos(el)).
    element = np.sqrt(np.cos(np.arctan2(3.2, 15.0)))
    assert paths.amplitude[1] / paths.amplitude[0] == pytest.approx(
        -0.45 * 15.0 / image_distance * element, rel=1e-9
    )


def test_street_multipath_is_weaker_than_a_clear_line_of_sight():
    # Prepare: the full street (ground, facades, poles, corners), transmitter in view.
    scene = build_static_scene(StreetConfig())
    config = ChannelConfig()
    snapshot = _snapshot(_car(3.0, 1.75, transmitter=True))

    # Execute
    paths = propagation_paths(AP_LOOKING_NORTH, snapshot, scene, config, 60e9)

    # Assert: all path families present, each weaker than the line of sight.
    assert {"los", "ground", "facade", "scatterer"} <= set(paths.kind)
    assert np.all(np.abs(paths.amplitude[1:]) < paths.amplitude[0])


def test_line_of_sight_length_rate_is_the_closing_speed():
    # Prepare: the AP straight ahead of a car driving at it (+x), both antennas 1.6 m high; and a car
    # passing the AP looking north at its closest point.
    ap_east = ApPose(position_m=np.array([20.0, 0.0, 1.6]), boresight_azimuth_rad=np.pi)
    towards = _snapshot(_car(0.0, 0.0, transmitter=True))  # heading 0 = east, 10 m/s
    passing = _snapshot(_car(0.0, 0.0, transmitter=True))

    # Execute
    closing = propagation_paths(ap_east, towards, EMPTY_SCENE, LOS_ONLY, 60e9).length_rate_mps[0]
    sideways = propagation_paths(AP_LOOKING_NORTH, passing, EMPTY_SCENE, LOS_ONLY, 60e9).length_rate_mps[0]

    # Assert: the path shortens at the full speed; passing broadside it does not change.
    assert closing == pytest.approx(-10.0, abs=1e-12)
    assert sideways == pytest.approx(0.0, abs=1e-12)


def test_every_path_length_rate_matches_a_finite_difference():
    # Prepare: the full street (mirror and scatterer paths), the car 1 mm further along its heading.
    scene = build_static_scene(StreetConfig())
    dt = 1e-4  # seconds: 1 mm at 10 m/s
    before = _snapshot(_car(3.0, 1.75, transmitter=True))
    after = _snapshot(_car(3.0 + 10.0 * dt, 1.75, transmitter=True))

    # Execute
    paths = propagation_paths(AP_LOOKING_NORTH, before, scene, ChannelConfig(), 60e9)
    moved = propagation_paths(AP_LOOKING_NORTH, after, scene, ChannelConfig(), 60e9)

    # Assert: d(length)/dt from Fermat's principle equals the measured change for every path.
    assert moved.kind == paths.kind
    np.testing.assert_allclose((moved.length_m - paths.length_m) / dt, paths.length_rate_mps, atol=1e-3)


def test_thermal_noise_power_is_kt_b_f():
    config = ChannelConfig(bandwidth_hz=100e6, noise_figure_db=7.0)

    # -174 dBm/Hz + 80 dB + 7 dB = -87 dBm.
    assert 10 * np.log10(config.noise_power_mw) == pytest.approx(-87.0, abs=1e-9)
