"""Diffuse multipath around the transmitting car: cluster shape, power share, and the beam jitter it causes."""

from __future__ import annotations

import numpy as np
import pytest

from kdcs.phy.array import BeamCodebook, UniformLinearArray
from kdcs.phy.beam_sweep import BeamSweepConfig, measure_beam_sweep
from kdcs.phy.channel import ChannelConfig, PropagationPaths
from kdcs.phy.local_scattering import LocalScatteringConfig, add_local_scattering, draw_cluster

CODEBOOK = BeamCodebook(UniformLinearArray(16, 0.5, 60e9), num_beams=64, field_of_view_rad=np.deg2rad(90.0))
WAVELENGTH = CODEBOOK.array.wavelength_m
ON_BEAM_40_DEG = float(np.rad2deg(CODEBOOK.beam_angles_rad[40]))  # a line of sight right on a beam


def _street_paths(blocked: bool = False) -> PropagationPaths:
    """A line of sight right on beam 40 and a ground bounce, as `propagation_paths` would return."""
    return PropagationPaths(
        azimuth_rad=np.deg2rad([ON_BEAM_40_DEG, ON_BEAM_40_DEG]),
        elevation_rad=np.deg2rad([0.0, -8.0]),
        length_m=np.array([25.0, 25.2]),
        amplitude=np.array([2e-4, -8e-5]),
        length_rate_mps=np.array([-3.0, -2.9]),
        blocked=np.array([blocked, blocked]),
        kind=("los", "ground"),
    )


def test_cluster_offsets_have_the_configured_rms_spread():
    config = LocalScatteringConfig(angle_spread_deg=3.0, num_paths=20_000)

    cluster = draw_cluster(config, np.random.default_rng(0))

    rms_deg = np.rad2deg(np.sqrt(np.mean(cluster.azimuth_offsets_rad**2)))
    assert rms_deg == pytest.approx(3.0, rel=0.05)
    assert np.all(np.abs(cluster.doppler_cosines) <= 1.0)


def test_the_cluster_carries_one_over_k_of_the_line_of_sight_power_and_shares_its_fate():
    # Prepare: K = 6 dB, 8 paths, behind a blocked line of sight.
    config = LocalScatteringConfig(rician_k_factor_db=6.0, angle_spread_deg=2.0, num_paths=8)
    rng = np.random.default_rng(1)
    paths = _street_paths(blocked=True)

    # Execute
    out = add_local_scattering(paths, draw_cluster(config, rng), config, 12.0, WAVELENGTH, rng)

    # Assert: the street's paths come first and unchanged; the cluster sits at the LoS elevation.
    cluster = slice(2, None)
    assert out.kind == ("los", "ground") + ("cluster",) * 8
    np.testing.assert_array_equal(out.amplitude[:2], paths.amplitude)
    assert np.sum(out.amplitude[cluster] ** 2) == pytest.approx(paths.amplitude[0] ** 2 / 10**0.6, rel=1e-12)
    assert np.all(out.blocked[cluster]) and np.all(out.elevation_rad[cluster] == paths.elevation_rad[0])
    assert np.all(np.abs(out.length_rate_mps[cluster]) <= 12.0)
    assert np.all((out.length_m[cluster] >= 25.0) & (out.length_m[cluster] < 25.0 + WAVELENGTH))


def test_no_cluster_paths_leaves_the_paths_alone():
    config = LocalScatteringConfig(num_paths=0)
    rng = np.random.default_rng(2)
    paths = _street_paths()

    assert add_local_scattering(paths, draw_cluster(config, rng), config, 10.0, WAVELENGTH, rng) is paths


def test_a_stronger_cluster_makes_the_best_beam_jitter_more_around_the_line_of_sight():
    # Prepare: noise off, the same geometry sampled 300 times (a fresh cluster phase each sample).
    channel, sweep = ChannelConfig(), BeamSweepConfig(include_noise=False)
    line_of_sight_beam = 40

    def on_line_of_sight(k_factor_db: float) -> float:
        config = LocalScatteringConfig(rician_k_factor_db=k_factor_db, angle_spread_deg=3.0, num_paths=8)
        rng = np.random.default_rng(3)
        cluster = draw_cluster(config, rng)
        hits = []
        for _ in range(300):
            paths = add_local_scattering(_street_paths(), cluster, config, 10.0, WAVELENGTH, rng)
            hits.append(
                np.argmax(measure_beam_sweep(CODEBOOK, paths, channel, sweep, rng)) == line_of_sight_beam
            )
        return float(np.mean(hits))

    # Execute / Assert: without a cluster the label is the geometric beam; the stronger it is, the less.
    weak, strong = on_line_of_sight(20.0), on_line_of_sight(0.0)
    assert weak > 0.95
    assert strong < weak - 0.2
