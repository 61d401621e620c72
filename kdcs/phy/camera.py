"""Pinhole camera model and a fast synthetic renderer for the base-station street camera.

Camera frame: the camera sits at ApPose.position_m, looks along the AP boresight tilted down by
ApPose.downtilt_rad, with no roll. Image coordinates are pixel-centre coordinates: column u grows
to the right of the image, row v grows downwards, pixel (0, 0) is the centre of the top-left pixel,
so the boresight lands on ((W - 1) / 2, (H - 1) / 2).

The renderer paints, in order: sky gradient and ground plane (ray-cast per pixel, with the road,
its edge lines and dashed lane dividers), background boxes, then vehicles far-to-near (painter's
algorithm, visible box faces shaded by a fixed sun and hazed with distance), then scales by the
snapshot illumination and adds Gaussian sensor noise. Everything that does not move (sky, ground,
road, boxes) depends only on (config, pose, scene) and is memoised, so a frame costs only the
vehicles, the illumination and the noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import scipy.special
from PIL import Image, ImageDraw

from kdcs.phy.scene import ApPose, Snapshot, StaticScene, Vehicle

# Faces of the box returned by Vehicle.corners_m(); corner index = 4*length_side + 2*width_side + top.
# Each face lists its corners in cyclic order so it can be filled as a polygon.
BOX_FACES = np.array(
    [[0, 1, 3, 2], [4, 5, 7, 6], [0, 1, 5, 4], [2, 3, 7, 6], [0, 2, 6, 4], [1, 3, 7, 5]], dtype=np.int64
)
NEAR_PLANE_M = 0.1  # faces are clipped to depth >= this before projection
SUN_DIRECTION_WORLD = np.array([0.3, 0.4, 0.87]) / np.linalg.norm([0.3, 0.4, 0.87])
LANE_DASH_PERIOD_M = 9.0  # 3 m painted, 6 m gap (common urban dashed divider)
LANE_DASH_LENGTH_M = 3.0


@dataclass(frozen=True)
class CameraConfig:
    """Street camera intrinsics and scene appearance.

    Parameters
    ----------
    width_px, height_px: image size, pixels.
    horizontal_fov_rad: full horizontal field of view, radians (square pixels).
    jpeg_quality: quality the scenario writer uses when it encodes frames (1..100).
    noise_std: Gaussian sensor noise, gray levels (0..255 scale), per pixel and channel.
    sky_zenith_rgb, sky_horizon_rgb: sky gradient from the top row to the horizon.
    ground_rgb, road_rgb, marking_rgb: pavement beside the road, asphalt, paint.
    marking_width_m: width of the painted lines, metres.
    haze_rgb, haze_distance_m: colour things fade to, and the e-folding distance of that fade, metres.
    max_draw_distance_m: vehicles and boxes farther than this are not drawn, metres.
    """

    width_px: int = 320
    height_px: int = 180
    horizontal_fov_rad: float = float(np.deg2rad(90.0))
    jpeg_quality: int = 90
    noise_std: float = 2.0
    sky_zenith_rgb: tuple[int, int, int] = (105, 145, 195)
    sky_horizon_rgb: tuple[int, int, int] = (185, 195, 205)
    ground_rgb: tuple[int, int, int] = (110, 112, 95)
    road_rgb: tuple[int, int, int] = (68, 68, 72)
    marking_rgb: tuple[int, int, int] = (215, 215, 205)
    marking_width_m: float = 0.15
    haze_rgb: tuple[int, int, int] = (180, 186, 195)
    haze_distance_m: float = 150.0
    max_draw_distance_m: float = 400.0

    def __post_init__(self) -> None:
        if self.width_px <= 0 or self.height_px <= 0:
            raise ValueError(
                f"CameraConfig: image size must be positive, got {self.width_px}x{self.height_px}"
            )
        if not 0.0 < self.horizontal_fov_rad < np.pi:
            raise ValueError(
                f"CameraConfig.horizontal_fov_rad must lie in (0, pi), got {self.horizontal_fov_rad}"
            )
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"CameraConfig.jpeg_quality must lie in 1..100, got {self.jpeg_quality}")
        if self.noise_std < 0.0:
            raise ValueError(f"CameraConfig.noise_std must be >= 0, got {self.noise_std}")

    @property
    def focal_length_px(self) -> float:
        """Pinhole focal length in pixels, from the horizontal field of view."""
        return (self.width_px / 2.0) / np.tan(self.horizontal_fov_rad / 2.0)

    @property
    def principal_point_px(self) -> tuple[float, float]:
        """(u, v) of the boresight in pixel-centre coordinates."""
        return (self.width_px - 1) / 2.0, (self.height_px - 1) / 2.0


def camera_axes(pose: ApPose) -> np.ndarray:
    """[3, 3] rows = forward, right, up unit vectors of the camera, in the AP local frame.

    The local frame is x forward (boresight, horizontal), y left, z up; downtilt pitches forward down.
    """
    c, s = np.cos(pose.downtilt_rad), np.sin(pose.downtilt_rad)
    return np.array([[c, 0.0, -s], [0.0, -1.0, 0.0], [s, 0.0, c]])


def _to_camera(pose: ApPose, points_m: np.ndarray) -> np.ndarray:
    """World points [..., 3] -> camera coordinates [..., 3] = (depth, right, up), metres."""
    return pose.to_local(points_m) @ camera_axes(pose).T


def _camera_to_pixels(config: CameraConfig, cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Camera coordinates [..., 3] with depth > 0 -> pixel (u, v) [...]."""
    cu, cv = config.principal_point_px
    f = config.focal_length_px
    return cu + f * cam[..., 1] / cam[..., 0], cv - f * cam[..., 2] / cam[..., 0]


