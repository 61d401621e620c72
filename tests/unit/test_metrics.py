from __future__ import annotations

import numpy as np
import pytest

from kdcs.eval.metrics import (
    beam_distance_histogram,
    dba_score,
    dba_y3_term,
    power_loss_db,
    rank_scores,
    summarize,
    topk_accuracy,
)


def test_rank_scores_orders_best_first():
    scores = np.array([[[0.1, 0.7, 0.2]]])
    assert rank_scores(scores).tolist() == [[[1, 2, 0]]]


def test_topk_known_values():
    # two windows, one slot; window 0 hit at rank 1, window 1 hit at rank 3
    ranked = np.array([[[5, 1, 2, 3, 4, 6, 7, 8, 9, 10]], [[0, 1, 7, 3, 4, 6, 2, 8, 9, 10]]])
    target = np.array([[5], [7]])
    acc = topk_accuracy(ranked, target)
    assert acc[1].tolist() == [0.5]
    assert acc[2].tolist() == [0.5]
    assert acc[3].tolist() == [1.0]


def test_topk_needs_enough_ranks():
    with pytest.raises(ValueError, match="top-10"):
        topk_accuracy(np.zeros((1, 1, 3), int), np.zeros((1, 1), int))


def test_dba_perfect_and_far_predictions():
    target = np.array([[10], [20]])
    perfect = np.stack([target + d for d in (0, 1, 2)], axis=-1)
    far = np.stack([target + d for d in (30, 31, 32)], axis=-1)
    assert dba_score(perfect, target).tolist() == [1.0]
    assert dba_score(far, target).tolist() == [0.0]


def test_dba_official_is_below_y3_term():
    # first guess 2 off, third guess exact: Y1 = 1 - 0.4, Y2 = 1 - 0.4 (second guess 3 off), Y3 = 1
    ranked = np.array([[[12, 13, 10]]])
    target = np.array([[10]])
    assert dba_y3_term(ranked, target)[0] == pytest.approx(1.0)
    assert dba_score(ranked, target)[0] == pytest.approx((0.6 + 0.6 + 1.0) / 3)


def test_power_loss_zero_for_best_beam_and_known_ratio():
    power = np.array([[[1.0, 10.0, 100.0]]])
    assert power_loss_db(np.array([[2]]), power)[0] == pytest.approx(0.0)
    assert power_loss_db(np.array([[1]]), power)[0] == pytest.approx(-10.0)


def test_distance_histogram_and_summary_shapes():
    chosen = np.array([[1, 5], [3, 30]])
    target = np.array([[1, 4], [1, 2]])
    assert beam_distance_histogram(chosen, target, 3).tolist() == [1, 1, 1, 1]
    ranked = np.tile(np.arange(10), (4, 2, 1))
    out = summarize(ranked, np.zeros((4, 2), int), power=np.ones((4, 2, 64)))
    assert out["top1"]["per_slot"] == [1.0, 1.0]
    assert set(out) >= {"top1", "top5", "top10", "dba", "dba_y3_term", "power_loss_db", "num_windows"}
    assert out["beam_distance_histogram"][0] == 8 and sum(out["beam_distance_histogram"]) == 8  # all exact
