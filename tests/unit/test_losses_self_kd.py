from __future__ import annotations

import pytest
import torch

from kdcs.distill.losses.logit_kd import LogitKDLoss
from kdcs.distill.losses.self_kd import SelfKDLoss


def test_paper_default_temperature_is_3():
    loss = SelfKDLoss()

    assert loss.temperature == 3.0
    assert SelfKDLoss.key == "self-kd"


def test_equals_logit_kd_at_the_same_temperature():
    generator = torch.Generator().manual_seed(0)
    fresh, frozen = torch.randn(2, 4, 64, generator=generator), torch.randn(2, 4, 64, generator=generator)

    assert SelfKDLoss()(fresh, frozen).item() == pytest.approx(
        LogitKDLoss(temperature=3.0)(fresh, frozen).item()
    )


def test_frozen_copy_receives_no_gradient():
    fresh = torch.randn(2, 4, 64).requires_grad_()
    frozen = torch.randn(2, 4, 64).requires_grad_()

    SelfKDLoss()(fresh, frozen).backward()

    assert frozen.grad is None and fresh.grad is not None
