from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from kdcs.distill.losses.ce import CrossEntropyLoss
from kdcs.distill.losses.focal import FocalLoss


def test_gamma_zero_equals_cross_entropy():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 7, 64, generator=generator)
    target = torch.randint(0, 64, (4, 7), generator=generator)

    focal = FocalLoss(gamma=0.0)(logits, target)
    ce = CrossEntropyLoss()(logits, target)

    assert focal.item() == pytest.approx(ce.item(), rel=1e-6)


def test_two_class_known_value():
    # p_y = 0.5: FL = -(1 - 0.5)^2 log 0.5 = 0.25 ln 2
    logits = torch.zeros(1, 1, 2)
    target = torch.tensor([[0]])

    assert FocalLoss(gamma=2.0)(logits, target).item() == pytest.approx(0.25 * math.log(2))


def test_confident_correct_predictions_are_down_weighted_more_than_in_ce():
    logits = torch.tensor([[[3.0, 0.0]]])
    target = torch.tensor([[0]])

    ratio = FocalLoss()(logits, target) / CrossEntropyLoss()(logits, target)

    p_correct = torch.softmax(logits, -1)[0, 0, 0]
    assert ratio.item() == pytest.approx(((1 - p_correct) ** 2).item(), rel=1e-5)


def test_one_hot_soft_target_equals_hard_target():
    logits = torch.randn(2, 3, 64, generator=torch.Generator().manual_seed(1))
    target = torch.randint(0, 64, (2, 3), generator=torch.Generator().manual_seed(2))

    soft = FocalLoss()(logits, F.one_hot(target, 64).float())

    assert soft.item() == pytest.approx(FocalLoss()(logits, target).item(), rel=1e-6)


def test_reference_default_gamma_is_two():
    assert FocalLoss().gamma == 2.0


def test_negative_gamma_is_rejected():
    with pytest.raises(ValueError, match="gamma"):
        FocalLoss(gamma=-1.0)
