from __future__ import annotations

import pytest
import torch

from kdcs.distill.losses.dml import DeepMutualLearningLoss
from kdcs.distill.losses.logit_kd import LogitKDLoss


def _logits(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_identical_peers_give_zero():
    logits = _logits(0, 3, 4, 64)

    assert DeepMutualLearningLoss()(logits, logits.clone()).item() == pytest.approx(0.0, abs=1e-9)


def test_two_peer_losses_add_up_to_the_symmetric_kl():
    a, b = _logits(1, 3, 4, 16), _logits(2, 3, 4, 16)
    p, q = torch.softmax(a, -1), torch.softmax(b, -1)
    jeffreys = ((p - q) * (p.log() - q.log())).sum(-1).mean()
    loss = DeepMutualLearningLoss()

    assert (loss(a, b) + loss(b, a)).item() == pytest.approx(jeffreys.item(), rel=1e-9)


def test_one_peer_is_logit_kd_from_that_peer():
    a, b = _logits(3, 2, 4, 16), _logits(4, 2, 4, 16)

    assert DeepMutualLearningLoss(temperature=2.0)(a, b).item() == pytest.approx(
        LogitKDLoss(temperature=2.0)(a, b).item()
    )


def test_many_peers_average_the_divergences():
    me, peers = _logits(5, 2, 4, 16), _logits(6, 3, 2, 4, 16)
    loss = DeepMutualLearningLoss()

    separate = [loss(me, peer).item() for peer in peers]

    assert loss(me, peers).item() == pytest.approx(sum(separate) / 3, rel=1e-9)


def test_each_peer_loss_pulls_only_its_own_model():
    me, peer = _logits(7, 2, 4, 16).requires_grad_(), _logits(8, 2, 4, 16).requires_grad_()

    DeepMutualLearningLoss()(me, peer).backward()

    assert me.grad is not None and peer.grad is None


def test_paper_temperature_is_one():
    assert DeepMutualLearningLoss().temperature == 1.0
