from __future__ import annotations

import math

import pytest
import torch

from kdcs.distill.losses.rkd_park import RelationalKDLoss, normalised_pairwise_distances, triplet_angles

# three points on a line (0, 1, 3) against an equilateral triangle
LINE = torch.tensor([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]], dtype=torch.float64)
TRIANGLE = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.5, math.sqrt(3) / 2, 0.0]], dtype=torch.float64)


def _embeddings(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_identical_embeddings_give_zero():
    embeddings = _embeddings(0, 8, 16)

    assert RelationalKDLoss()(embeddings, embeddings.clone()).item() == pytest.approx(0.0, abs=1e-9)


def test_distance_term_known_value():
    # line distances 1, 3, 2 (mean 2) -> 0.5, 1.5, 1.0; triangle -> 1, 1, 1; huber(0.5) = 0.125
    loss = RelationalKDLoss(distance_weight=1.0, angle_weight=0.0)

    assert loss(LINE, TRIANGLE).item() == pytest.approx((0.125 + 0.125 + 0.0) / 3)


def test_angle_term_known_value():
    # line: cos = +1 at both ends (4 ordered triplets), -1 in the middle (2); triangle: 0.5 everywhere
    # huber(0.5) = 0.125, huber(1.5) = 1.5 - 0.5 = 1.0
    loss = RelationalKDLoss(distance_weight=0.0, angle_weight=1.0)

    assert loss(LINE, TRIANGLE).item() == pytest.approx((4 * 0.125 + 2 * 1.0) / 6)


def test_triplet_angles_skip_degenerate_triplets():
    assert triplet_angles(TRIANGLE).shape == (6,)
    assert torch.allclose(triplet_angles(TRIANGLE), torch.full((6,), 0.5, dtype=torch.float64))


@pytest.mark.parametrize("weights", [(1.0, 0.0), (0.0, 1.0), (1.0, 2.0)])
def test_unchanged_when_either_side_is_scaled(weights):
    loss = RelationalKDLoss(*weights)
    student, teacher = _embeddings(1, 8, 16), _embeddings(2, 8, 32)

    reference = loss(student, teacher).item()

    assert reference > 0
    assert loss(7.5 * student, teacher).item() == pytest.approx(reference, rel=1e-9)
    assert loss(student, 0.01 * teacher).item() == pytest.approx(reference, rel=1e-9)


def test_distances_are_normalised_by_their_mean():
    assert normalised_pairwise_distances(_embeddings(3, 6, 4)).mean().item() == pytest.approx(1.0)


def test_sequence_features_are_flattened_per_sample():
    sequence = _embeddings(4, 5, 3, 4)

    assert RelationalKDLoss()(sequence, sequence.reshape(5, 12)).item() == pytest.approx(0.0, abs=1e-9)


def test_gradients_reach_student_not_teacher():
    student = _embeddings(5, 6, 4).requires_grad_()
    teacher = _embeddings(6, 6, 8).requires_grad_()

    RelationalKDLoss()(student, teacher).backward()

    assert student.grad is not None and teacher.grad is None


def test_park_defaults():
    loss = RelationalKDLoss()

    assert (loss.distance_weight, loss.angle_weight) == (1.0, 2.0)
