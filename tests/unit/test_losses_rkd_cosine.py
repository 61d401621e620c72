from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from kdcs.distill.losses.rkd_cosine import RelationalCosineKDLoss, sample_partners


def _embeddings(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_identical_embeddings_give_zero():
    embeddings = _embeddings(0, 8, 2, 16)

    assert RelationalCosineKDLoss()(embeddings, embeddings.clone()).item() == pytest.approx(0.0, abs=1e-9)


def test_all_pairs_matches_a_hand_computation_on_the_full_matrices():
    student, teacher = _embeddings(1, 4, 3), _embeddings(2, 4, 5)
    loss = RelationalCosineKDLoss(partners_per_anchor=None, distance_weight=1.0, angle_weight=2.0, scale=10.0)
    off_diagonal = ~torch.eye(4, dtype=torch.bool)

    def relations(x):
        distances = torch.cdist(x, x)[off_diagonal]
        cosines = F.cosine_similarity(x[:, None], x[None, :], dim=-1)[off_diagonal]
        return distances / distances.mean(), cosines

    (ds, cs), (dt, ct) = relations(student), relations(teacher)
    expected = 10.0 * (((ds - dt) ** 2).mean() + 2.0 * ((cs - ct) ** 2).mean())

    assert loss(student, teacher).item() == pytest.approx(expected.item(), rel=1e-9)


def test_unchanged_when_student_is_scaled():
    loss_a = RelationalCosineKDLoss(seed=3)
    loss_b = RelationalCosineKDLoss(seed=3)
    student, teacher = _embeddings(4, 8, 16), _embeddings(5, 8, 16)

    assert loss_a(student, teacher).item() == pytest.approx(loss_b(4.0 * student, teacher).item(), rel=1e-9)


def test_each_anchor_gets_k_distinct_partners_other_than_itself():
    pairs = sample_partners(6, 4, torch.Generator().manual_seed(0))

    assert pairs.shape == (24, 2)
    for anchor in range(6):
        partners = pairs[pairs[:, 0] == anchor, 1].tolist()
        assert len(set(partners)) == 4 and anchor not in partners


def test_partner_count_clamps_to_the_batch():
    assert sample_partners(3, 4, torch.Generator().manual_seed(0)).shape == (6, 2)


def test_reference_defaults():
    loss = RelationalCosineKDLoss()

    assert (loss.partners_per_anchor, loss.distance_weight, loss.angle_weight, loss.scale) == (
        4,
        1.0,
        2.0,
        10.0,
    )


def test_gradients_reach_student_not_teacher():
    student = _embeddings(6, 8, 4).requires_grad_()
    teacher = _embeddings(7, 8, 4).requires_grad_()

    RelationalCosineKDLoss()(student, teacher).backward()

    assert student.grad is not None and teacher.grad is None
