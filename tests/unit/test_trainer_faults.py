"""A training run on a disk that fills up: it keeps a checkpoint to resume, or leaves its folder as it was."""

from __future__ import annotations

import errno

import pytest
import torch

import kdcs.distill.trainer as trainer_module
from kdcs.distill.checkpoint import latest_checkpoint
from kdcs.distill.composer import build_composer
from kdcs.distill.trainer import Trainer
from kdcs.storage import StorageError
from tests.fixtures.training import files_under, make_batchers, quick_config, tiny_model


def _trainer(run_dir, epochs=3, **model_overrides) -> Trainer:
    train, val, _ = make_batchers()
    torch.manual_seed(0)
    model = tiny_model(**model_overrides)
    return Trainer(
        model, build_composer({"ce": {"weight": 1.0}}), train, val, quick_config(epochs=epochs), run_dir
    )


def _disk_full_at_epoch(monkeypatch, failing_epoch: int) -> None:
    save = trainer_module.save_checkpoint

    def save_or_fail(run_dir, epoch, **kwargs):
        if epoch == failing_epoch:
            raise OSError(errno.ENOSPC, "No space left on device")
        return save(run_dir, epoch, **kwargs)

    monkeypatch.setattr(trainer_module, "save_checkpoint", save_or_fail)


def test_a_fresh_run_that_fails_before_its_first_checkpoint_leaves_no_folder(tmp_path, monkeypatch):
    _disk_full_at_epoch(monkeypatch, 1)

    with pytest.raises(
        StorageError, match=r"cannot write the run folder .*no space left on the device; nothing"
    ):
        _trainer(tmp_path / "runs" / "a").fit()

    assert not (tmp_path / "runs").exists()  # no best.* without a checkpoint, no empty folders


def test_files_that_were_there_before_the_run_stay(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text("mine\n")
    _disk_full_at_epoch(monkeypatch, 1)

    with pytest.raises(StorageError):
        _trainer(run_dir).fit()

    assert files_under(run_dir) == ["config.yaml"]


def test_a_later_failure_keeps_the_checkpoint_and_resumes_to_the_same_end(tmp_path, monkeypatch):
    # Prepare
    expected = _trainer(tmp_path / "whole").fit()
    _disk_full_at_epoch(monkeypatch, 2)

    # Execute
    with pytest.raises(StorageError, match=r"epoch-0001 is kept; free some space and resume it"):
        _trainer(tmp_path / "full").fit()
    monkeypatch.undo()
    resumed = _trainer(tmp_path / "full").fit(resume=True)

    # Assert
    assert latest_checkpoint(tmp_path / "full").name == "epoch-0003"
    assert resumed.best_epoch == expected.best_epoch and resumed.best_val == expected.best_val


def test_a_model_too_big_for_the_disk_is_refused_before_anything_is_written(full_disk):
    with pytest.raises(StorageError, match=r"one training epoch needs .* MB in .*, but only .* MB are free"):
        _trainer(full_disk / "run", hidden=128).fit()
    assert list(full_disk.iterdir()) == []


def test_a_disk_that_fills_during_the_run_leaves_nothing(full_disk, monkeypatch):
    monkeypatch.setattr(trainer_module, "check_room_for_an_epoch", lambda *args: None)

    with pytest.raises(StorageError, match="no space left on the device; nothing was kept"):
        _trainer(full_disk / "run", hidden=128).fit()

    assert list(full_disk.iterdir()) == []


def test_a_read_only_run_folder_is_one_sentence(read_only):
    with pytest.raises(
        StorageError, match=rf"cannot write one training epoch in {read_only}/run: .*read-only"
    ):
        _trainer(read_only / "run").fit()