def project_points(
    config: CameraConfig, pose: ApPose, points_m: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pinhole projection of world points.

    Input: points_m [..., 3] world metres.
    Output: u_px [...] column (grows right), v_px [...] row (grows down), depth_m [...] distance along
    the optical axis, metres. Points with depth <= 0 are behind the camera; their u, v are NaN.
    """
    cam = _to_camera(pose, points_m)
    depth = cam[..., 0]
    safe = np.where(depth > 0.0, depth, np.nan)
    u, v = _camera_to_pixels(config, np.concatenate([safe[..., None], cam[..., 1:]], axis=-1))
    return u, v, depth


def _haze(rgb: np.ndarray, distance_m: np.ndarray | float, config: CameraConfig) -> np.ndarray:
    """Blend colours [..., 3] toward the haze colour with distance [...] metres (aerial perspective)."""
    weight = 1.0 - np.exp(-np.asarray(distance_m, dtype=np.float32) / config.haze_distance_m)
    haze = np.asarray(config.haze_rgb, dtype=np.float32)
    return rgb + weight[..., None] * (haze - rgb)


def _pixel_rays_local(config: CameraConfig, pose: ApPose) -> np.ndarray:
    """[H, W, 3] ray direction through each pixel centre, AP local frame (not normalised)."""
    cu, cv = config.principal_point_px
    f = config.focal_length_px
    right = (np.arange(config.width_px, dtype=np.float64) - cu) / f  # [W]
    up = -(np.arange(config.height_px, dtype=np.float64) - cv) / f  # [H]
    forward_axis, right_axis, up_axis = camera_axes(pose)
    return forward_axis + right[None, :, None] * right_axis + up[:, None, None] * up_axis


def _ground_points(config: CameraConfig, pose: ApPose) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each pixel's ray meets the ground plane z = 0.

    Output: world_x [H, W], world_y [H, W] metres and horizontal distance from the camera [H, W] metres;
    NaN for pixels whose ray does not go down (sky).
    """
    rays = _pixel_rays_local(config, pose)  # [H, W, 3]
    height_m = max(float(pose.position_m[2]), 1e-3)
    going_down = rays[..., 2] < -1e-6
    scale = np.where(going_down, height_m / np.where(going_down, -rays[..., 2], 1.0), np.nan)  # [H, W]
    forward, left = rays[..., 0] * scale, rays[..., 1] * scale
    c, s = np.cos(pose.boresight_azimuth_rad), np.sin(pose.boresight_azimuth_rad)
    world_x = pose.position_m[0] + c * forward - s * left
    world_y = pose.position_m[1] + s * forward + c * left
    return world_x, world_y, np.hypot(forward, left)


def _line_coverage(
    world_y: np.ndarray, footprint_m: np.ndarray, line_y_m: float, width_m: float
) -> np.ndarray:
    """Fraction [H, W] of each pixel's across-road footprint covered by a painted line (box filter).

    Thin far lines then fade instead of breaking up into aliased dots.
    """
    low = np.maximum(world_y - footprint_m / 2.0, line_y_m - width_m / 2.0)
    high = np.minimum(world_y + footprint_m / 2.0, line_y_m + width_m / 2.0)
    return np.clip((high - low) / footprint_m, 0.0, 1.0)


def _paint_coverage(
    world_x: np.ndarray, world_y: np.ndarray, scene: StaticScene, width_m: float
) -> np.ndarray:
    """[H, W] in 0..1: how much of each ground pixel is road paint (edge lines, dashed lane dividers)."""
    with np.errstate(invalid="ignore"):
        rows, cols = np.gradient(world_y)
    footprint = np.maximum(np.nan_to_num(np.abs(rows) + np.abs(cols), nan=1.0), 1e-6)
    world_y = np.nan_to_num(world_y, nan=1e9)  # sky pixels: far from every line
    edge_y = scene.road_half_width_m - width_m  # edge lines just inside the road border
    coverage = _line_coverage(world_y, footprint, edge_y, width_m)
    coverage = np.maximum(coverage, _line_coverage(world_y, footprint, -edge_y, width_m))
    centres = np.sort(np.asarray(scene.lane_centers_y_m, dtype=np.float64))
    dashed = np.mod(np.nan_to_num(world_x), LANE_DASH_PERIOD_M) < LANE_DASH_LENGTH_M
    for divider_y in (centres[1:] + centres[:-1]) / 2.0:  # paint between adjacent lanes, not where cars drive
        coverage = np.maximum(
            coverage, dashed * _line_coverage(world_y, footprint, float(divider_y), width_m)
        )
    return coverage


def _sky_and_ground(config: CameraConfig, pose: ApPose, scene: StaticScene) -> np.ndarray:
    """[H, W, 3] float32 background: sky gradient above the horizon, ray-cast ground and road below."""
    world_x, world_y, distance = _ground_points(config, pose)
    horizon_row = config.principal_point_px[1] - config.focal_length_px * np.tan(pose.downtilt_rad)
    rows = np.arange(config.height_px, dtype=np.float32) / np.float32(max(horizon_row, 1.0))
    rows = np.clip(rows, 0.0, 1.0)[:, None, None]  # 0 at the top row, 1 at the horizon and below
    zenith, horizon = (
        np.asarray(c, dtype=np.float32) for c in (config.sky_zenith_rgb, config.sky_horizon_rgb)
    )
    sky = np.broadcast_to(zenith + rows * (horizon - zenith), (*world_x.shape, 3))
    with np.errstate(invalid="ignore"):
        on_road = (np.abs(world_y) <= scene.road_half_width_m)[..., None]
    paint = (_paint_coverage(world_x, world_y, scene, config.marking_width_m) * on_road[..., 0])[..., None]
    road, ground, marking = (
        np.asarray(c, dtype=np.float32) for c in (config.road_rgb, config.ground_rgb, config.marking_rgb)
    )
    surface = np.where(on_road, road, ground)
    surface = surface + paint.astype(np.float32) * (marking - surface)
    surface = _haze(surface, np.nan_to_num(distance), config)
    return np.where(np.isnan(distance)[..., None], sky, surface).astype(np.float32)


def _clip_to_near_plane(cam: np.ndarray) -> np.ndarray:
    """Clip a convex polygon [n, 3] in camera coordinates to depth >= NEAR_PLANE_M (Sutherland-Hodgman).

    Output: [m, 3] clipped polygon, m may be 0.
    """
    inside = cam[:, 0] >= NEAR_PLANE_M
    if inside.all() or not inside.any():
        return cam if inside.all() else cam[:0]
    out = []
    for i in range(len(cam)):
        here, there = cam[i], cam[(i + 1) % len(cam)]
        if inside[i]:
            out.append(here)
        if inside[i] != inside[(i + 1) % len(cam)]:
            t = (NEAR_PLANE_M - here[0]) / (there[0] - here[0])
            out.append(here + t * (there - here))
    return np.asarray(out)


def _draw_box(
    draw: ImageDraw.ImageDraw, config: CameraConfig, pose: ApPose, corners_m: np.ndarray, rgb: np.ndarray
) -> None:
    """Fill the camera-facing faces of a box [8, 3] (Vehicle.corners_m order), shaded and hazed."""
    centre = corners_m.mean(axis=0)
    faces = corners_m[BOX_FACES]  # [6, 4, 3]
    face_centres = faces.mean(axis=1)  # [6, 3]
    normals = face_centres - centre
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-9)
    facing = np.einsum("fk,fk->f", normals, pose.position_m - face_centres) > 0.0  # back-face culling
    shade = 0.55 + 0.45 * np.clip(normals @ SUN_DIRECTION_WORLD, 0.0, 1.0)  # [6] ambient + diffuse
    distance = float(np.linalg.norm(centre - pose.position_m))
    cam_faces = _to_camera(pose, faces)  # [6, 4, 3]
    for face in np.flatnonzero(facing):
        polygon = _clip_to_near_plane(cam_faces[face])
        if len(polygon) < 3:
            continue
        u, v = _camera_to_pixels(config, polygon)
        colour = _haze(rgb * np.float32(shade[face]), distance, config)
        draw.polygon(
            list(zip(u.tolist(), v.tolist(), strict=True)), fill=tuple(int(x) for x in np.rint(colour))
        )


