"""Unit tests for kdcs.distill.checkpoint: strict, checked, atomic, pickle-free checkpoints."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import save as save_safetensors_bytes
from torch import nn

from kdcs.distill.checkpoint import (
    flatten_optimizer_state,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
    unflatten_optimizer_state,
)
from kdcs.models import ModelConfig, build_model
from kdcs.models.weights import (
    CheckpointError,
    load_model_weights,
    read_model_config,
    read_safetensors,
    save_model_weights,
)
from tests.fixtures.training import files_under, tiny_model


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {key: value.clone() for key, value in model.state_dict().items()}


def _unchanged(model: nn.Module, snapshot: dict[str, torch.Tensor]) -> bool:
    return all(torch.equal(value, snapshot[key]) for key, value in model.state_dict().items())


def _adam_after_steps(model: nn.Module, steps: int = 3) -> torch.optim.Optimizer:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(0)
    for _ in range(steps):
        batch = {
            "gps": torch.randn(4, 3, 4, generator=generator),
            "beam_history": torch.randint(0, 64, (4, 3)),
        }
        optimizer.zero_grad()
        model(batch).logits.square().mean().backward()
        optimizer.step()
    return optimizer


def _radar_student() -> nn.Module:
    config = ModelConfig(architecture="radar-student", history=3, horizon=2, radar_size=(8, 8), hidden=16)
    return build_model(config)


def test_weights_round_trip_exactly_and_record_their_config(tmp_path):
    saved, loaded = tiny_model(seed=0), tiny_model(seed=1)

    save_model_weights(tmp_path / "w.safetensors", saved)
    load_model_weights(tmp_path / "w.safetensors", loaded)

    assert _unchanged(loaded, _snapshot(saved))
    assert read_model_config(tmp_path / "w.safetensors")["architecture"] == "gps-beam-student"


def test_another_architecture_is_refused_before_the_model_is_touched(tmp_path):
    save_model_weights(tmp_path / "w.safetensors", _radar_student())
    model = tiny_model()
    before = _snapshot(model)

    with pytest.raises(
        CheckpointError, match="holds a 'radar-student' model, but the model to load is 'gps-beam-student'"
    ):
        load_model_weights(tmp_path / "w.safetensors", model)
    assert _unchanged(model, before)


def test_another_width_is_refused_naming_the_config_key(tmp_path):
    save_model_weights(tmp_path / "w.safetensors", tiny_model(hidden=32))
    model = tiny_model()

    with pytest.raises(CheckpointError, match="hidden=32"):
        load_model_weights(tmp_path / "w.safetensors", model)


def test_a_key_mismatch_names_the_key_and_loads_nothing(tmp_path):
    save_model_weights(tmp_path / "w.safetensors", nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2)))
    target = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))  # second layer is "2.", not "1."
    before = _snapshot(target)

    with pytest.raises(CheckpointError, match="lacks tensor '2.weight'"):
        load_model_weights(tmp_path / "w.safetensors", target)
    assert _unchanged(target, before)


@pytest.mark.parametrize("damage", ["truncate", "garble_header", "empty"])
def test_a_corrupt_or_truncated_file_gets_a_clear_error(tmp_path, damage):
    path = tmp_path / "w.safetensors"
    save_model_weights(path, tiny_model())
    data = path.read_bytes()
    damaged = {
        "truncate": data[: len(data) // 2],
        "garble_header": data[:8] + b"\xff" * 40 + data[48:],
        "empty": b"",
    }
    path.write_bytes(damaged[damage])
    model = tiny_model(seed=4)
    before = _snapshot(model)

    with pytest.raises(CheckpointError, match=r"w\.safetensors .*(truncated|corrupt)"):
        load_model_weights(path, model)
    assert _unchanged(model, before)


def test_optimizer_state_survives_flattening_and_continues_identically():
    model = tiny_model()
    optimizer = _adam_after_steps(model)
    twin = tiny_model(seed=9)
    twin.load_state_dict(model.state_dict())
    twin_optimizer = torch.optim.AdamW(twin.parameters(), lr=1e-2)

    tensors, json_part = flatten_optimizer_state(optimizer)
    restored = unflatten_optimizer_state(tensors, json.loads(json.dumps(json_part)), twin_optimizer)
    twin_optimizer.load_state_dict(restored)
    _adam_continue(model, optimizer)
    _adam_continue(twin, twin_optimizer)

    assert "state.0.exp_avg" in tensors and twin_optimizer.param_groups[0]["betas"] == (0.9, 0.999)
    assert _unchanged(twin, _snapshot(model))


def _adam_continue(model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
    generator = torch.Generator().manual_seed(5)
    batch = {
        "gps": torch.randn(4, 3, 4, generator=generator),
        "beam_history": torch.zeros(4, 3, dtype=torch.long),
    }
    optimizer.zero_grad()
    model(batch).logits.square().mean().backward()
    optimizer.step()


def test_checkpoint_restores_model_optimizer_and_both_generators(tmp_path):
    model = tiny_model()
    optimizer = _adam_after_steps(model)
    rng = np.random.default_rng(3)
    rng.random(5)
    torch.manual_seed(11)
    save_checkpoint(
        tmp_path, 2, model=model, optimizer=optimizer, adapters=None, batcher_rng=rng, state={"x": 1}
    )
    expected_numpy, expected_torch = rng.random(3), torch.rand(3)
    other = tiny_model(seed=5)
    other_optimizer = torch.optim.AdamW(other.parameters(), lr=1e-2)
    other_rng = np.random.default_rng(99)

    torch.manual_seed(0)
    state = load_checkpoint(
        latest_checkpoint(tmp_path),
        model=other,
        optimizer=other_optimizer,
        adapters=None,
        batcher_rng=other_rng,
    )

    assert state == {"x": 1} and _unchanged(other, _snapshot(model))
    assert np.array_equal(other_rng.random(3), expected_numpy) and torch.equal(torch.rand(3), expected_torch)
    assert other_optimizer.state_dict()["state"][0]["step"] == optimizer.state_dict()["state"][0]["step"]


def test_only_the_newest_checkpoint_is_kept_and_last_json_points_at_it(tmp_path):
    model = tiny_model()
    optimizer = _adam_after_steps(model, steps=1)
    (tmp_path / "checkpoints" / ".epoch-0002.tmp-1").mkdir(parents=True)  # left by a killed save

    for epoch in (1, 2):
        save_checkpoint(
            tmp_path, epoch, model=model, optimizer=optimizer, adapters=None, batcher_rng=None, state={}
        )

    assert latest_checkpoint(tmp_path) == tmp_path / "checkpoints" / "epoch-0002"
    assert files_under(tmp_path) == [
        "checkpoints/epoch-0002/kd_adapters.safetensors",
        "checkpoints/epoch-0002/model.safetensors",
        "checkpoints/epoch-0002/optim.safetensors",
        "checkpoints/epoch-0002/state.json",
        "last.json",
    ]


def test_a_damaged_checkpoint_file_is_caught_by_its_hash_and_nothing_is_restored(tmp_path):
    model = tiny_model()
    optimizer = _adam_after_steps(model, steps=1)
    folder = save_checkpoint(
        tmp_path, 1, model=model, optimizer=optimizer, adapters=None, batcher_rng=None, state={}
    )
    optim_file = folder / "optim.safetensors"
    data = bytearray(optim_file.read_bytes())
    data[-1] ^= 0xFF  # one flipped bit in a tensor: still parses, but is wrong
    optim_file.write_bytes(bytes(data))
    other = tiny_model(seed=5)
    before = _snapshot(other)

    with pytest.raises(CheckpointError, match="optim.safetensors does not match the hash"):
        load_checkpoint(
            folder,
            model=other,
            optimizer=torch.optim.AdamW(other.parameters()),
            adapters=None,
            batcher_rng=None,
        )
    assert _unchanged(other, before)


def test_a_corrupt_pointer_is_reported(tmp_path):
    (tmp_path / "last.json").write_text("{not json")

    with pytest.raises(CheckpointError, match="last.json is corrupt"):
        latest_checkpoint(tmp_path)


def test_weights_written_before_a_config_field_existed_still_load(tmp_path):
    save_model_weights(tmp_path / "new.safetensors", tiny_model(seed=0))
    tensors, metadata = read_safetensors(tmp_path / "new.safetensors")
    config = json.loads(metadata["model_config"])
    del config["modality_dropout"]  # as kdcs wrote it before modality dropout existed
    old = tmp_path / "old.safetensors"
    old.write_bytes(save_safetensors_bytes(tensors, metadata={**metadata, "model_config": json.dumps(config)}))
    loaded = tiny_model(seed=1)

    load_model_weights(old, loaded)

    assert _unchanged(loaded, tensors)
    with pytest.raises(CheckpointError, match="modality_dropout=0.0, the model has 0.5"):
        load_model_weights(old, tiny_model(modality_dropout=0.5))
