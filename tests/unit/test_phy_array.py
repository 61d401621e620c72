"""Uniform linear array and beam codebook: norms, conventions and field-of-view coverage."""

from __future__ import annotations

import numpy as np
import pytest

from kdcs.phy.array import BeamCodebook, UniformLinearArray
from kdcs.phy.fmcw import angle_bin_centers_rad


def test_steering_vectors_have_unit_norm():
    # Prepare
    array = UniformLinearArray(num_antennas=16, spacing_wavelengths=0.5, carrier_frequency_hz=60e9)
    azimuth = np.random.default_rng(0).uniform(-np.pi / 2, np.pi / 2, size=(7, 5))
    elevation = np.random.default_rng(1).uniform(-0.5, 0.5, size=(7, 5))

    # Execute
    vectors = array.steering_vector(azimuth, elevation)

    # Assert
    assert vectors.shape == (7, 5, 16)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=-1), 1.0, rtol=1e-12)


def test_broadside_steering_vector_is_in_phase():
    vector = UniformLinearArray(num_antennas=8).steering_vector(np.array(0.0))

    np.testing.assert_allclose(vector, np.full(8, 1 / np.sqrt(8)), atol=1e-12)


def test_positive_azimuth_is_left_like_the_radar_angle_fft():
    # Prepare: a wave from 20 degrees left, analysed with the radar's fftshifted angle FFT.
    array = UniformLinearArray(num_antennas=16, spacing_wavelengths=0.5)
    azimuth = np.deg2rad(20.0)

    # Execute
    spectrum = np.abs(np.fft.fftshift(np.fft.fft(array.steering_vector(np.array(azimuth)), n=256)))
    peak_angle = angle_bin_centers_rad(256, 0.5)[np.argmax(spectrum)]

    # Assert: same sign and within one FFT bin of the true angle.
    assert peak_angle == pytest.approx(azimuth, abs=np.deg2rad(0.6))


def test_wavelength_at_60_ghz():
    assert UniformLinearArray(carrier_frequency_hz=60e9).wavelength_m == pytest.approx(4.99654e-3, rel=1e-5)


def test_codebook_shapes_and_angles():
    codebook = BeamCodebook(UniformLinearArray(16), num_beams=64, field_of_view_rad=np.deg2rad(90.0))

    angles = codebook.beam_angles_rad
    weights = codebook.weights

    assert weights.shape == (64, 16)
    np.testing.assert_allclose(np.linalg.norm(weights, axis=1), 1.0, rtol=1e-12)
    assert np.all(np.diff(angles) > 0)
    assert angles[0] == pytest.approx(-np.pi / 4) and angles[-1] == pytest.approx(np.pi / 4)


@pytest.mark.parametrize("fov_deg", [60.0, 90.0, 120.0])
def test_codebook_covers_its_field_of_view(fov_deg):
    # Prepare: a dense grid of directions across the field of view.
    codebook = BeamCodebook(UniformLinearArray(16), num_beams=64, field_of_view_rad=np.deg2rad(fov_deg))
    half = np.deg2rad(fov_deg) / 2
    directions = np.linspace(-half, half, 2001)

    # Execute
    best_gain_db = 10 * np.log10(codebook.gains(directions).max(axis=1))

    # Assert: every direction has a beam within 1 dB of the full array gain.
    assert best_gain_db.min() > -1.0


def test_codebook_does_not_cover_far_outside_its_field_of_view():
    codebook = BeamCodebook(UniformLinearArray(16), num_beams=64, field_of_view_rad=np.deg2rad(90.0))

    best_gain_db = 10 * np.log10(codebook.gains(np.deg2rad(np.array([75.0, -75.0]))).max(axis=1))

    assert np.all(best_gain_db < -6.0)


def test_each_beam_is_its_own_nearest_beam_and_its_own_best_beam():
    codebook = BeamCodebook(UniformLinearArray(16), num_beams=64)

    nearest = codebook.nearest_beam(codebook.beam_angles_rad)
    best = codebook.gains(codebook.beam_angles_rad).argmax(axis=1)

    np.testing.assert_array_equal(nearest, np.arange(64))
    np.testing.assert_array_equal(best, np.arange(64))


def test_codebook_rejects_an_impossible_field_of_view():
    with pytest.raises(ValueError, match="field_of_view_rad"):
        BeamCodebook(UniformLinearArray(16), field_of_view_rad=4.0)
