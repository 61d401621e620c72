"""The measured beam sweep: noise statistics, the channel moving during the sweep, neighbour swaps."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from kdcs.phy.array import BeamCodebook, UniformLinearArray
from kdcs.phy.beam_sweep import BeamSweepConfig, measure_beam_sweep, swept_beam_amplitudes
from kdcs.phy.channel import ChannelConfig, PropagationPaths, channel_from_paths

CODEBOOK = BeamCodebook(UniformLinearArray(16, 0.5, 60e9), num_beams=64, field_of_view_rad=np.deg2rad(90.0))
CHANNEL = ChannelConfig()
NOISE_FREE = BeamSweepConfig(include_noise=False)


def _paths(azimuths_deg, amplitudes, rates=None, lengths=None) -> PropagationPaths:
    count = len(azimuths_deg)
    return PropagationPaths(
        azimuth_rad=np.deg2rad(np.asarray(azimuths_deg, dtype=np.float64)),
        elevation_rad=np.zeros(count),
        length_m=np.asarray(lengths if lengths is not None else 20.0 + np.arange(count) * 1.234, dtype=float),
        amplitude=np.asarray(amplitudes, dtype=np.float64),
        length_rate_mps=np.asarray(rates if rates is not None else np.zeros(count), dtype=np.float64),
        blocked=np.zeros(count, dtype=bool),
        kind=("los",) + ("cluster",) * (count - 1),
    )


def _line_of_sight(azimuth_deg: float, snr_db: float) -> PropagationPaths:
    """One path whose matched-beam power is snr_db over the thermal noise."""
    power_mw = CHANNEL.noise_power_mw * 10 ** (snr_db / 10)
    tx_mw = 10 ** (CHANNEL.tx_power_dbm / 10)
    amplitude = np.sqrt(power_mw / (tx_mw * CODEBOOK.array.num_antennas))  # matched beam gains N
    return _paths([azimuth_deg], [amplitude])


def _swap_rate(paths: PropagationPaths, sweep: BeamSweepConfig, count: int = 300) -> float:
    """Fraction of sweeps whose argmax differs from the noise-free argmax."""
    rng = np.random.default_rng(0)
    clean = int(np.argmax(measure_beam_sweep(CODEBOOK, paths, CHANNEL, NOISE_FREE, rng)))
    best = [int(np.argmax(measure_beam_sweep(CODEBOOK, paths, CHANNEL, sweep, rng))) for _ in range(count)]
    return float(np.mean(np.array(best) != clean))


def test_a_near_frozen_sweep_reads_the_combined_channel_power():
    # Prepare: three paths turning at different rates, read over a sweep too short for them to turn.
    paths = _paths([10.0, -20.0, 3.0], [1e-4, 3e-5, -2e-5], rates=[-8.0, 3.0, 0.5])
    instant = dataclasses.replace(NOISE_FREE, sweep_duration_s=1e-12)

    # Execute
    swept = measure_beam_sweep(CODEBOOK, paths, CHANNEL, instant, np.random.default_rng(0))

    # Assert: per-beam phases (the moving sweep's code path) agree with one channel vector h.
    h = channel_from_paths(CODEBOOK.array, paths, CHANNEL)
    expected = np.abs(CODEBOOK.weights.conj() @ h) ** 2
    np.testing.assert_allclose(swept, expected, rtol=1e-9, atol=1e-9 * expected.max())


def test_without_signal_every_beam_reads_the_noise_power_with_scatter_one_over_root_m():
    # Prepare: no path at all, M = 100 snapshots per reading, 500 sweeps of 64 beams.
    sweep = BeamSweepConfig(snapshots_per_beam=100)
    silent = _paths([0.0], [0.0])
    rng = np.random.default_rng(1)

    # Execute
    readings = np.stack([measure_beam_sweep(CODEBOOK, silent, CHANNEL, sweep, rng) for _ in range(500)])

    # Assert: mean N, relative std 1/sqrt(M) = 0.1 (32,000 readings: both within 2%).
    noise = CHANNEL.noise_power_mw
    assert readings.mean() == pytest.approx(noise, rel=0.02)
    assert readings.std() / noise == pytest.approx(0.1, rel=0.02)


def test_a_signal_reads_signal_plus_noise_on_average():
    # Prepare: the matched beam 6 dB over the noise (S = 3.98 N).
    paths = _line_of_sight(0.0, 6.0)
    clean = measure_beam_sweep(CODEBOOK, paths, CHANNEL, NOISE_FREE, np.random.default_rng(0))
    sweep = BeamSweepConfig(snapshots_per_beam=50)
    rng = np.random.default_rng(2)

    # Execute
    readings = np.stack([measure_beam_sweep(CODEBOOK, paths, CHANNEL, sweep, rng) for _ in range(2000)])

    # Assert: E[P_b] = S_b + N, and var = (N^2 + 2 S_b N) / M on the best beam.
    noise, best = CHANNEL.noise_power_mw, int(np.argmax(clean))
    np.testing.assert_allclose(readings.mean(axis=0), clean + noise, rtol=0.02)
    expected_std = np.sqrt((noise**2 + 2 * clean[best] * noise) / 50)
    assert readings[:, best].std() == pytest.approx(expected_std, rel=0.05)


def test_more_sweep_noise_swaps_neighbouring_beams_more_often():
    # Prepare: a line of sight halfway between two beams' angles (their powers are close).
    halfway = np.rad2deg(np.mean(CODEBOOK.beam_angles_rad[40:42]))
    paths = _line_of_sight(float(halfway) + 0.2, 8.0)

    # Execute: fewer snapshots per beam, then a weaker signal.
    steady = _swap_rate(paths, BeamSweepConfig(snapshots_per_beam=400))
    noisy = _swap_rate(paths, BeamSweepConfig(snapshots_per_beam=25))
    weak = _swap_rate(_line_of_sight(float(halfway) + 0.2, 2.0), BeamSweepConfig(snapshots_per_beam=400))

    # Assert
    assert steady < noisy and steady < weak
    assert noisy > 0.2


def test_a_single_path_reads_the_same_however_long_the_sweep():
    # Only the phases of paths against each other shape the sweep: one path has no partner.
    paths = _paths([12.0], [1e-4], rates=[-9.0])

    frozen = measure_beam_sweep(CODEBOOK, paths, CHANNEL, NOISE_FREE, np.random.default_rng(0))
    slow = measure_beam_sweep(
        CODEBOOK,
        paths,
        CHANNEL,
        dataclasses.replace(NOISE_FREE, sweep_duration_s=0.05),
        np.random.default_rng(0),
    )

    np.testing.assert_allclose(slow, frozen, rtol=1e-9)


def test_paths_turning_against_each_other_during_the_sweep_change_the_readings():
    # Prepare: two paths 3 degrees apart in the same main lobe, one closing at 10 m/s, the other not.
    sweep = dataclasses.replace(NOISE_FREE, sweep_duration_s=0.01)
    same_rate = _paths([10.0, 13.0], [1e-4, 5e-5], rates=[-10.0, -10.0])
    other_rate = _paths([10.0, 13.0], [1e-4, 5e-5], rates=[-10.0, 0.0])

    # Execute
    frozen = measure_beam_sweep(CODEBOOK, other_rate, CHANNEL, NOISE_FREE, np.random.default_rng(0))
    common = measure_beam_sweep(CODEBOOK, same_rate, CHANNEL, sweep, np.random.default_rng(0))
    turning = measure_beam_sweep(CODEBOOK, other_rate, CHANNEL, sweep, np.random.default_rng(0))

    # Assert: a common rate only turns the overall phase; a differential one reshapes the lobe.
    np.testing.assert_allclose(common, frozen, rtol=1e-9)
    assert np.max(np.abs(10 * np.log10(turning / frozen))) > 1.0


def test_beams_are_read_in_codebook_order_centred_on_the_time_stamp():
    offsets = BeamSweepConfig(sweep_duration_s=0.0063).beam_time_offsets_s(64)

    assert offsets[0] == pytest.approx(-0.00315) and offsets[-1] == pytest.approx(0.00315)
    assert np.all(np.diff(offsets) > 0) and offsets.mean() == pytest.approx(0.0, abs=1e-15)
    assert swept_beam_amplitudes(CODEBOOK, _paths([0.0], [1e-4]), CHANNEL, NOISE_FREE).shape == (64,)
