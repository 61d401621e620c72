"""Scene types shared by the channel, camera and radar models.

World frame: a flat street, x east along the road, y north across it, z up, metres.
Every sensor lives at an access point (AP) with a pose; angles seen from an AP are
measured in its local frame: azimuth 0 along the boresight, positive to the left
(counter-clockwise seen from above), elevation positive upwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ApPose:
    """Where an access point stands and where it looks.

    Parameters
    ----------
    position_m: [3] x, y, z of the array / camera / radar phase centre, metres.
    boresight_azimuth_rad: world azimuth of the boresight, radians, CCW from +x.
    downtilt_rad: how far the boresight points below the horizon, radians (camera and radar).
    """

    position_m: np.ndarray
    boresight_azimuth_rad: float
    downtilt_rad: float = 0.0

    def to_local(self, points_m: np.ndarray) -> np.ndarray:
        """Rotate world points into the AP frame (x forward along boresight, y left, z up).

        Input: [..., 3] world metres. Output: [..., 3] local metres (no downtilt applied).
        """
        delta = np.asarray(points_m, dtype=np.float64) - self.position_m
        c, s = np.cos(self.boresight_azimuth_rad), np.sin(self.boresight_azimuth_rad)
        x = c * delta[..., 0] + s * delta[..., 1]
        y = -s * delta[..., 0] + c * delta[..., 1]
        return np.stack([x, y, delta[..., 2]], axis=-1)

    def range_azimuth_elevation(self, points_m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Spherical coordinates of world points seen from the AP.

        Output: range [m], azimuth [rad, 0 = boresight, + = left], elevation [rad, + = up].
        """
        local = self.to_local(points_m)
        rng = np.linalg.norm(local, axis=-1)
        azimuth = np.arctan2(local[..., 1], local[..., 0])
        elevation = np.arcsin(np.clip(local[..., 2] / np.maximum(rng, 1e-9), -1.0, 1.0))
        return rng, azimuth, elevation


@dataclass(frozen=True)
class Vehicle:
    """One vehicle at one instant. position_m is the centre of its footprint on the ground."""

    position_m: np.ndarray  # [3] metres, z = 0 on the road surface
    heading_rad: float  # world azimuth of travel direction
    speed_mps: float
    length_m: float
    width_m: float
    height_m: float
    color_rgb: tuple[int, int, int]
    is_transmitter: bool = False
    antenna_height_m: float = 1.5  # above the road, for the transmitter

    @property
    def antenna_position_m(self) -> np.ndarray:
        return np.array([self.position_m[0], self.position_m[1], self.antenna_height_m])

    def corners_m(self) -> np.ndarray:
        """[8, 3] corners of the vehicle's bounding box in world metres."""
        c, s = np.cos(self.heading_rad), np.sin(self.heading_rad)
        half_l, half_w = self.length_m / 2, self.width_m / 2
        out = []
        for dl in (-half_l, half_l):
            for dw in (-half_w, half_w):
                for z in (0.0, self.height_m):
                    out.append(
                        [self.position_m[0] + c * dl - s * dw, self.position_m[1] + s * dl + c * dw, z]
                    )
        return np.asarray(out)


@dataclass(frozen=True)
class Scatterer:
    """A static point reflector (pole, sign, building corner) for channel and radar."""

    position_m: np.ndarray  # [3]
    reflection_coefficient: float  # amplitude, 0..1
    radar_cross_section_m2: float = 1.0


@dataclass(frozen=True)
class StaticScene:
    """Everything that does not move: road, lanes, static scatterers and background boxes."""

    road_half_width_m: float
    lane_centers_y_m: tuple[float, ...]
    scatterers: tuple[Scatterer, ...] = ()
    # Background boxes (buildings, trees) for the camera: [K, 6] x0, y0, x1, y1, height, gray level.
    background_boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 6)))


@dataclass(frozen=True)
class Snapshot:
    """The dynamic scene at one sample time; vehicles[0] is the transmitting vehicle (unit2)."""

    time_s: float
    vehicles: tuple[Vehicle, ...]
    illumination: float = 1.0  # multiplicative brightness, ~0.6 (dusk) .. 1.2 (bright sun)

    @property
    def transmitter(self) -> Vehicle:
        return self.vehicles[0]
