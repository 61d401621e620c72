from __future__ import annotations

import pytest
import torch

from kdcs.distill.losses.cross_modal import CrossModalKDLoss
from kdcs.distill.losses.logit_kd import LogitKDLoss


def _tensor(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def test_zero_when_embeddings_and_logits_agree():
    loss = CrossModalKDLoss(student_dim=8, teacher_dim=8)
    logits, embedding = _tensor(0, 2, 4, 64), _tensor(1, 2, 8)

    assert loss(logits, logits.clone(), embedding, embedding.clone()).item() == pytest.approx(0.0, abs=1e-6)


def test_sum_of_weighted_embedding_and_logit_terms():
    # orthogonal embeddings: ||n(a) - n(b)||^2 = 2; the logit part equals logit KD on the same slots
    loss = CrossModalKDLoss(
        student_dim=2, teacher_dim=2, temperature=4.0, embedding_weight=0.5, logit_weight=3.0
    )
    student_logits, teacher_logits = _tensor(2, 2, 4, 64), _tensor(3, 2, 4, 64)
    student_embedding = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    teacher_embedding = torch.tensor([[0.0, 1.0], [3.0, 0.0]])

    value = loss(student_logits, teacher_logits, student_embedding, teacher_embedding)

    expected = 0.5 * 2.0 + 3.0 * LogitKDLoss(temperature=4.0)(student_logits, teacher_logits).item()
    assert value.item() == pytest.approx(expected, rel=1e-6)


def test_only_shared_slots_are_distilled():
    # teacher predicts t..t+6, student t..t+3: teacher slots 4..6 must not matter
    loss = CrossModalKDLoss(student_dim=4, teacher_dim=6)
    student_logits, teacher_logits = _tensor(4, 2, 4, 64), _tensor(5, 2, 7, 64)
    embeddings = (_tensor(6, 2, 4), _tensor(7, 2, 6))
    changed = teacher_logits.clone()
    changed[:, 4:] = 10 * _tensor(8, 2, 3, 64)

    before = loss(student_logits, teacher_logits, *embeddings)
    after = loss(student_logits, changed, *embeddings)

    assert after.item() == pytest.approx(before.item())


def test_projection_is_a_kd_only_adapter_and_teacher_gets_no_gradient():
    loss = CrossModalKDLoss(student_dim=4, teacher_dim=6)
    student_logits, teacher_logits = (
        _tensor(9, 2, 4, 64).requires_grad_(),
        _tensor(10, 2, 4, 64).requires_grad_(),
    )
    student_embedding, teacher_embedding = (
        _tensor(11, 2, 4).requires_grad_(),
        _tensor(12, 2, 6).requires_grad_(),
    )

    loss(student_logits, teacher_logits, student_embedding, teacher_embedding).backward()

    assert loss.kd_only and loss.projection.kd_only
    assert loss.projection.linear.weight.grad is not None and student_embedding.grad is not None
    assert teacher_logits.grad is None and teacher_embedding.grad is None


def test_reads_logits_and_final_embeddings():
    assert CrossModalKDLoss.reads == (
        "student_logits",
        "teacher_logits",
        "student_features.final",
        "teacher_features.final",
    )
