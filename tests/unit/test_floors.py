from __future__ import annotations

import numpy as np

from kdcs.eval.floors import floor_rankings, linear_fit_centers, rank_around, repeat_last_centers


def test_rank_around_orders_by_distance():
    assert rank_around(np.array(5.0), 64, 5).tolist() == [5, 4, 6, 3, 7]
    assert rank_around(np.array(5.4), 64, 3).tolist() == [5, 6, 4]
    assert rank_around(np.array(0.0), 64, 3).tolist() == [0, 1, 2]


def test_repeat_last_uses_previous_beam_of_same_sequence():
    beam = np.array([3, 4, 6, 9, 20, 22])
    seq = np.array([1, 1, 1, 1, 2, 2])
    centers = repeat_last_centers(beam, seq, np.array([3, 5]), horizon=2)
    assert centers.tolist() == [[6, 6, 6], [20, 20, 20]]


def test_linear_fit_extrapolates_a_ramp_exactly():
    beam = np.arange(0, 40, 2)  # 2 beams per slot
    seq = np.ones_like(beam)
    centers = linear_fit_centers(beam, seq, np.array([10]), history=8, horizon=3)
    np.testing.assert_allclose(centers[0], [20, 22, 24, 26])


def test_linear_fit_ignores_rows_of_previous_sequence():
    beam = np.array([50, 50, 50, 10, 11, 12, 13])
    seq = np.array([1, 1, 1, 2, 2, 2, 2])
    centers = linear_fit_centers(beam, seq, np.array([6]), history=5, horizon=0)
    np.testing.assert_allclose(centers[0], [13.0])


def test_floor_rankings_shapes_and_clipping():
    beam = np.arange(0, 64, 4)
    seq = np.ones_like(beam)
    out = floor_rankings(beam, seq, np.array([15]), history=8, horizon=3, num_beams=64)
    assert out["repeat_last"].shape == (1, 4, 10)
    assert out["linear_fit"][0, :, 0].tolist() == [60, 63, 63, 63]  # 60, 64, 68, 72 clipped to 63
