from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from kdcs.distill.losses.ce import CrossEntropyLoss, power_to_soft_labels


def test_uniform_logits_give_log_num_classes():
    logits = torch.zeros(2, 3, 64)
    target = torch.randint(0, 64, (2, 3))

    loss = CrossEntropyLoss()(logits, target)

    assert loss.item() == pytest.approx(math.log(64))


def test_hard_targets_match_torch_cross_entropy_mean_over_batch_and_slots():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 7, 64, generator=generator)
    target = torch.randint(0, 64, (4, 7), generator=generator)

    loss = CrossEntropyLoss()(logits, target)

    assert loss.item() == pytest.approx(
        F.cross_entropy(logits.reshape(-1, 64), target.reshape(-1)).item(), rel=1e-6
    )


def test_one_hot_soft_labels_equal_hard_cross_entropy():
    generator = torch.Generator().manual_seed(1)
    logits = torch.randn(3, 4, 64, generator=generator)
    target = torch.randint(0, 64, (3, 4), generator=generator)

    soft = CrossEntropyLoss()(logits, F.one_hot(target, 64).float())
    hard = CrossEntropyLoss()(logits, target)

    assert soft.item() == pytest.approx(hard.item(), rel=1e-6)


def test_power_linear_soft_labels_are_power_shares():
    power = torch.tensor([[[3.0, 1.0, 0.0]]])

    labels = power_to_soft_labels(power, "power_linear")

    assert labels.tolist() == [[[0.75, 0.25, 0.0]]]


def test_power_db_softmax_gives_exp_minus_db_gap_over_tau():
    # a beam at half the best power is 3.0103 dB down: its mass ratio is exp(-3.0103 / tau)
    power = torch.tensor([[[1.0, 0.5]]], dtype=torch.float64)

    labels = power_to_soft_labels(power, "power_db_softmax", tau_db=2.0)

    ratio = (labels[0, 0, 1] / labels[0, 0, 0]).item()
    assert ratio == pytest.approx(math.exp(-10 * math.log10(2) / 2.0))
    assert labels.sum().item() == pytest.approx(1.0)


def test_power_db_softmax_ignores_overall_power_scale():
    power = torch.rand(2, 3, 64, generator=torch.Generator().manual_seed(2)) + 0.01

    assert torch.allclose(power_to_soft_labels(power), power_to_soft_labels(power * 1e-4), atol=1e-6)


def test_soft_label_mode_reads_the_beam_powers():
    loss = CrossEntropyLoss(soft_labels="power_linear")
    power = torch.tensor([[[3.0, 1.0]]])
    logits = torch.log(torch.tensor([[[0.75, 0.25]]]))

    value = loss(logits, power)

    assert loss.reads == ("student_logits", "beam_power")
    entropy = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert value.item() == pytest.approx(entropy, rel=1e-6)


def test_zero_slot_weight_makes_that_slot_irrelevant():
    loss = CrossEntropyLoss(slot_weights=[1.0, 0.0, 1.0])
    logits = torch.randn(2, 3, 64, generator=torch.Generator().manual_seed(3))
    target = torch.zeros(2, 3, dtype=torch.long)
    changed = logits.clone()
    changed[:, 1] += 5 * torch.randn(2, 64)

    assert loss(changed, target).item() == pytest.approx(loss(logits, target).item())


def test_unknown_soft_label_mode_is_named():
    with pytest.raises(ValueError, match="power_db"):
        CrossEntropyLoss(soft_labels="power_db")
