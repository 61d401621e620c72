from __future__ import annotations

import math

import pytest
import torch

from kdcs.distill.losses.logit_kd import LogitKDLoss


def _logits(seed: int, shape=(4, 7, 64)) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def test_identical_logits_give_zero():
    logits = _logits(0)

    assert LogitKDLoss()(logits, logits.clone()).item() == pytest.approx(0.0, abs=1e-6)


def test_kl_times_t_squared_matches_hand_computation_on_two_classes():
    # T = 2: teacher logits [2 ln 3, 0] temper to [ln 3, 0] -> q = [0.75, 0.25]; student uniform
    temperature = 2.0
    teacher = torch.tensor([[[2 * math.log(3.0), 0.0]]])
    student = torch.zeros(1, 1, 2)

    loss = LogitKDLoss(temperature=temperature)(student, teacher)

    kl = 0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.5)
    assert loss.item() == pytest.approx(temperature**2 * kl, rel=1e-6)


def test_reduction_is_plain_mean_over_batch_and_slots():
    student, teacher = _logits(1, (3, 2, 5)), _logits(2, (3, 2, 5))
    loss = LogitKDLoss(temperature=1.0)

    per_item = [
        loss(student[b : b + 1, s : s + 1], teacher[b : b + 1, s : s + 1]) for b in range(3) for s in range(2)
    ]

    assert loss(student, teacher).item() == pytest.approx(torch.stack(per_item).mean().item(), rel=1e-6)


def test_zero_weight_slot_does_not_change_the_loss():
    loss = LogitKDLoss(slot_weights=[1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0])
    student, teacher = _logits(3), _logits(4)
    changed = student.clone()
    changed[:, 2] = 10 * _logits(5)[:, 2]

    assert loss(changed, teacher).item() == pytest.approx(loss(student, teacher).item())
    assert LogitKDLoss()(changed, teacher).item() != pytest.approx(LogitKDLoss()(student, teacher).item())


def test_slot_weights_are_relative():
    student, teacher = _logits(6, (2, 3, 8)), _logits(7, (2, 3, 8))

    small = LogitKDLoss(slot_weights=[1.0, 2.0, 3.0])(student, teacher)
    large = LogitKDLoss(slot_weights=[10.0, 20.0, 30.0])(student, teacher)

    assert small.item() == pytest.approx(large.item(), rel=1e-6)


def test_gradients_reach_the_student_but_never_the_teacher():
    student = _logits(8).requires_grad_()
    teacher = _logits(9).requires_grad_()

    LogitKDLoss()(student, teacher).backward()

    assert student.grad is not None and student.grad.abs().sum() > 0
    assert teacher.grad is None


def test_reference_defaults_and_errors():
    assert LogitKDLoss().temperature == 4.0
    with pytest.raises(ValueError, match="temperature"):
        LogitKDLoss(temperature=0.0)
    with pytest.raises(ValueError, match="slot weights"):
        LogitKDLoss(slot_weights=[1.0, 1.0])(_logits(0), _logits(1))
    with pytest.raises(ValueError, match="teacher logits"):
        LogitKDLoss()(_logits(0), _logits(1, (4, 6, 64)))
