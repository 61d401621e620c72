"""Unit tests for kdcs.distill.teacher_outputs: live and cached teachers give the same tensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kdcs.distill.batch_context import build_context, inputs_for
from kdcs.distill.composer import alpha_recipe, build_composer
from kdcs.distill.teacher_outputs import CachedTeacher, LiveTeacher, StackedTeachers
from kdcs.distill.trainer import Trainer
from kdcs.models.weights import CheckpointError
from tests.fixtures.training import make_batchers, quick_config, tiny_model


def _count_forwards(model: torch.nn.Module) -> list[int]:
    calls = [0]
    model.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    return calls


def test_cached_outputs_equal_the_live_teacher_in_any_batch_order():
    train, val, _ = make_batchers(history=8)
    teacher = tiny_model(history=5, seed=2, dropout=0.3)  # dropout must be off in both
    cache = CachedTeacher.build(teacher, [train, val], feature_keys=("final", "frame"))
    live = LiveTeacher(teacher)
    batch = next(iter(train))  # shuffled: rows in another order than the cache's

    cached_logits, cached_features = cache.outputs(batch)
    live_logits, live_features = live.outputs(batch)

    assert len(cache) == len(train.windows) + len(val.windows)
    torch.testing.assert_close(cached_logits, live_logits)
    torch.testing.assert_close(cached_features["frame"], live_features["frame"])
    assert cached_features["frame"].shape[1] == 5  # the teacher saw its own last 5 slots
    assert set(cached_features) == {"final", "frame"}


def test_live_teacher_gives_deterministic_gradient_free_outputs_and_leaves_the_model_as_it_was():
    train, _, _ = make_batchers(history=8)
    teacher = tiny_model(history=8, dropout=0.5)
    teacher.train()  # e.g. a peer that is itself training
    live = LiveTeacher(teacher)
    batch = next(iter(train))

    first, _ = live.outputs(batch)
    second, _ = live.outputs(batch)

    assert not first.requires_grad and torch.equal(first, second)  # dropout was off
    assert teacher.training and all(p.requires_grad for p in teacher.parameters())


def test_a_window_outside_the_cache_is_a_clear_error():
    train, val, test = make_batchers(history=8)
    cache = CachedTeacher.build(tiny_model(history=8), [train, val])
    test_batch = next(iter(test))

    with pytest.raises(KeyError, match="lack .* window ending at row"):
        cache.outputs(test_batch)


def test_saved_cache_loads_back_and_refuses_another_fingerprint(tmp_path):
    train, val, _ = make_batchers(history=8)
    teacher = tiny_model(history=8)
    cache = CachedTeacher.build(teacher, [train, val], feature_keys=("final",), data_fingerprint="cache-a")

    cache.save(tmp_path / "teacher.safetensors")
    loaded = CachedTeacher.load(tmp_path / "teacher.safetensors", expected_fingerprint=cache.fingerprint)

    assert torch.equal(loaded.logits, cache.logits) and np.array_equal(loaded.window_end, cache.window_end)
    assert torch.equal(loaded.features["final"], cache.features["final"])
    with pytest.raises(CheckpointError, match="fingerprint mismatch"):
        CachedTeacher.load(tmp_path / "teacher.safetensors", expected_fingerprint="0" * 64)


def test_build_or_load_reuses_a_matching_cache_and_rebuilds_for_another_teacher(tmp_path):
    train, val, _ = make_batchers(history=8)
    path = tmp_path / "teacher.safetensors"
    teacher = tiny_model(history=8, seed=1)
    first = CachedTeacher.build_or_load(path, teacher, [train, val])
    calls = _count_forwards(teacher)

    reused = CachedTeacher.build_or_load(path, teacher, [train, val])
    retrained = tiny_model(history=8, seed=2)
    rebuilt = CachedTeacher.build_or_load(path, retrained, [train, val])

    assert calls[0] == 0 and torch.equal(reused.logits, first.logits)
    assert rebuilt.fingerprint != first.fingerprint and not torch.equal(rebuilt.logits, first.logits)


def test_kd_training_with_a_cached_teacher_never_runs_the_teacher(tmp_path):
    train, val, _ = make_batchers(history=8)
    teacher = tiny_model(history=8, seed=1)
    cache = CachedTeacher.build(teacher, [train, val])
    calls = _count_forwards(teacher)
    composer = build_composer(alpha_recipe("focal", "logit-kd", 0.7))

    result = Trainer(
        tiny_model(history=3), composer, train, val, quick_config(epochs=1), tmp_path, cache
    ).fit()

    assert calls[0] == 0 and result.history[0]["train_logit-kd"] > 0


def test_stacked_teachers_give_one_logit_tensor_per_teacher():
    train, _, _ = make_batchers(history=8)
    teachers = [LiveTeacher(tiny_model(history=8, seed=s)) for s in (1, 2, 3)]
    batch = next(iter(train))

    logits, features = StackedTeachers(teachers).outputs(batch)

    assert logits.shape == (3, *teachers[0].outputs(batch)[0].shape)
    assert features["final"].shape[0] == 3
    torch.testing.assert_close(logits[1], teachers[1].outputs(batch)[0])


def test_a_shared_cache_of_every_feature_gives_the_same_kd_loss_as_the_live_teacher(tmp_path):
    train, val, _ = make_batchers(history=8)
    teacher = tiny_model(history=8, seed=1)
    CachedTeacher.build(teacher, [train, val], feature_keys=None).save(tmp_path / "shared.safetensors")
    recipe = {
        "task": {"loss": "focal", "weight": 0.5},
        "rkd": {"loss": "rkd-cosine", "weight": 0.5},
        "kd": {"loss": "logit-kd", "weight": 0.5},
    }
    student = tiny_model(history=3, seed=4).eval()
    batch = next(iter(train))
    shared = CachedTeacher.load_shared(tmp_path / "shared.safetensors", teacher, [train, val], ("final",))
    calls = _count_forwards(teacher)

    def loss(source) -> torch.Tensor:
        composer = build_composer(recipe)  # a fresh one: rkd_cosine draws partners from its own generator
        output = student(inputs_for(batch, 3))
        return composer(build_context(batch, output, source.outputs(batch)))[0]

    from_cache = loss(shared)
    assert calls[0] == 0
    torch.testing.assert_close(from_cache, loss(LiveTeacher(teacher)))
    assert set(shared.features) == {"final"}  # a run keeps only what its recipe reads


def test_a_shared_cache_is_refused_for_other_weights_windows_or_features(tmp_path):
    train, val, test = make_batchers(history=8)
    teacher = tiny_model(history=8, seed=1)
    path = tmp_path / "shared.safetensors"
    CachedTeacher.build(teacher, [train, val], feature_keys=("final",)).save(path)

    with pytest.raises(CheckpointError, match="other teacher weights"):
        CachedTeacher.load_shared(path, tiny_model(history=8, seed=2), [train, val])
    with pytest.raises(CheckpointError, match="lack .* window"):
        CachedTeacher.load_shared(path, teacher, [train, test])
    with pytest.raises(CheckpointError, match="lacks the teacher feature 'frame'"):
        CachedTeacher.load_shared(path, teacher, [train, val], ("final", "frame"))
