from __future__ import annotations

import math

import pytest
import torch

from kdcs.distill.losses.logit_kd import LogitKDLoss
from kdcs.distill.losses.multi_teacher import MultiTeacherKDLoss


def _logits(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def test_one_teacher_equals_logit_kd():
    student, teacher = _logits(0, 3, 4, 64), _logits(1, 3, 4, 64)
    expected = LogitKDLoss(temperature=4.0)(student, teacher).item()

    assert MultiTeacherKDLoss(temperature=4.0)(student, teacher).item() == pytest.approx(expected, rel=1e-6)
    assert MultiTeacherKDLoss(temperature=4.0)(student, teacher[None]).item() == pytest.approx(
        expected, rel=1e-6
    )


def test_given_weights_select_teachers():
    student, teachers = _logits(2, 2, 3, 64), _logits(3, 2, 2, 3, 64)

    value = MultiTeacherKDLoss(teacher_weights=[1.0, 0.0])(student, teachers)

    assert value.item() == pytest.approx(LogitKDLoss()(student, teachers[0]).item(), rel=1e-6)


def test_equal_weights_average_tempered_probabilities():
    student, teachers = _logits(4, 2, 3, 8), _logits(5, 2, 2, 3, 8)
    temperature = 2.0
    blended = torch.softmax(teachers / temperature, dim=-1).mean(dim=0)  # [B, S, C]
    log_student = torch.log_softmax(student / temperature, dim=-1)
    expected = temperature**2 * (blended * (blended.log() - log_student)).sum(-1).mean()

    value = MultiTeacherKDLoss(temperature=temperature)(student, teachers)

    assert value.item() == pytest.approx(expected.item(), rel=1e-5)


def test_confidence_weighting_favours_the_confident_teacher():
    # confident teacher: entropy ~0; uniform teacher over 4 beams: entropy ln 4 -> weights 1/(1 + 1/4) = 0.8, 0.2
    confident = torch.tensor([[[1000.0, 0.0, 0.0, 0.0]]])
    uniform = torch.zeros(1, 1, 4)
    teachers = torch.stack([confident, uniform])  # [2, 1, 1, 4]

    weights = MultiTeacherKDLoss(confidence_weighting=True).mixing_weights(teachers)

    assert weights.flatten().tolist() == pytest.approx([0.8, 0.2], rel=1e-6)
    assert math.isclose(weights.sum().item(), 1.0, rel_tol=1e-6)


def test_teachers_receive_no_gradient():
    student, teachers = _logits(6, 2, 3, 8).requires_grad_(), _logits(7, 3, 2, 3, 8).requires_grad_()

    MultiTeacherKDLoss(confidence_weighting=True)(student, teachers).backward()

    assert student.grad is not None and teachers.grad is None


def test_weight_count_must_match_teacher_count():
    with pytest.raises(ValueError, match="3 teachers"):
        MultiTeacherKDLoss(teacher_weights=[1.0, 1.0])(_logits(8, 2, 3, 8), _logits(9, 3, 2, 3, 8))
