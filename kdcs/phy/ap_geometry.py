"""Where an access point's beams point in the shared physical frame, and back.

A beam index names a direction of one AP's codebook: beam 17 of AP1 and beam 17 of AP2 look at
different places. Positions in the world frame (x east, y north, z up, metres; `kdcs.phy.scene`)
mean the same thing to every AP, so knowledge exchanged as positions can be turned into each AP's
own beams through its geometry: its pose (position, boresight azimuth), its array and codebook,
and whether its beam indices run right to left (kdcs's codebook) or left to right (`mirrored`, as
a real AP's numbering may).

Positions with Gaussian uncertainty map to the *expected* beamforming gain of every beam,
E[|w_b^H a(direction(x))|^2] over x ~ N(mean, diag(std^2)). The gain is a fast-varying function of
position (a beam is ~1 degree wide, a metre of uncertainty at 20 m is ~3 degrees), too bumpy for
Gauss-Hermite quadrature, so the expectation is a quasi-Monte Carlo mean over a Fibonacci lattice
of normal points, with the gain in closed form (the ULA's Fejer kernel, equal to the codebook's
|w^H a|^2). The AP's element pattern is left out: it scales all beams of one direction alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kdcs.phy.array import BeamCodebook
from kdcs.phy.scene import ApPose

# Lattice points of the expectation (a Fibonacci number, with its predecessor as generator): within
# 6e-3 of a 40,000-sample Monte Carlo mean at 3 m spread (tests/unit/test_phy_ap_geometry.py).
LATTICE_POINTS, LATTICE_GENERATOR = 610, 377


def normal_lattice(points: int = LATTICE_POINTS, generator: int = LATTICE_GENERATOR) -> np.ndarray:
    """[points, 2] a Fibonacci lattice in the unit square mapped to standard normal coordinates."""
    from scipy.special import ndtri  # inverse normal CDF

    i = np.arange(points)
    unit = np.stack([(i + 0.5) / points, ((i * generator) % points + 0.5) / points], axis=-1)
    return ndtri(unit)


def wrap_angle(angle_rad: np.ndarray | float) -> np.ndarray:
    """Angles wrapped to [-pi, pi). Shape follows the input."""
    return (np.asarray(angle_rad, dtype=np.float64) + np.pi) % (2.0 * np.pi) - np.pi


@dataclass(frozen=True)
class ApGeometry:
    """One AP's pose and codebook: the map between world positions and its beam indices.

    Parameters
    ----------
    name: the AP's name (e.g. "ap1"), for messages.
    pose: position_m [3] (world metres) and boresight_azimuth_rad (world, CCW from +x).
    codebook: the AP's receive codebook (beam b points at codebook.beam_angles_rad[b], + = left).
    mirrored: True when beam indices run left to right (beam b points at -beam_angles_rad[b]).
    target_height_m: height of the vehicle antenna the beams look at, metres (sets elevation).
    """

    name: str
    pose: ApPose
    codebook: BeamCodebook
    mirrored: bool = False
    target_height_m: float = 1.6

    @property
    def num_beams(self) -> int:
        return self.codebook.num_beams

    @property
    def beam_local_azimuths_rad(self) -> np.ndarray:
        """[B] azimuth of each beam in the AP frame, rad (0 = boresight, + = left)."""
        angles = self.codebook.beam_angles_rad
        return -angles if self.mirrored else angles

    def beam_world_azimuths_rad(self) -> np.ndarray:
        """[B] world azimuth (CCW from +x, wrapped to [-pi, pi)) each beam points at."""
        return wrap_angle(self.pose.boresight_azimuth_rad + self.beam_local_azimuths_rad)

    def beam_of_local_azimuth(self, azimuth_rad: np.ndarray) -> np.ndarray:
        """0-based beam nearest (in sin(azimuth)) to AP-frame azimuths [...]. Output: [...] int64."""
        return self.codebook.nearest_beam(self._codebook_azimuth(azimuth_rad)).astype(np.int64)

    def beam_of_world_azimuth(self, azimuth_rad: np.ndarray) -> np.ndarray:
        """0-based beam nearest to world azimuths [...] (directions behind the AP fold to the front,
        as they do for a linear array). Output: [...] int64."""
        return self.beam_of_local_azimuth(
            wrap_angle(np.asarray(azimuth_rad) - self.pose.boresight_azimuth_rad)
        )

    def local_directions(self, positions_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Azimuth and elevation (AP frame, rad) of world points.

        Input: [..., 2] (east, north; the antenna at target_height_m) or [..., 3] world metres.
        Output: azimuth [...], elevation [...].
        """
        points = self._points_3d(positions_m)
        _, azimuth, elevation = self.pose.range_azimuth_elevation(points)
        return azimuth, elevation

    def nearest_beam(self, positions_m: np.ndarray) -> np.ndarray:
        """The beam pointing closest to each world point [..., 2 or 3]. Output: [...] int64."""
        azimuth, _ = self.local_directions(positions_m)
        return self.beam_of_local_azimuth(azimuth)

    def beam_gains(self, positions_m: np.ndarray) -> np.ndarray:
        """Normalised gain |w_b^H a|^2 in [0, 1] of every beam towards world points.

        Input: [..., 2 or 3] world metres. Output: [..., B], in this AP's beam order.
        """
        azimuth, elevation = self.local_directions(positions_m)
        return self.gains_towards(azimuth, elevation)

    def gains_towards(self, azimuth_rad: np.ndarray, elevation_rad: np.ndarray | float = 0.0) -> np.ndarray:
        """|w_b^H a(az, el)|^2 of every beam for AP-frame directions [...]; Output: [..., B].

        Closed form (equal to `BeamCodebook.gains`, ~16x cheaper): with s = sin(az) cos(el) and beam
        b formed at s_b, the normalised gain is the Fejer kernel of N d (s - s_b).
        """
        array = self.codebook.array
        azimuth = self._codebook_azimuth(azimuth_rad)
        s = np.sin(azimuth) * np.cos(np.asarray(elevation_rad, dtype=np.float64))  # [...]
        phase = np.pi * array.spacing_wavelengths * (s[..., None] - np.sin(self.codebook.beam_angles_rad))
        numerator = np.sin(array.num_antennas * phase)
        denominator = array.num_antennas * np.sin(phase)
        small = np.abs(denominator) < 1e-12  # s - s_b a multiple of 1/d: the full main lobe
        ratio = np.where(small, 1.0, numerator / np.where(small, 1.0, denominator))
        return ratio**2

    def expected_beam_gains(self, mean_m: np.ndarray, std_m: np.ndarray) -> np.ndarray:
        """E[gain_b(x)] for x ~ N(mean, diag(std^2)) in the ground plane (east, north).

        Input: mean [..., 2] metres; std [..., 2] metres (>= 0; broadcast against mean).
        Output: [..., B] expected normalised gain, in this AP's beam order.
        """
        mean = np.asarray(mean_m, dtype=np.float64)
        std = np.broadcast_to(np.asarray(std_m, dtype=np.float64), mean.shape)
        if np.any(~np.isfinite(mean)) or np.any(~np.isfinite(std)) or np.any(std < 0):
            raise ValueError(f"{self.name}: position means must be finite and std finite and >= 0")
        points = mean[..., None, :] + std[..., None, :] * normal_lattice()  # [..., Q, 2]
        return self.beam_gains(points).mean(axis=-2)

    # ------------------------------------------------------------------ helpers

    def _points_3d(self, positions_m: np.ndarray) -> np.ndarray:
        points = np.asarray(positions_m, dtype=np.float64)
        if points.shape[-1] == 3:
            return points
        if points.shape[-1] != 2:
            raise ValueError(
                f"{self.name}: positions must end in 2 (east, north) or 3 (x, y, z), got {points.shape}"
            )
        height = np.full(points.shape[:-1] + (1,), self.target_height_m)
        return np.concatenate([points, height], axis=-1)

    def _codebook_azimuth(self, azimuth_rad: np.ndarray) -> np.ndarray:
        """AP-frame azimuth as the codebook sees it: mirrored beam b points at -angle_b, so it is
        the codebook's beam b for the mirror image of the direction."""
        azimuth = np.asarray(azimuth_rad, dtype=np.float64)
        return -azimuth if self.mirrored else azimuth
