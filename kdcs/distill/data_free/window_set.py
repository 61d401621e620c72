"""Windows held as tensors (synthetic ones have no table to gather from), their batcher and their file.

A `WindowSet` is what a WindowBatcher batch holds, for N windows at once: {modality: [N, L, ...],
"beam_history": [N, L], "target": [N, J+1], "window_end": [N]} in the cache's dtypes. "window_end"
names each window uniquely within a run (teacher outputs are cached by it): real windows keep their
cache row, synthetic ones are numbered after the last row of the run's cache.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save as save_safetensors_bytes

from kdcs.atomic_files import write_bytes_atomically
from kdcs.models.weights import CheckpointError, read_safetensors

FILE_FORMAT = "kdcs-synthetic-windows-v1"


class WindowSet:
    """N windows as arrays with a leading window axis (see the module docstring)."""

    def __init__(self, arrays: Mapping[str, np.ndarray]) -> None:
        sizes = {name: len(value) for name, value in arrays.items()}
        if len(set(sizes.values())) != 1 or "target" not in arrays or "window_end" not in arrays:
            raise ValueError(f"a window set needs 'target', 'window_end' and one row per window, got {sizes}")
        self.arrays = {name: np.asarray(value) for name, value in arrays.items()}

    def __len__(self) -> int:
        return int(len(self.arrays["target"]))

    def subset(self, keep: np.ndarray) -> WindowSet:
        return WindowSet({name: value[keep] for name, value in self.arrays.items()})

    def concatenated(self, other: WindowSet) -> WindowSet:
        """This set's windows then `other`'s (the entries both hold)."""
        names = [name for name in self.arrays if name in other.arrays]
        return WindowSet({n: np.concatenate([self.arrays[n], other.arrays[n]]) for n in names})

    def renumbered(self, first: int) -> WindowSet:
        """The same windows named first, first+1, ... (their "window_end")."""
        ends = np.arange(first, first + len(self), dtype=np.int64)
        return WindowSet({**self.arrays, "window_end": ends})


class WindowSetBatcher:
    """Batches of a WindowSet as torch tensors, shuffled each epoch by `rng` when asked (the trainer
    reseeds `rng` from its seed, as it does a WindowBatcher's)."""

    def __init__(self, windows: WindowSet, batch_size: int, shuffle: bool = False, seed: int = 0) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.window_set, self.batch_size, self.shuffle = windows, batch_size, shuffle
        self.rng = np.random.default_rng(seed) if shuffle else None

    def __len__(self) -> int:
        return -(-len(self.window_set) // self.batch_size)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        order = (
            self.rng.permutation(len(self.window_set)) if self.shuffle else np.arange(len(self.window_set))
        )
        for start in range(0, len(order), self.batch_size):
            chosen = order[start : start + self.batch_size]
            yield {
                name: torch.from_numpy(np.ascontiguousarray(value[chosen]))
                for name, value in self.window_set.arrays.items()
            }


def save_window_set(path: Path, windows: WindowSet, metadata: Mapping[str, Any]) -> None:
    """One safetensors file, written atomically; `metadata` (JSON-able) is stored beside the format."""
    tensors = {name: torch.from_numpy(np.ascontiguousarray(value)) for name, value in windows.arrays.items()}
    header = {"format": FILE_FORMAT, "metadata": json.dumps(metadata, sort_keys=True)}
    write_bytes_atomically(Path(path), save_safetensors_bytes(tensors, metadata=header))


def load_window_set(path: Path) -> tuple[WindowSet, dict[str, Any]]:
    """(windows, metadata) of a file written by `save_window_set`; CheckpointError naming it otherwise."""
    tensors, header = read_safetensors(Path(path))
    if header.get("format") != FILE_FORMAT:
        raise CheckpointError(f"{path} is not a kdcs synthetic-window file ({FILE_FORMAT})")
    try:
        return WindowSet({name: value.numpy() for name, value in tensors.items()}), json.loads(
            header["metadata"]
        )
    except (KeyError, ValueError) as error:
        raise CheckpointError(f"{path} is damaged: {error}") from None
