"""Unit tests for the pinhole camera model and the synthetic street renderer."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from kdcs.phy.camera import CameraConfig, project_points, render_frame
from kdcs.phy.scene import ApPose, Snapshot, StaticScene, Vehicle

QUIET = CameraConfig(noise_std=0.0)
# Camera 15 m south of the road centre, 4 m up, looking north across the street, tilted 10 deg down.
ACROSS_STREET = ApPose(np.array([0.0, -15.0, 4.0]), np.pi / 2, np.deg2rad(10.0))
STREET = StaticScene(road_half_width_m=7.0, lane_centers_y_m=(-5.25, -1.75, 1.75, 5.25))


def _car(x_m: float, y_m: float, color: tuple[int, int, int] = (200, 20, 20)) -> Vehicle:
    return Vehicle(np.array([x_m, y_m, 0.0]), 0.0, 10.0, 4.5, 1.8, 1.5, color)


def _render(
    vehicles: tuple[Vehicle, ...], config: CameraConfig = QUIET, illumination: float = 1.0, seed: int = 0
):
    snapshot = Snapshot(0.0, vehicles, illumination)
    return render_frame(config, ACROSS_STREET, snapshot, STREET, np.random.default_rng(seed))


def _vehicle_mask(vehicles: tuple[Vehicle, ...]) -> np.ndarray:
    """[H, W] pixels that change when the vehicles are added to the empty street (noise off)."""
    difference = np.abs(_render(vehicles).astype(np.int16) - _render(()).astype(np.int16))
    return difference.sum(axis=2) > 0


def test_point_on_boresight_projects_to_image_centre():
    # Prepare: a point 10 m along the tilted boresight
    pose = ApPose(np.array([3.0, -4.0, 6.0]), 0.7, 0.2)
    direction = np.array([np.cos(0.2) * np.cos(0.7), np.cos(0.2) * np.sin(0.7), -np.sin(0.2)])
    # Execute
    u, v, depth = project_points(QUIET, pose, pose.position_m + 10.0 * direction)
    # Assert
    assert u == pytest.approx(159.5)
    assert v == pytest.approx(89.5)
    assert depth == pytest.approx(10.0)


def test_projection_known_values_and_directions():
    # Prepare: level camera at the origin looking along +x; 90 deg FoV on 320 px gives f = 160 px
    pose = ApPose(np.zeros(3), 0.0, 0.0)
    points = np.array([[10.0, -2.0, 0.0], [10.0, 2.0, 0.0], [10.0, 0.0, 1.0], [-5.0, 0.0, 0.0]])
    # Execute
    u, v, depth = project_points(QUIET, pose, points)
    # Assert: right of the camera (-y) is right in the image, up is up, behind is NaN
    np.testing.assert_allclose(u[:3], [159.5 + 32.0, 159.5 - 32.0, 159.5])
    np.testing.assert_allclose(v[:3], [89.5, 89.5, 89.5 - 16.0])
    np.testing.assert_allclose(depth, [10.0, 10.0, 10.0, -5.0])
    assert np.isnan(u[3]) and np.isnan(v[3])


def test_output_shape_and_dtype():
    # Prepare
    config = CameraConfig(width_px=96, height_px=54)
    # Execute
    frame = _render((_car(0.0, 0.0),), config=config)
    # Assert
    assert frame.shape == (54, 96, 3)
    assert frame.dtype == np.uint8


def test_vehicle_column_moves_monotonically_with_bearing():
    # Prepare: looking north, a car further east (larger x) is further right in the image
    positions_x = np.linspace(-10.0, 10.0, 9)
    # Execute
    columns = []
    for x in positions_x:
        mask = _vehicle_mask((_car(x, 0.0),))
        columns.append(np.nonzero(mask)[1].mean())
    # Assert
    assert np.all(np.diff(columns) > 0.0)
    assert columns[0] < 100 < 220 < columns[-1]


def test_nearer_vehicle_looks_bigger():
    # Prepare: same car in the near lane and in the far lane
    near, far = _car(0.0, -5.25), _car(0.0, 5.25)
    # Execute
    near_pixels = _vehicle_mask((near,)).sum()
    far_pixels = _vehicle_mask((far,)).sum()
    # Assert: distance ratio about 2 (10.5 m vs 20.6 m) makes the area about 4x
    assert near_pixels > 2.5 * far_pixels > 0


def test_nearer_vehicle_hides_farther_one():
    # Prepare: a low camera, and a blue car right in front of a red one on the same bearing
    pose = ApPose(np.array([0.0, -15.0, 1.0]), np.pi / 2, 0.0)
    far_red, near_blue = _car(0.0, 5.25, (200, 20, 20)), _car(0.0, -5.25, (20, 20, 200))
    # Execute: painter's order must not depend on the order vehicles are listed in
    frames = [
        render_frame(QUIET, pose, Snapshot(0.0, cars), STREET, np.random.default_rng(0))
        for cars in ((near_blue, far_red), (far_red, near_blue))
    ]
    # Assert: where the far car would be, the near car is seen
    np.testing.assert_array_equal(frames[0], frames[1])
    u, v, _ = project_points(QUIET, pose, np.array([0.0, 5.25, 0.75]))
    pixel = frames[0][int(round(float(v))), int(round(float(u)))].astype(int)
    assert pixel[2] > pixel[0] + 60


def test_far_vehicles_are_hazier():
    # Prepare: a black car at 10 m and at 80 m
    near_car, far_car = _car(0.0, -5.25, (0, 0, 0)), _car(0.0, 65.0, (0, 0, 0))
    # Execute
    near_frame, far_frame = _render((near_car,)), _render((far_car,))
    near_mean = near_frame[_vehicle_mask((near_car,))].mean()
    far_mean = far_frame[_vehicle_mask((far_car,))].mean()
    # Assert: farther is lighter (blended toward the haze colour)
    assert far_mean > near_mean + 20.0


def test_illumination_scales_brightness():
    # Prepare
    cars = (_car(-3.0, -1.75), _car(6.0, 1.75, (30, 160, 30)))
    # Execute
    bright = _render(cars, illumination=1.0).astype(np.float64)
    dim = _render(cars, illumination=0.5).astype(np.float64)
    # Assert
    assert dim.mean() / bright.mean() == pytest.approx(0.5, abs=0.01)


def test_render_is_deterministic_for_a_seed():
    # Prepare
    noisy = CameraConfig(noise_std=3.0)
    cars = (_car(0.0, 1.75),)
    # Execute
    first = _render(cars, config=noisy, seed=7)
    again = _render(cars, config=noisy, seed=7)
    other = _render(cars, config=noisy, seed=8)
    # Assert
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert (first.astype(float) - _render(cars).astype(float)).std() == pytest.approx(3.0, rel=0.15)


def test_static_layer_is_not_modified_by_vehicles():
    # Prepare
    empty_before = _render(())
    # Execute
    _render((_car(0.0, 0.0), _car(5.0, -5.25)))
    empty_after = _render(())
    # Assert
    np.testing.assert_array_equal(empty_before, empty_after)


def test_vehicle_behind_or_straddling_camera():
    # Prepare: one car behind the camera, one whose box straddles the camera plane
    behind = _car(0.0, -25.0)
    straddling = Vehicle(np.array([0.0, -14.0, 0.0]), np.pi / 2, 0.0, 4.5, 1.8, 1.5, (20, 20, 200))
    # Execute
    behind_frame = _render((behind,))
    straddling_frame = _render((straddling,))
    # Assert: the first is invisible, the second fills the bottom of the frame in its colour
    np.testing.assert_array_equal(behind_frame, _render(()))
    bottom_centre = straddling_frame[-5, 160].astype(int)
    assert bottom_centre[2] > bottom_centre[0] + 50


def test_background_box_and_lane_divider_are_drawn():
    # Prepare: camera down the road (+x); a dark building ahead right beyond the road, a divider at y = 0
    pose = ApPose(np.array([0.0, 0.0, 5.0]), 0.0, np.deg2rad(20.0))
    scene = StaticScene(
        7.0, (-1.75, 1.75), background_boxes=np.array([[30.0, -20.0, 40.0, -10.0, 15.0, 20.0]])
    )
    frame = render_frame(QUIET, pose, Snapshot(0.0, ()), scene, np.random.default_rng(0))
    # Execute
    u, v, _ = project_points(QUIET, pose, np.array([[35.0, -10.0, 7.0], [10.5, 0.0, 0.0], [10.5, 1.0, 0.0]]))
    box_pixel, paint_pixel, road_pixel = (
        frame[int(round(vv)), int(round(uu))].astype(int) for uu, vv in zip(u, v, strict=True)
    )
    # Assert
    assert box_pixel.max() < 60
    assert paint_pixel.mean() > road_pixel.mean() + 80


@pytest.mark.parametrize(
    "field, value",
    [("width_px", 0), ("horizontal_fov_rad", 3.5), ("jpeg_quality", 0), ("noise_std", -1.0)],
)
def test_bad_config_is_rejected_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field if field != "width_px" else "image size"):
        dataclasses.replace(QUIET, **{field: value})
