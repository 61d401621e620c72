"""Diffuse multipath around the transmitting car: a cluster of weak paths close to the line of sight.

The street's specular paths (`kdcs.phy.channel`) arrive from directions far from the line of sight,
so they barely touch its main lobe. What does touch it is the clutter near the car itself: its own
body, the road surface around it, kerbs and signs it passes. Seen from an AP tens of metres away
these re-radiated paths arrive within a few degrees of the line of sight (a Rician channel with a
small angular spread, as mmWave street measurements report), inside the same main lobe. Their
phases against the line of sight change by many turns between samples (the car moves tens of
wavelengths in 0.11 s), and during one beam sweep they keep turning at their Doppler offsets, so the
lobe that a sweep reads is bent and tilted differently every time: the best beam jitters by a
beam or two around the geometric one, which sensing cannot foresee and beam history cannot smooth.

The cluster shares the line of sight's fate: it is blocked when the line of sight is.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from kdcs.phy.channel import PropagationPaths


@dataclass(frozen=True)
class LocalScatteringConfig:
    """The cluster of diffuse paths around the transmitting car.

    Parameters
    ----------
    rician_k_factor_db: power of the line of sight over the whole cluster's, dB.
    angle_spread_deg: RMS azimuth offset of the cluster's paths from the line of sight, degrees
        (Laplacian, as cluster angles in 3GPP TR 38.901).
    num_paths: number of paths in the cluster (0 = no cluster).
    """

    rician_k_factor_db: float = 3.0
    angle_spread_deg: float = 3.5
    num_paths: int = 8


@dataclass(frozen=True)
class ScatteringCluster:
    """One cluster's fixed shape for a whole pass (one sequence, one AP).

    azimuth_offsets_rad [K]: each path's azimuth minus the line of sight's; doppler_cosines [K]:
    cosine of the angle between the car's heading and the direction from the path's clutter to
    the car (the path's length changes at speed * cosine).
    """

    azimuth_offsets_rad: np.ndarray
    doppler_cosines: np.ndarray


def draw_cluster(config: LocalScatteringConfig, rng: np.random.Generator) -> ScatteringCluster:
    """A cluster shape: Laplacian azimuth offsets with the configured RMS, uniform Doppler cosines."""
    scale = np.deg2rad(config.angle_spread_deg) / np.sqrt(2.0)  # a Laplacian's RMS is sqrt(2) * scale
    offsets = rng.laplace(0.0, scale, size=config.num_paths)
    return ScatteringCluster(offsets, rng.uniform(-1.0, 1.0, size=config.num_paths))


def add_local_scattering(
    paths: PropagationPaths,
    cluster: ScatteringCluster,
    config: LocalScatteringConfig,
    speed_mps: float,
    wavelength_m: float,
    rng: np.random.Generator,
) -> PropagationPaths:
    """The paths with the cluster appended after them (path 0 stays the line of sight).

    Each cluster path carries 1 / (K * num_paths) of the line of sight's power (K the Rician
    factor), arrives at the line of sight's elevation and azimuth plus its offset, with a phase
    drawn afresh for this sample (uniform: a length offset within one wavelength) and a length
    rate speed * cosine.
    Output: PropagationPaths with P + num_paths paths, kind "cluster" for the new ones.
    """
    count = len(cluster.azimuth_offsets_rad)
    if count == 0:
        return paths
    share = np.sqrt(10.0 ** (-config.rician_k_factor_db / 10.0) / count)
    los = 0  # index of the line of sight
    return replace(
        paths,
        azimuth_rad=np.concatenate([paths.azimuth_rad, paths.azimuth_rad[los] + cluster.azimuth_offsets_rad]),
        elevation_rad=np.concatenate([paths.elevation_rad, np.full(count, paths.elevation_rad[los])]),
        length_m=np.concatenate(
            [paths.length_m, paths.length_m[los] + rng.uniform(0.0, wavelength_m, size=count)]
        ),
        amplitude=np.concatenate([paths.amplitude, np.full(count, share * paths.amplitude[los])]),
        length_rate_mps=np.concatenate([paths.length_rate_mps, speed_mps * cluster.doppler_cosines]),
        blocked=np.concatenate([paths.blocked, np.full(count, paths.blocked[los])]),
        kind=(*paths.kind, *(("cluster",) * count)),
    )
