"""The access point's mmWave receive array and its beam codebook.

A horizontal uniform linear array (ULA) lies along the AP's local y axis (to the left of the
boresight), so its broadside is the boresight. A plane wave from azimuth `az` (0 = boresight,
+ = left) and elevation `el` advances its phase by 2*pi*u per element with
u = spacing_wavelengths * sin(az) * cos(el): the same convention as the radar's angle FFT
(`kdcs.phy.fmcw.angle_bin_centers_rad`), so "+ = left" means the same thing everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kdcs.phy.fmcw import SPEED_OF_LIGHT_MPS


@dataclass(frozen=True)
class UniformLinearArray:
    """A ULA of isotropic elements, phase-centred on the array middle.

    Parameters
    ----------
    num_antennas: number of elements N (DeepSense: 16).
    spacing_wavelengths: element spacing in carrier wavelengths (0.5 = half wavelength).
    carrier_frequency_hz: carrier frequency, Hz (DeepSense: 60 GHz).
    """

    num_antennas: int = 16
    spacing_wavelengths: float = 0.5
    carrier_frequency_hz: float = 60e9

    @property
    def wavelength_m(self) -> float:
        return SPEED_OF_LIGHT_MPS / self.carrier_frequency_hz

    def element_offsets(self) -> np.ndarray:
        """[N] element positions along the array axis, in wavelengths, centred on zero."""
        n = np.arange(self.num_antennas, dtype=np.float64)
        return (n - (self.num_antennas - 1) / 2.0) * self.spacing_wavelengths

    def spatial_frequency(
        self, azimuth_rad: np.ndarray, elevation_rad: np.ndarray | float = 0.0
    ) -> np.ndarray:
        """Phase advance per element in cycles, u = spacing * sin(az) * cos(el). Shape follows the inputs."""
        az = np.asarray(azimuth_rad, dtype=np.float64)
        el = np.asarray(elevation_rad, dtype=np.float64)
        return self.spacing_wavelengths * np.sin(az) * np.cos(el)

    def steering_vector(self, azimuth_rad: np.ndarray, elevation_rad: np.ndarray | float = 0.0) -> np.ndarray:
        """Unit-norm array response to plane waves.

        Input: azimuth [...] rad (0 = boresight, + = left); elevation [...] rad or a scalar.
        Output: [..., N] complex128 with ||a|| = 1. Multiply by sqrt(N) for the element-gain response.
        """
        az = np.asarray(azimuth_rad, dtype=np.float64)
        el = np.broadcast_to(np.asarray(elevation_rad, dtype=np.float64), az.shape)
        sin_term = np.sin(az) * np.cos(el)  # [...]
        phase = 2.0 * np.pi * sin_term[..., None] * self.element_offsets()  # [..., N]
        return np.exp(1j * phase) / np.sqrt(self.num_antennas)


@dataclass(frozen=True)
class BeamCodebook:
    """An oversampled DFT-style codebook: beams evenly spaced in sin(azimuth) across a field of view.

    Even spacing in u = sin(az) (not in angle) is what a DFT codebook does: every beam then has the
    same main-lobe width in u, so neighbouring beams cross at the same gain everywhere in the view.
    Beam 0 points to the right edge (-fov/2), the last beam to the left edge (+fov/2).

    Parameters
    ----------
    array: the receive array the weights are for.
    num_beams: number of beams (DeepSense: 64).
    field_of_view_rad: full azimuth span covered, radians, centred on the boresight.
    """

    array: UniformLinearArray
    num_beams: int = 64
    field_of_view_rad: float = np.deg2rad(90.0)

    def __post_init__(self) -> None:
        if not 0.0 < self.field_of_view_rad < np.pi:
            raise ValueError(f"field_of_view_rad must be in (0, pi), got {self.field_of_view_rad}")
        if self.num_beams < 2:
            raise ValueError(f"num_beams must be at least 2, got {self.num_beams}")

    @property
    def beam_angles_rad(self) -> np.ndarray:
        """[num_beams] pointing azimuth of each beam, radians, increasing (right to left)."""
        edge = np.sin(self.field_of_view_rad / 2.0)
        return np.arcsin(np.linspace(-edge, edge, self.num_beams))

    @property
    def weights(self) -> np.ndarray:
        """[num_beams, N] complex unit-norm combining vectors w_b (matched to each beam's angle)."""
        return self.array.steering_vector(self.beam_angles_rad)

    def gains(self, azimuth_rad: np.ndarray, elevation_rad: np.ndarray | float = 0.0) -> np.ndarray:
        """Normalised beamforming gain |w_b^H a(az)|^2 in [0, 1].

        Input: azimuth [...] rad. Output: [..., num_beams] (1 = full array gain N, relative).
        """
        response = self.array.steering_vector(azimuth_rad, elevation_rad)  # [..., N]
        return np.abs(response @ self.weights.conj().T) ** 2  # [..., num_beams]

    def nearest_beam(self, azimuth_rad: np.ndarray) -> np.ndarray:
        """0-based index of the beam whose pointing angle is closest in sin(azimuth). Shape follows input."""
        u = np.sin(np.asarray(azimuth_rad, dtype=np.float64))
        beam_u = np.sin(self.beam_angles_rad)
        return np.abs(u[..., None] - beam_u).argmin(axis=-1)
