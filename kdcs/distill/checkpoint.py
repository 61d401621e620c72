"""Checkpoints: safetensors for tensors, JSON for everything else, never a pickle.

Layout inside a run folder:

    run_dir/last.json                      pointer to the newest complete checkpoint (the commit point)
    run_dir/checkpoints/epoch-0003/
        model.safetensors                  model state (self-describing: its ModelConfig in the metadata)
        kd_adapters.safetensors            the composer's KD-only parameters (projections, time maps)
        ema.safetensors                    the weight average (`kdcs.distill.weight_average`), when on
        optim.safetensors                  optimiser tensors ("state.3.exp_avg") + torch RNG states
        state.json                         optimiser param groups and scalars, numpy RNG state, epoch,
                                           best metric, history, configs, sha256 of each file above
    run_dir/best.safetensors               deployable weights of the best validation epoch
    run_dir/best_kd_adapters.safetensors   the adapters of that epoch (kept apart from the weights)

Atomicity: a checkpoint folder is written under a temporary name and renamed into place, then
`last.json` is replaced (os.replace) to point at it, then older checkpoint folders are removed.
A run killed at any moment therefore leaves `last.json` naming a complete checkpoint. Single
files (best.safetensors) are written to a temporary name and os.replace'd.

Loading checks everything (file readable, hashes, architecture, config, key set, shapes) before
it touches a model or optimiser: a mismatch raises CheckpointError naming the file and the first
offending key, and nothing is half-loaded. The weights files themselves (format, checks) are
`kdcs.models.weights`.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save as save_safetensors_bytes
from torch import nn

from kdcs.atomic_files import write_bytes_atomically, write_json_atomically
from kdcs.models.weights import (
    CheckpointError,
    check_model_compatible,
    check_same_tensors,
    cpu_tensors,
    read_safetensors,
    save_model_weights,
    sha256_hex,
)

POINTER_NAME = "last.json"
CHECKPOINTS_FOLDER = "checkpoints"
MODEL_FILE = "model.safetensors"
ADAPTERS_FILE = "kd_adapters.safetensors"
AVERAGE_FILE = "ema.safetensors"
OPTIM_FILE = "optim.safetensors"
STATE_FILE = "state.json"
CHECKPOINT_FORMAT = "kdcs-checkpoint-v1"


# ----------------------------------------------------------------------------- KD adapters


def save_adapter_weights(path: Path, adapters: nn.Module | None) -> str:
    """Write the KD-only adapters (the composer's state) atomically; returns the file's sha256."""
    state = adapters.state_dict() if adapters is not None else {}
    data = save_safetensors_bytes(cpu_tensors(state), metadata={"format": "kdcs-kd-adapters-v1"})
    write_bytes_atomically(Path(path), data)
    return sha256_hex(data)


# ----------------------------------------------------------------------------- optimiser state


def flatten_optimizer_state(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Optimiser state as (tensors {"state.<param>.<name>": tensor}, JSON part {param groups, scalars})."""
    state_dict = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for param_id, entries in state_dict["state"].items():
        for name, value in entries.items():
            if isinstance(value, torch.Tensor):
                # a copy: the live optimiser keeps updating its own tensors in place
                tensors[f"state.{param_id}.{name}"] = value.detach().clone()
            else:
                scalars.setdefault(str(param_id), {})[name] = value
    return tensors, {"param_groups": state_dict["param_groups"], "scalars": scalars}


def unflatten_optimizer_state(
    tensors: Mapping[str, torch.Tensor], json_part: Mapping[str, Any], optimizer: torch.optim.Optimizer
) -> dict[str, Any]:
    """Rebuild an optimizer.state_dict() from `flatten_optimizer_state` output.

    JSON turns tuples into lists; values that are tuples in the live optimizer's groups (Adam's
    betas) become tuples again.
    """
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        _, param_id, name = key.split(".", 2)
        state.setdefault(int(param_id), {})[name] = value
    for param_id, entries in json_part["scalars"].items():
        state.setdefault(int(param_id), {}).update(entries)
    groups = []
    for saved, live in zip(json_part["param_groups"], optimizer.param_groups, strict=False):
        groups.append(
            {key: tuple(value) if isinstance(live.get(key), tuple) else value for key, value in saved.items()}
        )
    return {"state": state, "param_groups": groups}


def _check_optimizer_compatible(
    path: Path, json_part: Mapping[str, Any], optimizer: torch.optim.Optimizer
) -> None:
    saved_groups = json_part["param_groups"]
    if len(saved_groups) != len(optimizer.param_groups):
        raise CheckpointError(
            f"{path}: optimiser has {len(saved_groups)} parameter groups, the run has {len(optimizer.param_groups)}"
        )
    for index, (saved, live) in enumerate(zip(saved_groups, optimizer.param_groups, strict=True)):
        if len(saved["params"]) != len(live["params"]):
            raise CheckpointError(
                f"{path}: optimiser group {index} holds {len(saved['params'])} parameters, "
                f"the run has {len(live['params'])}"
            )


# ----------------------------------------------------------------------------- RNG state


def capture_rng_state(batcher_rng: np.random.Generator | None) -> tuple[dict[str, torch.Tensor], dict]:
    """(tensors, JSON) of torch's CPU (and CUDA) generators and the batcher's numpy generator."""
    tensors = {"rng.torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for index, cuda_state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.torch_cuda.{index}"] = cuda_state
    numpy_state = batcher_rng.bit_generator.state if batcher_rng is not None else None
    return tensors, {"numpy_batcher_rng": numpy_state}


def restore_rng_state(
    tensors: Mapping[str, torch.Tensor], json_part: Mapping[str, Any], batcher_rng: np.random.Generator | None
) -> None:
    torch.set_rng_state(tensors["rng.torch_cpu"])
    cuda_states = [tensors[key] for key in sorted(tensors) if key.startswith("rng.torch_cuda.")]
    if cuda_states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda_states)
    if batcher_rng is not None and json_part.get("numpy_batcher_rng") is not None:
        batcher_rng.bit_generator.state = json_part["numpy_batcher_rng"]


