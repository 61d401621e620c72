"""The weights-file format: a model's state dict as safetensors, its ModelConfig in the metadata.

A weights file is self-describing (`kdcs-model-weights-v1`: the model class and its config as JSON
in the safetensors metadata), so a model can be rebuilt from the file alone and nothing is ever
unpickled. Loading checks everything (file readable, hash when one is recorded, architecture,
config, key set, shapes) before it touches the model: a mismatch raises CheckpointError naming the
file and the first offending key, and nothing is half-loaded. Checkpoint folders
(`kdcs.distill.checkpoint`) hold such files beside the optimiser and RNG state.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes
from torch import nn

from kdcs.atomic_files import write_bytes_atomically
from kdcs.config import to_dict

WEIGHTS_FORMAT = "kdcs-model-weights-v1"


class CheckpointError(ValueError):
    """A weights file or checkpoint that cannot be loaded into what it was asked to fill."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cpu_tensors(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # clone: safetensors refuses tensors that share storage (tied weights, views)
    return {key: value.detach().to("cpu").contiguous().clone() for key, value in state.items()}


def _safetensors_header(data: bytes, path: Path) -> dict[str, Any]:
    """The JSON header of a safetensors blob; CheckpointError when it is truncated or garbled."""
    if len(data) < 8:
        raise CheckpointError(f"{path} is not a safetensors file (only {len(data)} bytes; truncated?)")
    header_length = int.from_bytes(data[:8], "little")
    if header_length > len(data) - 8:
        raise CheckpointError(f"{path} is truncated or corrupt (header says {header_length} bytes)")
    try:
        header = json.loads(data[8 : 8 + header_length])
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError(f"{path} is corrupt: its safetensors header is not valid JSON") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path} is corrupt: its safetensors header is not a mapping")
    return header


def read_safetensors(path: Path, expected_sha256: str | None = None) -> tuple[dict[str, torch.Tensor], dict]:
    """(tensors, metadata) of a safetensors file, checked; CheckpointError naming the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint file {path} does not exist")
    data = path.read_bytes()
    if expected_sha256 is not None and sha256_hex(data) != expected_sha256:
        raise CheckpointError(
            f"{path} does not match the hash recorded with its checkpoint (corrupt or replaced)"
        )
    header = _safetensors_header(data, path)
    try:
        tensors = load_safetensors_bytes(data)
    except Exception as error:  # safetensors raises its own error types for every kind of damage
        raise CheckpointError(f"{path} is truncated or corrupt: {error}") from None
    return tensors, dict(header.get("__metadata__") or {})


def _model_description(model: nn.Module) -> dict[str, str]:
    config = getattr(model, "config", None)
    return {
        "model_class": type(model).__name__,
        "model_config": json.dumps(to_dict(config) if config is not None else None, sort_keys=True),
    }


def model_weights_bytes(model: nn.Module) -> bytes:
    """The model's state dict as a self-describing safetensors blob (config in the metadata)."""
    metadata = {"format": WEIGHTS_FORMAT, **_model_description(model)}
    return save_safetensors_bytes(cpu_tensors(model.state_dict()), metadata=metadata)


def save_model_weights(path: Path, model: nn.Module) -> str:
    """Write the model's weights atomically; returns the file's sha256."""
    data = model_weights_bytes(model)
    write_bytes_atomically(Path(path), data)
    return sha256_hex(data)


def _first_config_difference(saved: dict | None, current: dict | None) -> str | None:
    if saved is None or current is None:
        return None if saved == current else "model_config"
    for key in sorted(set(saved) | set(current)):
        if saved.get(key) != current.get(key):
            return key
    return None


def _with_later_defaults(saved: dict | None, model: nn.Module) -> dict | None:
    """The saved config, with fields added to the config class since it was written set to their defaults.

    A field added later defaults to what kdcs did before it existed (e.g. `modality_dropout` 0.0),
    so weights written by an earlier version still load; a field present in the file is never changed.
    """
    config = getattr(model, "config", None)
    if saved is None or not dataclasses.is_dataclass(config):
        return saved
    defaults = to_dict(type(config)())
    return {**{key: value for key, value in defaults.items() if key not in saved}, **saved}


def check_model_compatible(
    path: Path, tensors: Mapping[str, torch.Tensor], metadata: dict, model: nn.Module
) -> None:
    """Raise CheckpointError unless `tensors` load into `model` exactly (strict, same shapes and config)."""
    described = _model_description(model)
    saved_config = _with_later_defaults(json.loads(metadata.get("model_config", "null")), model)
    current_config = json.loads(described["model_config"])
    saved_arch = (saved_config or {}).get("architecture", metadata.get("model_class"))
    current_arch = (current_config or {}).get("architecture", described["model_class"])
    if saved_arch != current_arch:
        raise CheckpointError(
            f"{path} holds a '{saved_arch}' model, but the model to load is '{current_arch}'"
        )
    difference = _first_config_difference(saved_config, current_config)
    if difference is not None:
        saved_value = (saved_config or {}).get(difference)
        current_value = (current_config or {}).get(difference)
        raise CheckpointError(
            f"{path} was saved with model config {difference}={saved_value!r}, the model has {current_value!r}"
        )
    check_same_tensors(path, tensors, model.state_dict())


def check_same_tensors(
    path: Path, saved: Mapping[str, torch.Tensor], current: Mapping[str, torch.Tensor]
) -> None:
    missing = [key for key in current if key not in saved]
    if missing:
        raise CheckpointError(f"{path} lacks tensor '{missing[0]}' that the model has")
    unexpected = [key for key in saved if key not in current]
    if unexpected:
        raise CheckpointError(f"{path} has tensor '{unexpected[0]}' that the model lacks")
    for key, value in current.items():
        if tuple(saved[key].shape) != tuple(value.shape):
            raise CheckpointError(
                f"{path}: tensor '{key}' has shape {tuple(saved[key].shape)}, the model needs {tuple(value.shape)}"
            )


def load_model_weights(path: Path, model: nn.Module, expected_sha256: str | None = None) -> None:
    """Load weights saved by `save_model_weights` (or a checkpoint's model.safetensors) into `model`.

    Everything is checked before the model is touched: the file is readable, its architecture and
    config equal the model's, and the key sets and shapes match exactly (strict). Raises
    CheckpointError naming the file and the first mismatch.
    """
    tensors, metadata = read_safetensors(Path(path), expected_sha256)
    check_model_compatible(Path(path), tensors, metadata, model)
    model.load_state_dict(tensors, strict=True)


def read_model_config(path: Path) -> dict | None:
    """The model config (as a dict, `kdcs.config.to_dict` form) recorded in a weights file."""
    _, metadata = read_safetensors(Path(path))
    return json.loads(metadata.get("model_config", "null"))
