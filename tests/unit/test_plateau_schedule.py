"""The plateau learning-rate schedule: known rate trajectories from hand-made validation sequences,
early stopping after the reductions, restart from the best weights, config errors, resume after a kill."""

from __future__ import annotations

import pytest
import torch

from kdcs.config import ConfigError, load_config
from kdcs.distill import trainer as trainer_module
from kdcs.distill.composer import build_composer
from kdcs.distill.plateau import reduce_on_plateau
from kdcs.distill.train_config import OptimConfig, TrainConfig, learning_rate_at
from kdcs.distill.trainer import Trainer
from kdcs.models.weights import load_model_weights
from tests.fixtures.training import make_batchers, quick_config, tiny_model

CE = {"ce": {"weight": 1.0}}
PLATEAU = {
    "lr": 1.0,
    "schedule": "plateau",
    "plateau_factor": 0.5,
    "plateau_patience": 2,
    "plateau_reductions": 2,
}


def _rates(optim: OptimConfig, improved: list[bool]) -> list[float]:
    """The rate of every epoch when validation improved (True) or not (False) after each."""
    state = {"epochs_without_improvement": 0}
    rates = []
    for epoch, better in enumerate(improved):
        rates.append(learning_rate_at(optim, epoch, 100, state.get("lr_scale", 1.0)))
        state["epochs_without_improvement"] = 0 if better else state["epochs_without_improvement"] + 1
        reduce_on_plateau(optim, state)
    return rates


def test_the_rate_halves_after_two_stale_epochs_at_most_twice():
    optim = OptimConfig(**PLATEAU)
    improved = [True, True, False, False, True, False, False, False, False, False]

    # 2 stale (epochs 3-4) -> 0.5; an improvement resets the count; 2 stale -> 0.25; no reductions left
    assert _rates(optim, improved) == [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]


def test_warm_up_comes_first_and_the_cap_does_not_move_the_rate():
    optim = OptimConfig(**{**PLATEAU, "warmup_epochs": 1})

    assert learning_rate_at(optim, 0, 10) == pytest.approx(0.5)
    assert learning_rate_at(optim, 5, 10, 0.25) == learning_rate_at(optim, 5, 1000, 0.25) == 0.25
    assert not reduce_on_plateau(OptimConfig(schedule="cosine"), {"epochs_without_improvement": 9})


def test_the_trainer_follows_a_hand_made_validation_curve_and_stops_after_the_reductions(
    tmp_path, monkeypatch
):
    curve = iter([0.10, 0.20, 0.20, 0.15, 0.25, 0.24, 0.22, 0.23, 0.21, 0.20, 0.30])
    monkeypatch.setattr(trainer_module, "metric_value", lambda summary, name: next(curve))
    train, val, _ = make_batchers()
    config = quick_config(epochs=50, patience=3, optim=PLATEAU)

    result = Trainer(tiny_model(), build_composer(CE), train, val, config, tmp_path).fit()

    # best at 2 and 5; stale 3-4 -> 0.5 from epoch 5; stale 6-7 -> 0.25; stale 8-10 -> stop at 10
    assert [row["lr"] for row in result.history] == [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]
    assert result.best_epoch == 5
    assert result.stopped_reason == (
        "early stop: val top1_mean did not improve for 3 epochs after 2 learning-rate reductions (best epoch 5)"
    )


def test_a_reduction_can_restart_from_the_best_weights(tmp_path):
    train, val, _ = make_batchers()
    averaged = {}
    for restart in (False, True):
        optim = {
            **PLATEAU,
            "lr": 3e-2,
            "plateau_patience": 1,
            "plateau_reductions": 1,
            "plateau_restart_best": restart,
        }
        # min_delta above any possible gain: only epoch 1 is ever the best; epoch 2 is stale -> reduce
        config = quick_config(epochs=2, patience=1, min_delta=2.0, optim=optim)
        trainer = Trainer(tiny_model(), build_composer(CE), train, val, config, tmp_path / str(restart))
        trainer.fit()
        best = tiny_model(seed=5)
        load_model_weights(tmp_path / str(restart) / "best.safetensors", best)
        averaged[restart] = all(
            torch.equal(value, trainer.averaged.state_dict()[name])
            for name, value in best.state_dict().items()
        )

    assert averaged == {False: False, True: True}  # the kept average went back to epoch 1's weights


def test_plateau_settings_are_checked():
    with pytest.raises(ConfigError, match="'optim.plateau_factor'"):
        load_config(TrainConfig(), overrides=["optim.schedule=plateau", "optim.plateau_factor=1.0"])
    with pytest.raises(ConfigError, match="'optim.plateau_patience' .* exceeds 'patience'"):
        load_config(
            TrainConfig(), overrides=["optim.schedule=plateau", "optim.plateau_patience=4", "patience=3"]
        )
    with pytest.raises(ConfigError, match="'optim.schedule' must be one of"):
        load_config(TrainConfig(), overrides=["optim.schedule=plateu"])
    ok = load_config(TrainConfig(), overrides=["optim.schedule=plateau", "patience=null"])
    assert ok.optim.plateau_reductions == 2
