"""The static street: road and lanes, poles and building corners, and where the K access points stand.

World frame (as in `kdcs.phy.scene`): x east along the road, y north across it, z up, metres.
Lanes south of the centre line carry eastbound traffic (+x), lanes north of it westbound.
Everything here is a deterministic function of the config: the same config gives the same street,
so every sequence of a scenario shares one scene and the manifest can record it exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kdcs.phy.scene import ApPose, Scatterer, StaticScene


@dataclass(frozen=True)
class StreetConfig:
    """Geometry of the street and of the access-point layout.

    Parameters
    ----------
    num_lanes: lanes in total, split evenly between the two directions (even number).
    lane_width_m: width of one lane, metres.
    sidewalk_width_m: width of each sidewalk, metres; poles stand on its kerb side.
    pole_spacing_m: distance between lamp poles along each sidewalk, metres.
    pole_reflection_coefficient: amplitude reflection of a pole at 60 GHz (0..1).
    corner_reflection_coefficient: amplitude reflection of a building corner (0..1).
    pole_rcs_m2, corner_rcs_m2: radar cross sections (channel scattering and radar echoes), m^2.
    street_half_length_m: the modelled street runs from -L to +L along x, metres.
    ap_span_m: the access points are spread over this length of street, centred on x = 0, metres.
    ap_setbacks_m: distance behind the kerb of successive APs (cycled), metres.
    ap_heights_m: heights of successive APs above the road (cycled), metres.
    ap_aim_fraction: each AP aims at the street centre line at x = fraction * its own x, so the
        outer APs look inwards and the fields of view overlap around x = 0.
    ap_poses: (x, y, height, boresight azimuth rad) of each AP, street frame; when given (a site
        fitted from recorded data) they replace the layout above (span, setbacks, heights, aim).
    """

    num_lanes: int = 4
    lane_width_m: float = 3.5
    sidewalk_width_m: float = 3.0
    pole_spacing_m: float = 16.0
    pole_reflection_coefficient: float = 0.25
    corner_reflection_coefficient: float = 0.35
    pole_rcs_m2: float = 1.0
    corner_rcs_m2: float = 5.0
    street_half_length_m: float = 80.0
    ap_span_m: float = 36.0
    ap_setbacks_m: tuple[float, ...] = (12.0, 17.0, 14.0, 19.0)
    ap_heights_m: tuple[float, ...] = (2.2, 2.6, 3.0, 2.4)
    ap_aim_fraction: float = 0.4
    ap_poses: tuple[tuple[float, float, float, float], ...] = ()

    @property
    def road_half_width_m(self) -> float:
        return self.num_lanes * self.lane_width_m / 2.0

    def lane_centers_y_m(self) -> tuple[float, ...]:
        """Lane centres from south to north, metres (negative y = eastbound)."""
        edges = np.arange(self.num_lanes) * self.lane_width_m - self.road_half_width_m
        return tuple(float(e + self.lane_width_m / 2.0) for e in edges)


def lane_direction(lane_center_y_m: float) -> float:
    """World heading of traffic in a lane: 0 (eastbound) south of the centre line, pi north of it."""
    return 0.0 if lane_center_y_m < 0 else float(np.pi)


def build_static_scene(config: StreetConfig) -> StaticScene:
    """The street with its lamp poles, building corners and building boxes for the camera.

    Output: a StaticScene; scatterers are poles (at 2 m height) every pole_spacing_m along both
    kerbs plus the building corners that face the street, background_boxes [K, 6] are buildings.
    """
    kerb = config.road_half_width_m + 0.5
    pole_x = np.arange(
        -config.street_half_length_m, config.street_half_length_m + 1e-9, config.pole_spacing_m
    )
    scatterers: list[Scatterer] = []
    for side, offset in ((-1.0, 0.0), (1.0, config.pole_spacing_m / 2.0)):
        for x in pole_x + offset:
            if abs(x) <= config.street_half_length_m:
                position = np.array([x, side * kerb, 2.0])
                scatterers.append(Scatterer(position, config.pole_reflection_coefficient, config.pole_rcs_m2))
    boxes = _building_boxes(config)
    for x0, y0, x1, y1, _, _ in boxes:
        facade_y = y1 if y1 < 0 else y0  # the face towards the road
        for corner_x in (x0, x1):
            position = np.array([corner_x, facade_y, 1.8])
            scatterers.append(Scatterer(position, config.corner_reflection_coefficient, config.corner_rcs_m2))
    return StaticScene(
        road_half_width_m=config.road_half_width_m,
        lane_centers_y_m=config.lane_centers_y_m(),
        scatterers=tuple(scatterers),
        background_boxes=boxes,
    )


def _building_boxes(config: StreetConfig) -> np.ndarray:
    """[K, 6] buildings behind both sidewalks: x0, y0, x1, y1, height m, gray level 0..255.

    Widths, gaps and heights follow a fixed pattern so the street has structure without randomness.
    """
    facade = config.road_half_width_m + config.sidewalk_width_m + max(config.ap_setbacks_m) + 1.0
    widths = (14.0, 9.0, 18.0, 11.0, 16.0)
    heights = (9.0, 14.0, 7.0, 20.0, 11.0)
    grays = (150.0, 120.0, 175.0, 100.0, 135.0)
    rows = []
    for side_index, side in enumerate((-1.0, 1.0)):
        x = -config.street_half_length_m + 3.0 * side_index
        k = side_index * 2
        while x < config.street_half_length_m:
            width = widths[k % len(widths)]
            x1 = min(x + width, config.street_half_length_m)
            y_near, y_far = side * facade, side * (facade + 12.0)
            rows.append([x, min(y_near, y_far), x1, max(y_near, y_far), heights[k % 5], grays[k % 5]])
            x = x1 + 3.0 + (k % 3)  # gaps between buildings
            k += 1
    return np.asarray(rows, dtype=np.float64)


def access_point_poses(num_aps: int, config: StreetConfig) -> list[ApPose]:
    """Poses of K access points on alternating sides of the street, all looking at its middle.

    AP k (0-based) stands at x spread evenly over ap_span_m, on the south side for even k and the
    north side for odd k, setback and height cycled from the config; its boresight points at the
    centre line at x = ap_aim_fraction * x_k, and its downtilt at the nearest lane's centre there.
    Explicit `ap_poses` (one per AP) are used as given, the downtilt again at the nearest lane's centre.
    Output: K ApPose.
    """
    if num_aps < 1:
        raise ValueError(f"num_aps must be at least 1, got {num_aps}")
    if config.ap_poses:
        if len(config.ap_poses) != num_aps:
            raise ValueError(f"street.ap_poses lists {len(config.ap_poses)} poses for {num_aps} APs")
        return [_explicit_pose(pose, config) for pose in config.ap_poses]
    xs = np.linspace(-config.ap_span_m / 2.0, config.ap_span_m / 2.0, num_aps) if num_aps > 1 else np.zeros(1)
    poses = []
    for k, x in enumerate(xs):
        side = -1.0 if k % 2 == 0 else 1.0
        setback = config.ap_setbacks_m[k % len(config.ap_setbacks_m)]
        height = config.ap_heights_m[k % len(config.ap_heights_m)]
        y = side * (config.road_half_width_m + config.sidewalk_width_m + setback)
        aim = np.array([config.ap_aim_fraction * x, 0.0])
        boresight = float(np.arctan2(aim[1] - y, aim[0] - x))
        ground_distance = float(np.hypot(aim[0] - x, aim[1] - y))
        downtilt = float(np.arctan2(height - 1.0, ground_distance))  # look at vehicle mid-height
        poses.append(ApPose(np.array([x, y, height]), boresight, downtilt))
    return poses


def _explicit_pose(pose: tuple[float, float, float, float], config: StreetConfig) -> ApPose:
    """An AP pose given as (x, y, height, boresight azimuth), looking down at the road's centre line."""
    x, y, height, boresight = (float(value) for value in pose)
    ground_distance = max(abs(y), config.lane_width_m / 2.0)  # to the centre line, across the street
    downtilt = float(np.arctan2(height - 1.0, ground_distance))  # look at vehicle mid-height
    return ApPose(np.array([x, y, height]), boresight, downtilt)
