"""Resume after a kill ends where an uninterrupted run ends; a NaN loss stops the run, keeping the last good checkpoint."""

from __future__ import annotations

import json

import pytest
import torch

from kdcs.distill.checkpoint import latest_checkpoint
from kdcs.distill.composer import build_composer
from kdcs.distill.teacher_outputs import CachedTeacher
from kdcs.distill.train_outcome import TrainingDiverged
from kdcs.distill.trainer import Trainer
from kdcs.models.weights import CheckpointError, load_model_weights
from tests.fixtures.training import (
    Killed,
    NaNAfter,
    kill_after_batches,
    make_batchers,
    quick_config,
    tiny_model,
)

# Task loss + logit KD + feature KD: the feature term owns a learned projection (a KD adapter),
# so its weights and optimiser state must survive the kill too.
KD_RECIPE = {
    "focal": {"weight": 0.4},
    "logit-kd": {"weight": 0.5},
    "feature-kd": {
        "weight": 0.1,
        "student_dim": 16,
        "teacher_dim": 24,
        "reads": ["student_features.final", "teacher_features.final"],
    },
}


# the plateau schedule with a reduction before the kill (min_delta: only epoch 1 is ever the best, so
# epoch 2 lowers the rate and restarts from epoch 1's weights) and one after it
PLATEAU_RUN = {
    "min_delta": 2.0,
    "patience": 3,
    "optim": {"schedule": "plateau", "plateau_patience": 1, "plateau_restart_best": True},
}


def _kd_run(run_dir, kill_after=None, resume=False, seed=0, epochs=4, settings=None):
    """A KD run with dropout (torch RNG) and shuffling (numpy RNG), from freshly built objects."""
    torch.set_num_threads(1)  # as fit() sets it: the teacher cache is then computed alike in every run
    train, val, _ = make_batchers(history=8)
    teacher = tiny_model(history=8, seed=100, hidden=24)
    cache = CachedTeacher.build(teacher, [train, val], feature_keys=("final",))
    if kill_after is not None:
        kill_after_batches(train, kill_after)
    student = tiny_model(history=3, seed=seed, dropout=0.3)
    trainer = Trainer(
        student,
        build_composer(KD_RECIPE),
        train,
        val,
        quick_config(epochs=epochs, **(settings or {})),
        run_dir,
        cache,
    )
    return trainer, trainer.fit(resume=resume) if kill_after is None else None


def _without_timings(history):
    return [{k: v for k, v in row.items() if "seconds" not in k} for row in history]


@pytest.mark.parametrize("settings", [None, PLATEAU_RUN], ids=["cosine", "plateau"])
def test_resume_after_a_kill_ends_with_the_uninterrupted_weights_and_metrics(tmp_path, settings):
    reference, expected = _kd_run(tmp_path / "whole", settings=settings)
    batches_per_epoch = len(reference.train)
    killed, _ = _kd_run(tmp_path / "killed", kill_after=2 * batches_per_epoch + 3, settings=settings)

    with pytest.raises(Killed):  # dies in the middle of epoch 3
        killed.fit()
    assert latest_checkpoint(tmp_path / "killed").name == "epoch-0002"
    # other init: must be overwritten
    resumed, result = _kd_run(tmp_path / "killed", resume=True, seed=7, settings=settings)
    if settings is not None:  # the rate was lowered after epoch 2 and again after epoch 3
        assert [row["lr"] for row in result.history] == pytest.approx([3e-2, 3e-2, 9e-3, 2.7e-3])

    assert _without_timings(result.history) == _without_timings(expected.history)
    assert result.best_epoch == expected.best_epoch and result.best_val == expected.best_val
    for key, value in reference.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key
    for key, value in reference.composer.state_dict().items():
        assert torch.equal(value, resumed.composer.state_dict()[key]), key
    rows = (tmp_path / "killed" / "metrics.csv").read_text().splitlines()
    assert len(rows) == 1 + 4  # header + one row per epoch, none twice
    assert rows[0] == (tmp_path / "whole" / "metrics.csv").read_text().splitlines()[0]  # same column order
    assert list(result.history[0]) == list(expected.history[0])
    assert result.seconds == pytest.approx(sum(r["seconds"] + r["val_seconds"] for r in result.history))
    assert result.seconds > sum(r["seconds"] + r["val_seconds"] for r in result.history[2:])


def test_resuming_a_finished_run_trains_no_more(tmp_path):
    _, first = _kd_run(tmp_path, epochs=2)

    _, again = _kd_run(tmp_path, resume=True, epochs=2)

    assert again.history == first.history and again.stopped_reason == "completed 2 epochs"


def test_resume_refuses_a_changed_setting_that_alters_the_run(tmp_path):
    train, val, _ = make_batchers()
    composer = build_composer({"ce": {"weight": 1.0}})
    Trainer(tiny_model(), composer, train, val, quick_config(epochs=1), tmp_path).fit()
    changed = quick_config(epochs=2, optim={"lr": 0.5})

    with pytest.raises(CheckpointError, match="optim"):
        Trainer(tiny_model(), composer, train, val, changed, tmp_path).fit(resume=True)


def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    train, val, _ = make_batchers()
    nan_in_epoch_3 = NaNAfter(calls=2 * len(train) + 1 + 2 * len(val))  # val batches call it too
    composer = build_composer({"ce": {"weight": 1.0}})
    composer.terms["boom"] = nan_in_epoch_3
    composer.weights["boom"] = 1.0
    model = tiny_model()

    with pytest.raises(TrainingDiverged, match="loss is nan at epoch 3 batch 2") as error:
        Trainer(model, composer, train, val, quick_config(epochs=5), tmp_path).fit()

    checkpoint = latest_checkpoint(tmp_path)
    assert error.value.checkpoint == checkpoint and checkpoint.name == "epoch-0002"
    restored = tiny_model(seed=3)
    load_model_weights(checkpoint / "model.safetensors", restored)
    assert all(torch.isfinite(value).all() for value in restored.state_dict().values())
    state = json.loads((checkpoint / "state.json").read_text())
    assert len(state["run"]["history"]) == 2
    assert len((tmp_path / "metrics.csv").read_text().splitlines()) == 1 + 2
