"""position-nll: the expected NLL of a target Gaussian position under the student's."""

from __future__ import annotations

import math

import pytest
import torch

from kdcs.distill.losses import build_loss


def test_position_nll_is_least_at_the_target_with_its_spread():
    loss = build_loss("position-nll")
    target = torch.tensor([[[3.0, 4.0, math.log(2.0), math.log(2.0)]]])

    at_target = loss(target.clone(), target)
    off_mean = loss(torch.tensor([[[5.0, 4.0, math.log(2.0), math.log(2.0)]]]), target)
    too_sure = loss(torch.tensor([[[3.0, 4.0, math.log(0.5), math.log(0.5)]]]), target)

    assert float(at_target) < float(off_mean) and float(at_target) < float(too_sure)
    # known value: 2 axes x (log 2 + (0 + 4) / (2 * 4))
    assert float(at_target) == pytest.approx(2 * (math.log(2.0) + 0.5), rel=1e-6)


def test_position_nll_skips_unknown_targets_and_can_be_empty():
    loss = build_loss("position-nll")
    student = torch.zeros(2, 3, 4, requires_grad=True)
    target = torch.full((2, 3, 4), float("nan"))

    empty = loss(student, target)
    empty.backward()

    assert float(empty.detach()) == 0.0 and torch.equal(student.grad, torch.zeros_like(student))
    target[0, 1] = torch.tensor([1.0, 1.0, 0.0, 0.0])
    assert float(loss(student, target).detach()) == pytest.approx(2 * (0.0 + (1.0 + 1.0) / 2), rel=1e-6)
