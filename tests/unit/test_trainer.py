"""Unit tests for kdcs.distill.trainer: fitting, selection on validation, early stop, logs, errors."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import torch

from kdcs.config import ConfigError, load_config
from kdcs.data.cache.build import prepare
from kdcs.data.deepsense.reader import read_scenario
from kdcs.data.partition import windows_in_sequences
from kdcs.data.preprocess import PreprocessConfig
from kdcs.data.windows import WindowBatcher, WindowSpec, build_windows
from kdcs.distill.batch_context import inputs_for
from kdcs.distill.composer import alpha_recipe, build_composer
from kdcs.distill.prediction import evaluate_model
from kdcs.distill.train_config import OptimConfig, TrainConfig, learning_rate_at
from kdcs.distill.trainer import Trainer
from kdcs.models.weights import load_model_weights
from tests.fixtures.scenario_factory import make_scenario
from tests.fixtures.training import files_under, make_batchers, quick_config, tiny_model

CE = {"ce": {"weight": 1.0}}


def test_fit_learns_the_task_and_keeps_the_best_validation_epoch(tmp_path):
    train, val, _ = make_batchers()
    model = tiny_model()

    # patience off: the ordinal beam encoder plateaus for a few epochs before it climbs, and the
    # validated weight average trails the raw weights by about an epoch
    result = Trainer(model, build_composer(CE), train, val, quick_config(epochs=16, patience=None), tmp_path).fit()

    top1 = [row["val_top1_mean"] for row in result.history]
    assert len(result.history) == 16 and result.stopped_reason == "completed 16 epochs"
    assert max(top1) > 0.6 and top1[-1] > top1[0]
    assert result.best_epoch == int(np.argmax(top1)) + 1
    assert result.best_val["top1"]["mean"] == max(top1)
    best = tiny_model(seed=1)
    load_model_weights(tmp_path / "best.safetensors", best)
    for key, value in best.state_dict().items():  # the model ends holding the best epoch's weights
        assert torch.equal(value, model.state_dict()[key]), key


def test_selection_and_early_stop_use_validation_only(tmp_path):
    train, val, test = make_batchers()
    # min_delta above any possible gain: no epoch after the first counts as better
    config = quick_config(epochs=10, patience=2, min_delta=2.0)

    result = Trainer(tiny_model(), build_composer(CE), train, val, config, tmp_path).fit()

    assert result.best_epoch == 1 and len(result.history) == 3
    assert result.stopped_reason.startswith("early stop: val top1_mean did not improve for 2 epochs")
    assert result.best_val["num_windows"] == len(val.windows) != len(test.windows)


def test_select_metric_loss_picks_the_lowest_validation_loss(tmp_path):
    train, val, _ = make_batchers()
    config = quick_config(epochs=4, select_metric="loss", patience=None)

    result = Trainer(tiny_model(), build_composer(CE), train, val, config, tmp_path).fit()

    losses = [row["val_loss"] for row in result.history]
    assert result.best_epoch == int(np.argmin(losses)) + 1
    assert result.best_val["loss"] == min(losses)


def test_metrics_csv_and_tensorboard_get_one_entry_per_epoch(tmp_path):
    train, val, _ = make_batchers()
    composer = build_composer(alpha_recipe("focal", "ce", alpha=0.5))
    config = quick_config(epochs=2, tensorboard=True)

    Trainer(tiny_model(), composer, train, val, config, tmp_path).fit()

    with (tmp_path / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["epoch"] for row in rows] == ["1", "2"]
    for column in ("lr", "seconds", "train_loss", "train_focal", "train_ce", "val_top1_mean", "val_dba_mean"):
        assert math.isfinite(float(rows[-1][column])), column
    assert any(name.startswith("tensorboard/events.out.tfevents") for name in files_under(tmp_path))
    assert {"best.safetensors", "best.json", "last.json", "run_config.json"} <= set(files_under(tmp_path))


def test_gradient_clipping_bounds_every_step(tmp_path):
    train, val, _ = make_batchers()
    model = tiny_model()
    before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
    # plain SGD with lr 1: each step moves the weights by exactly the clipped gradient
    optim = {"name": "sgd", "lr": 1.0, "momentum": 0.0, "weight_decay": 0.0, "schedule": "none"}
    config = quick_config(epochs=1, optim={**optim, "grad_clip_norm": 1e-3})

    Trainer(model, build_composer(CE), train, val, config, tmp_path).fit()

    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert 0 < float((after - before).norm()) <= len(train) * 1e-3 * (1 + 1e-4)


def test_a_second_run_in_the_same_folder_is_refused_without_resume(tmp_path):
    train, val, _ = make_batchers()
    Trainer(tiny_model(), build_composer(CE), train, val, quick_config(epochs=1), tmp_path).fit()

    with pytest.raises(FileExistsError, match="resume"):
        Trainer(tiny_model(), build_composer(CE), train, val, quick_config(epochs=1), tmp_path).fit()


def test_a_kd_term_without_a_teacher_fails_before_anything_is_written(tmp_path):
    train, val, _ = make_batchers()
    composer = build_composer(alpha_recipe("focal", "logit-kd", 0.7))

    with pytest.raises(ValueError, match="'logit-kd' reads 'teacher_logits'"):
        Trainer(tiny_model(), composer, train, val, quick_config(), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_unknown_or_invalid_config_keys_are_named(tmp_path):
    yaml_file = tmp_path / "train.yaml"
    yaml_file.write_text("epochs: 5\noptim:\n  lr: 0.01\n  shedule: cosine\n")

    with pytest.raises(ConfigError, match="'optim.shedule'"):
        load_config(TrainConfig(), yaml_file)
    with pytest.raises(ConfigError, match="'select_metric'"):
        load_config(TrainConfig(), overrides=["select_metric=top7_mean"])
    with pytest.raises(ConfigError, match="'optim.lr'"):
        load_config(TrainConfig(), overrides=["optim.lr=-1"])
    assert load_config(TrainConfig(), overrides=["optim.lr=0.01", "patience=null"]).optim.lr == 0.01


def test_learning_rate_schedules():
    cosine = OptimConfig(lr=1.0, schedule="cosine", warmup_epochs=2)
    step = OptimConfig(lr=1.0, schedule="step", step_epochs=2, step_gamma=0.5)

    cosine_rates = [learning_rate_at(cosine, epoch, 6) for epoch in range(6)]
    step_rates = [learning_rate_at(step, epoch, 6) for epoch in range(6)]

    assert cosine_rates[:3] == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert all(a > b > 0 for a, b in zip(cosine_rates[2:], cosine_rates[3:], strict=False))
    assert step_rates == pytest.approx([1, 1, 0.5, 0.5, 0.25, 0.25])
    assert learning_rate_at(OptimConfig(lr=0.1, schedule="none"), 5, 6) == 0.1


def test_each_model_gets_the_last_slots_of_a_longer_batch_history():
    train, _, _ = make_batchers(history=8)
    batch = next(iter(train))

    sliced = inputs_for(batch, 3)

    assert sliced["gps"].shape[1] == 3 and torch.equal(sliced["gps"], batch["gps"][:, -3:])
    assert torch.equal(sliced["beam_history"], batch["beam_history"][:, 5:])
    assert torch.equal(sliced["target"], batch["target"])
    with pytest.raises(ValueError, match="needs history=9"):
        inputs_for(batch, 9)


def test_evaluate_model_returns_every_window_in_batcher_order():
    _, val, _ = make_batchers()
    model = tiny_model()

    logits, targets, window_end = evaluate_model(model, val)

    assert logits.shape == (len(val.windows), 3, 64) and targets.shape == (len(val.windows), 3)
    assert np.array_equal(window_end, val.windows.end_rows)
    assert model.training  # evaluation restores the mode it found


def test_training_runs_on_a_prepared_cache_of_a_deepsense_layout_scenario(tmp_path):
    scenario = make_scenario(
        tmp_path / "scenario", num_sequences=4, sequence_length=14, modalities=("gps", "power", "beam")
    )
    cache = prepare(read_scenario(scenario), tmp_path / "cache", PreprocessConfig(), workers=1)
    spec = WindowSpec(history=4, horizon=2)
    windows = build_windows(np.asarray(cache.arrays["seq_index"]), spec)
    split = windows_in_sequences(windows, [1, 2, 3]), windows_in_sequences(windows, [4])
    train = WindowBatcher(
        cache, split[0], spec, ("gps", "beam_history"), 8, shuffle=True, rng=np.random.default_rng(0)
    )
    val = WindowBatcher(cache, split[1], spec, ("gps", "beam_history"), 8)

    result = Trainer(
        tiny_model(history=4), build_composer(CE), train, val, quick_config(epochs=1), tmp_path / "run"
    ).fit()

    assert result.best_val["num_windows"] == len(split[1]) and "power_loss_db" in result.best_val
    assert math.isfinite(result.history[0]["train_loss"])