# ----------------------------------------------------------------------------- whole checkpoints


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The checkpoint folder `last.json` points at, or None when the run has none."""
    pointer = Path(run_dir) / POINTER_NAME
    if not pointer.is_file():
        return None
    try:
        target = json.loads(pointer.read_text())["checkpoint"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise CheckpointError(f"{pointer} is corrupt: it should name the latest checkpoint folder") from None
    folder = Path(run_dir) / target
    if not (folder / STATE_FILE).is_file():
        raise CheckpointError(f"{pointer} names {folder}, which holds no {STATE_FILE}")
    return folder


def save_checkpoint(
    run_dir: Path,
    epoch: int,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    adapters: nn.Module | None,
    batcher_rng: np.random.Generator | None,
    state: Mapping[str, Any],
    averaged: nn.Module | None = None,
) -> Path:
    """Write the checkpoint of completed epoch `epoch` (1-based) and point last.json at it.

    `state` is JSON-ready run state (history, best metric, configs); tensors never go there.
    `averaged`: the weight-averaged model, when the run keeps one. Returns the checkpoint folder.
    """
    run_dir = Path(run_dir)
    name = f"epoch-{epoch:04d}"
    final = run_dir / CHECKPOINTS_FOLDER / name
    temporary = final.with_name(f".{name}.tmp-{os.getpid()}")
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    try:
        _write_checkpoint_files(temporary, model, optimizer, adapters, batcher_rng, state, epoch, averaged)
        shutil.rmtree(final, ignore_errors=True)  # a leftover of a run killed after this rename
        os.replace(temporary, final)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    write_json_atomically(
        run_dir / POINTER_NAME, {"checkpoint": f"{CHECKPOINTS_FOLDER}/{name}", "epoch": epoch}
    )
    _remove_other_checkpoints(run_dir / CHECKPOINTS_FOLDER, keep=name)
    return final


def _write_checkpoint_files(
    folder: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    adapters: nn.Module | None,
    batcher_rng: np.random.Generator | None,
    state: Mapping[str, Any],
    epoch: int,
    averaged: nn.Module | None,
) -> dict[str, str]:
    hashes = {
        MODEL_FILE: save_model_weights(folder / MODEL_FILE, model),
        ADAPTERS_FILE: save_adapter_weights(folder / ADAPTERS_FILE, adapters),
    }
    if averaged is not None:
        hashes[AVERAGE_FILE] = save_model_weights(folder / AVERAGE_FILE, averaged)
    optim_tensors, optim_json = flatten_optimizer_state(optimizer)
    rng_tensors, rng_json = capture_rng_state(batcher_rng)
    optim_bytes = save_safetensors_bytes(cpu_tensors({**optim_tensors, **rng_tensors}))
    write_bytes_atomically(folder / OPTIM_FILE, optim_bytes)
    hashes[OPTIM_FILE] = sha256_hex(optim_bytes)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "epoch": epoch,
        "optimizer": optim_json,
        "rng": rng_json,
        "sha256": hashes,
        "run": dict(state),
    }
    write_json_atomically(folder / STATE_FILE, payload)  # last: the folder is complete once it exists
    return hashes


def _remove_other_checkpoints(folder: Path, keep: str) -> None:
    for entry in folder.iterdir():
        if entry.name != keep:
            shutil.rmtree(entry, ignore_errors=True)


def read_checkpoint_state(checkpoint: Path) -> dict[str, Any]:
    """The parsed state.json of a checkpoint folder (CheckpointError when unreadable)."""
    path = Path(checkpoint) / STATE_FILE
    try:
        payload = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path} is unreadable or corrupt: {error}") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a kdcs checkpoint ({CHECKPOINT_FORMAT})")
    return payload


def load_checkpoint(
    checkpoint: Path,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    adapters: nn.Module | None,
    batcher_rng: np.random.Generator | None,
    averaged: nn.Module | None = None,
) -> dict[str, Any]:
    """Restore model, adapters, optimiser and RNG states from a checkpoint folder; returns its run state.

    `averaged`: the run's weight-averaged model, restored from the checkpoint's average.

    Every file is read and checked first (hashes, architecture, keys, shapes, optimiser groups);
    only then is anything restored, so a bad checkpoint leaves the live objects untouched.
    """
    checkpoint = Path(checkpoint)
    payload = read_checkpoint_state(checkpoint)
    hashes = payload["sha256"]
    model_tensors, model_meta = read_safetensors(checkpoint / MODEL_FILE, hashes[MODEL_FILE])
    check_model_compatible(checkpoint / MODEL_FILE, model_tensors, model_meta, model)
    adapter_tensors, _ = read_safetensors(checkpoint / ADAPTERS_FILE, hashes[ADAPTERS_FILE])
    check_same_tensors(checkpoint / ADAPTERS_FILE, adapter_tensors, adapters.state_dict() if adapters else {})
    optim_tensors, _ = read_safetensors(checkpoint / OPTIM_FILE, hashes[OPTIM_FILE])
    _check_optimizer_compatible(checkpoint / OPTIM_FILE, payload["optimizer"], optimizer)
    state_tensors = {k: v for k, v in optim_tensors.items() if k.startswith("state.")}
    rng_tensors = {k: v for k, v in optim_tensors.items() if k.startswith("rng.")}
    optimizer_state = unflatten_optimizer_state(state_tensors, payload["optimizer"], optimizer)
    average_tensors = None
    if averaged is not None:
        if AVERAGE_FILE not in hashes:
            raise CheckpointError(
                f"{checkpoint} holds no {AVERAGE_FILE}: it was trained without weight averaging (train.ema_decay)"
            )
        average_tensors, average_meta = read_safetensors(checkpoint / AVERAGE_FILE, hashes[AVERAGE_FILE])
        check_model_compatible(checkpoint / AVERAGE_FILE, average_tensors, average_meta, averaged)

    model.load_state_dict(model_tensors, strict=True)
    if averaged is not None:
        averaged.load_state_dict(average_tensors, strict=True)
    if adapters is not None:
        adapters.load_state_dict(adapter_tensors, strict=True)
    optimizer.load_state_dict(optimizer_state)
    restore_rng_state(rng_tensors, payload["rng"], batcher_rng)
    return payload["run"]


def load_adapter_weights(path: Path, adapters: nn.Module) -> None:
    """Load KD adapters saved by `save_adapter_weights`; strict, checked before anything is touched."""
    tensors, _ = read_safetensors(Path(path))
    check_same_tensors(Path(path), tensors, adapters.state_dict())
    adapters.load_state_dict(tensors, strict=True)
