"""AP geometry: beams <-> directions <-> positions, against the channel model's own line of sight."""

from __future__ import annotations

import numpy as np
import pytest

from kdcs.data.synthetic import SynthConfig
from kdcs.phy.ap_geometry import ApGeometry, wrap_angle
from kdcs.phy.channel import ChannelConfig, channel_from_paths, propagation_paths
from kdcs.phy.scene import Snapshot, Vehicle
from kdcs.phy.street import access_point_poses, build_static_scene

DEFAULT = SynthConfig()


def default_geometries(mirrored: bool = False) -> list[ApGeometry]:
    poses = access_point_poses(DEFAULT.num_aps, DEFAULT.street)
    height = DEFAULT.traffic.transmitter_antenna_height_m
    return [
        ApGeometry(f"ap{k + 1}", pose, DEFAULT.codebook, mirrored, height) for k, pose in enumerate(poses)
    ]


@pytest.mark.parametrize("mirrored", [False, True])
def test_beam_to_direction_to_beam_round_trips_at_every_ap(mirrored):
    for geometry in default_geometries(mirrored):
        # Execute: each beam's pointing direction in the world, then the beam nearest it
        beams = geometry.beam_of_world_azimuth(geometry.beam_world_azimuths_rad())

        # Assert
        np.testing.assert_array_equal(beams, np.arange(geometry.num_beams), err_msg=geometry.name)


def test_mirrored_codebook_reverses_the_beam_order():
    plain, mirrored = default_geometries()[0], default_geometries(mirrored=True)[0]
    # random directions inside the view (no exact ties between two beams)
    azimuths = np.random.default_rng(0).uniform(-0.7, 0.7, 200) + plain.pose.boresight_azimuth_rad

    np.testing.assert_array_equal(
        mirrored.beam_of_world_azimuth(azimuths), 63 - plain.beam_of_world_azimuth(azimuths)
    )


def test_beam_pointing_is_boresight_plus_codebook_angle():
    geometry = default_geometries()[1]

    world = geometry.beam_world_azimuths_rad()

    expected = wrap_angle(geometry.pose.boresight_azimuth_rad + DEFAULT.codebook.beam_angles_rad)
    np.testing.assert_allclose(world, expected, atol=1e-12)
    assert np.all(np.diff(np.unwrap(world)) > 0), "beams run right to left (increasing azimuth)"


def line_of_sight_beam(geometry: ApGeometry, position_xy: np.ndarray) -> int:
    """The strongest beam of the channel model with only the line-of-sight path, no noise."""
    config = ChannelConfig(include_ground_reflection=False, include_facades=False, include_scatterers=False)
    car = Vehicle(
        np.array([*position_xy, 0.0]), 0.0, 10.0, 4.5, 1.8, 1.5, (200, 0, 0), True, geometry.target_height_m
    )
    scene = build_static_scene(DEFAULT.street)
    paths = propagation_paths(geometry.pose, Snapshot(0.0, (car,)), scene, config, 60e9)
    channel = channel_from_paths(DEFAULT.codebook.array, paths, config)
    return int(np.argmax(np.abs(DEFAULT.codebook.weights.conj() @ channel) ** 2))


def test_line_of_sight_position_maps_to_the_argmax_beam_at_every_ap():
    # Prepare: the transmitter at points along every lane of the street
    lanes = DEFAULT.street.lane_centers_y_m()
    points = [np.array([x, y]) for y in lanes for x in np.arange(-60.0, 61.0, 7.5)]

    for geometry in default_geometries():
        # the points this AP's codebook covers (outside its field of view every beam is a side lobe)
        azimuth, _ = geometry.local_directions(np.stack(points))
        seen = np.stack(points)[np.abs(azimuth) <= DEFAULT.codebook.field_of_view_rad / 2]
        assert len(seen) >= 20, geometry.name

        # Execute
        argmax = np.array([line_of_sight_beam(geometry, p) for p in seen])
        nearest = geometry.nearest_beam(seen)
        strongest_gain = geometry.beam_gains(seen).argmax(axis=-1)

        # Assert: geometry alone names the beam the channel model finds strongest, within one beam
        assert np.abs(nearest - argmax).max() <= 1, geometry.name
        assert np.abs(strongest_gain - argmax).max() <= 1, geometry.name


@pytest.mark.parametrize("mirrored", [False, True])
def test_closed_form_gains_equal_the_codebook_gains(mirrored):
    geometry = default_geometries(mirrored)[3]
    rng = np.random.default_rng(1)
    azimuth, elevation = rng.uniform(-1.5, 1.5, 300), rng.uniform(-0.3, 0.3, 300)

    gains = geometry.gains_towards(azimuth, elevation)

    expected = DEFAULT.codebook.gains(-azimuth if mirrored else azimuth, elevation)
    np.testing.assert_allclose(gains, expected, atol=1e-12)


def test_expected_gains_with_zero_spread_are_the_gains():
    geometry = default_geometries()[2]
    means = np.array([[-10.0, -5.25], [3.0, 1.75], [20.0, 5.25]])

    np.testing.assert_allclose(
        geometry.expected_beam_gains(means, 0.0), geometry.beam_gains(means), atol=1e-12
    )


def test_expected_gains_agree_with_monte_carlo():
    # Prepare: a position known to within a few metres
    geometry = default_geometries()[0]
    mean, std = np.array([4.0, -1.75]), np.array([3.0, 1.0])
    samples = mean + std * np.random.default_rng(0).normal(size=(40_000, 2))

    # Execute
    quadrature = geometry.expected_beam_gains(mean, std)
    monte_carlo = geometry.beam_gains(samples).mean(axis=0)

    # Assert: quadrature within the Monte Carlo error, and wider than the gain at the mean
    np.testing.assert_allclose(quadrature, monte_carlo, atol=6e-3)
    assert quadrature.max() < geometry.beam_gains(mean).max()


def test_expected_gains_refuse_negative_spread():
    with pytest.raises(ValueError, match="std"):
        default_geometries()[0].expected_beam_gains(np.zeros(2), np.array([1.0, -1.0]))