def _background_box_corners(box: np.ndarray) -> np.ndarray:
    """[8, 3] corners of a background box (x0, y0, x1, y1, height, gray) in Vehicle.corners_m order."""
    x0, y0, x1, y1, height = (float(value) for value in box[:5])
    return np.array([[x, y, z] for x in (x0, x1) for y in (y0, y1) for z in (0.0, height)])


def _static_layer_uncached(config: CameraConfig, pose: ApPose, scene: StaticScene) -> np.ndarray:
    """[H, W, 3] uint8 everything that does not move: sky, ground, road, background boxes."""
    image = Image.fromarray(np.clip(np.rint(_sky_and_ground(config, pose, scene)), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    boxes = np.asarray(scene.background_boxes, dtype=np.float64).reshape(-1, 6)
    corners = [_background_box_corners(box) for box in boxes]
    distances = [float(np.linalg.norm(c.mean(axis=0) - pose.position_m)) for c in corners]
    for index in np.argsort(distances)[::-1]:  # far to near
        if distances[index] <= config.max_draw_distance_m:
            gray = np.full(3, boxes[index, 5], dtype=np.float32)
            _draw_box(draw, config, pose, corners[index], gray)
    return np.asarray(image)


# Memo of static layers keyed by value (poses and scenes hold arrays, so they are not hashable
# themselves). A street scenario has a handful of APs, so a small bound is plenty.
_STATIC_LAYER_MEMO: dict[tuple, np.ndarray] = {}
_STATIC_LAYER_MEMO_SIZE = 16


def _static_layer(config: CameraConfig, pose: ApPose, scene: StaticScene) -> np.ndarray:
    """Memoised _static_layer_uncached; the returned array is read-only."""
    key = (
        config,
        np.asarray(pose.position_m, dtype=np.float64).tobytes(),
        float(pose.boresight_azimuth_rad),
        float(pose.downtilt_rad),
        float(scene.road_half_width_m),
        tuple(scene.lane_centers_y_m),
        np.asarray(scene.background_boxes, dtype=np.float64).tobytes(),
    )
    layer = _STATIC_LAYER_MEMO.get(key)
    if layer is None:
        layer = _static_layer_uncached(config, pose, scene)
        layer.setflags(write=False)
        if len(_STATIC_LAYER_MEMO) >= _STATIC_LAYER_MEMO_SIZE:
            _STATIC_LAYER_MEMO.pop(next(iter(_STATIC_LAYER_MEMO)))
        _STATIC_LAYER_MEMO[key] = layer
    return layer


def _vehicles_far_to_near(
    pose: ApPose, vehicles: tuple[Vehicle, ...], max_distance_m: float
) -> list[Vehicle]:
    """Vehicles within max_distance_m, sorted by distance from the camera, farthest first."""
    distances = [float(np.linalg.norm(np.asarray(v.position_m) - pose.position_m)) for v in vehicles]
    order = np.argsort(distances)[::-1]
    return [vehicles[i] for i in order if distances[i] <= max_distance_m]


_NOISE_TABLE_BITS = 16


@cache
def _normal_quantiles() -> np.ndarray:
    """[2**16] float32 standard normal quantiles at the probabilities (i + 0.5) / 2**16."""
    levels = 2**_NOISE_TABLE_BITS
    return scipy.special.ndtri((np.arange(levels) + 0.5) / levels).astype(np.float32)


def _standard_normal_noise(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Standard normal float32 noise [shape] by inverse-CDF lookup of uniform 16-bit integers.

    A frame needs ~170,000 draws; one rng.bytes call and a table lookup are ~4x faster than the
    float32 ziggurat and still Gaussian: probabilities are exact to 2**-16 and the tails end at 4.3
    sigma (8.6 gray levels at the default std, far below what JPEG and 8 bits keep).
    """
    count = int(np.prod(shape))
    indices = np.frombuffer(rng.bytes(2 * count), dtype="<u2")  # little-endian: same noise on every host
    return _normal_quantiles()[indices].reshape(shape)


def render_frame(
    config: CameraConfig, pose: ApPose, snapshot: Snapshot, scene: StaticScene, rng: np.random.Generator
) -> np.ndarray:
    """Render one camera frame of the street.

    Parameters
    ----------
    config: camera intrinsics and appearance.
    pose: camera position (metres) and orientation (boresight azimuth, downtilt, radians).
    snapshot: vehicles at this instant and the illumination factor (multiplies brightness).
    scene: road geometry and background boxes.
    rng: source of the sensor noise (not drawn from when config.noise_std == 0).

    Output: [height_px, width_px, 3] uint8 RGB.
    """
    if snapshot.illumination < 0.0:
        raise ValueError(
            f"Snapshot at t={snapshot.time_s} s has negative illumination {snapshot.illumination}"
        )
    image = Image.fromarray(_static_layer(config, pose, scene))  # PIL keeps its own copy of the pixels
    draw = ImageDraw.Draw(image)
    for vehicle in _vehicles_far_to_near(pose, snapshot.vehicles, config.max_draw_distance_m):
        _draw_box(draw, config, pose, vehicle.corners_m(), np.asarray(vehicle.color_rgb, dtype=np.float32))
    pixels = np.asarray(image, dtype=np.float32) * np.float32(snapshot.illumination)
    pixels += np.float32(0.5)  # so the truncating cast below rounds to nearest
    if config.noise_std > 0.0:
        noise = _standard_normal_noise(rng, pixels.shape)
        noise *= np.float32(config.noise_std)
        pixels += noise
    np.clip(pixels, 0.0, 255.0, out=pixels)
    return pixels.astype(np.uint8)
