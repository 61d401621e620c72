"""The weight average the trainer validates and keeps (kdcs.distill.weight_average)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from kdcs.distill.checkpoint import AVERAGE_FILE, MODEL_FILE, latest_checkpoint
from kdcs.distill.composer import build_composer
from kdcs.distill.trainer import BEST_WEIGHTS, Trainer
from kdcs.distill.weight_average import WeightAverage
from kdcs.models.weights import read_safetensors
from tests.fixtures.training import make_batchers, quick_config, tiny_model


def _scalar_model(value: float) -> nn.Module:
    model = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(value)
    return model


def test_the_average_follows_the_warmed_up_decay():
    model = _scalar_model(0.0)
    average = WeightAverage(model, decay=0.5)
    with torch.no_grad():
        model.weight.fill_(10.0)
    average.update(model)  # d_0 = min(0.5, 1/10) = 0.1: 0.1 * 0 + 0.9 * 10
    assert average.module.weight.item() == pytest.approx(9.0)
    with torch.no_grad():
        model.weight.fill_(0.0)
    average.update(model)  # d_1 = min(0.5, 2/11) = 2/11
    assert average.module.weight.item() == pytest.approx(9.0 * 2 / 11)
    for _ in range(20):
        average.update(model)
    assert average.current_decay() == 0.5 and average.updates == 22
    assert not any(p.requires_grad for p in average.module.parameters())


def test_integer_state_is_copied_not_averaged():
    model = nn.BatchNorm1d(2)
    average = WeightAverage(model, decay=0.9)
    model.train()(torch.randn(8, 2))
    average.update(model)
    assert average.module.num_batches_tracked.item() == 1


def test_a_bad_decay_is_refused():
    with pytest.raises(ValueError, match="decay"):
        WeightAverage(_scalar_model(0.0), decay=1.0)


def test_the_trainer_keeps_the_average_and_checkpoints_both(tmp_path):
    train, val, _ = make_batchers()
    config = quick_config(epochs=1, ema_decay=0.9)
    trainer = Trainer(tiny_model(), build_composer({"ce": {"weight": 1.0}}), train, val, config, tmp_path)
    trainer.fit()

    checkpoint = latest_checkpoint(tmp_path)
    raw, _ = read_safetensors(checkpoint / MODEL_FILE)
    averaged, _ = read_safetensors(checkpoint / AVERAGE_FILE)
    best, _ = read_safetensors(tmp_path / BEST_WEIGHTS)
    assert all(torch.equal(best[k], averaged[k]) for k in best)  # the one epoch's average is kept
    assert any(not torch.equal(raw[k], averaged[k]) for k in raw if raw[k].is_floating_point())
    assert all(torch.equal(v, best[k]) for k, v in trainer.model.state_dict().items())


def test_without_averaging_the_raw_weights_are_kept(tmp_path):
    train, val, _ = make_batchers()
    trainer = Trainer(
        tiny_model(),
        build_composer({"ce": {"weight": 1.0}}),
        train,
        val,
        quick_config(epochs=1, ema_decay=None),
        tmp_path,
    )
    trainer.fit()
    assert not (latest_checkpoint(tmp_path) / AVERAGE_FILE).exists()
    raw, _ = read_safetensors(latest_checkpoint(tmp_path) / MODEL_FILE)
    best, _ = read_safetensors(tmp_path / BEST_WEIGHTS)
    assert all(torch.equal(best[k], raw[k]) for k in best)
