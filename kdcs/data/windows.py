"""Sliding windows over cached samples: L past observations in, beams at t..t+J out.

A window is named by its end row t (the current slot). Its inputs are rows t-L+1..t and its
targets the beams of rows t..t+J, all inside one sequence (one `seq_index` run); the stride is 1
and the last window of every sequence is kept (the reference code dropped it).

The beam history input is causal: at input slot s it holds beam(s-1), or the pad token
`num_beams` at the first slot of a sequence, so a window's history covers t-L..t-1 and never
sees the label beam(t).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kdcs.data.table import sequence_runs

# The default window, stated once: L observed slots, J future slots (DataConfig's; a model follows its data's).
DEFAULT_HISTORY, DEFAULT_HORIZON = 8, 3

# Array names a batch may carry as per-slot inputs, and the modality they come from.
INPUT_ARRAYS = ("camera", "camera_motion", "radar", "gps", "power")


@dataclass(frozen=True)
class WindowSpec:
    """history = L observed slots (t-L+1..t); horizon = J future slots predicted beyond t."""

    history: int = DEFAULT_HISTORY
    horizon: int = DEFAULT_HORIZON

    def __post_init__(self) -> None:
        if self.history < 1 or self.horizon < 0:
            raise ValueError(
                f"WindowSpec needs history >= 1 and horizon >= 0, got {self.history}, {self.horizon}"
            )

    @property
    def span(self) -> int:
        """Rows a window touches: L + J."""
        return self.history + self.horizon


@dataclass(frozen=True)
class WindowIndex:
    """All windows of a table, as end rows plus precomputed gather indices.

    Attributes (W = number of windows):
        spec: the WindowSpec used.
        end_rows: [W] int64 row t of each window (the current slot).
        seq_ids: [W] int64 seq_index of each window.
        short_sequences: seq_index values too short (fewer than L+J rows) to hold a window.
    """

    spec: WindowSpec
    end_rows: np.ndarray
    seq_ids: np.ndarray
    short_sequences: tuple[int, ...] = field(default=())

    def __len__(self) -> int:
        return int(self.end_rows.shape[0])

    @property
    def input_rows(self) -> np.ndarray:
        """[W, L] int64 rows t-L+1..t."""
        return self.end_rows[:, None] + np.arange(-self.spec.history + 1, 1)[None, :]

    @property
    def target_rows(self) -> np.ndarray:
        """[W, J+1] int64 rows t..t+J."""
        return self.end_rows[:, None] + np.arange(self.spec.horizon + 1)[None, :]

    def subset(self, keep: np.ndarray) -> WindowIndex:
        """Windows selected by a boolean mask [W] or an integer index array."""
        return WindowIndex(self.spec, self.end_rows[keep], self.seq_ids[keep], self.short_sequences)


def build_windows(seq_index: np.ndarray, spec: WindowSpec | None = None) -> WindowIndex:
    """Every stride-1 window that fits inside one sequence.

    A sequence of n rows gives n - L - J + 1 windows (none when n < L + J; those sequences are
    listed in `short_sequences`). Rows must be grouped by sequence (as `SampleTable` guarantees).

    Input: seq_index [N] int. Output: WindowIndex, windows in row order.
    """
    spec = spec or WindowSpec()
    runs = sequence_runs(seq_index)
    seen: set[int] = set()
    end_rows, seq_ids, short = [], [], []
    for seq_id, start, stop in runs:
        if seq_id in seen:
            raise ValueError(f"seq_index {seq_id} appears in more than one run of rows; rows must be grouped")
        seen.add(seq_id)
        first_end, last_end = start + spec.history - 1, stop - 1 - spec.horizon
        if last_end < first_end:
            short.append(seq_id)
            continue
        ends = np.arange(first_end, last_end + 1, dtype=np.int64)
        end_rows.append(ends)
        seq_ids.append(np.full(ends.shape, seq_id, dtype=np.int64))
    empty = np.zeros(0, dtype=np.int64)
    return WindowIndex(
        spec=spec,
        end_rows=np.concatenate(end_rows) if end_rows else empty,
        seq_ids=np.concatenate(seq_ids) if seq_ids else empty,
        short_sequences=tuple(short),
    )


def previous_beams(beam: np.ndarray, seq_index: np.ndarray, pad_token: int) -> np.ndarray:
    """beam(s-1) for every row s, or `pad_token` where s is the first row of its sequence.

    Input: beam [N] int, seq_index [N] int. Output: [N] int64.
    """
    beam = np.asarray(beam, dtype=np.int64)
    seq = np.asarray(seq_index)
    out = np.full(beam.shape, pad_token, dtype=np.int64)
    same_sequence = seq[1:] == seq[:-1]
    out[1:][same_sequence] = beam[:-1][same_sequence]
    return out


def _source_arrays(source: Any) -> tuple[dict[str, np.ndarray], int]:
    """Arrays and beam count from a CacheHandle (duck-typed) or a plain dict of arrays."""
    if isinstance(source, dict):
        return dict(source), 64
    arrays = dict(source.arrays)
    return arrays, int(source.manifest.get("num_beams", 64))


class WindowBatcher:
    """Yields batches of windows gathered from cached arrays.

    Parameters
    ----------
    source: a CacheHandle (`kdcs.data.cache.build`) or a dict name -> array with at least
        "beam" [N] and "seq_index" [N], plus any of "camera" [N, H, W] uint8,
        "camera_motion" [N, H, W] uint8, "radar" [N, R, A], "gps" [N, 4], "power" [N, 64].
    windows: the WindowIndex to draw from (e.g. one split).
    spec: must match windows.spec (checked).
    modalities: per-slot inputs to gather, from INPUT_ARRAYS plus "beam_history". Observed
        "power" is off unless asked for, because power at t reveals the label beam(t).
    batch_size: windows per batch; the last batch may be smaller unless drop_last.
    shuffle, rng: shuffle window order each epoch with this np.random.Generator.
    as_torch: return torch tensors (zero-copy from numpy) instead of numpy arrays.
    num_beams: pad token of the beam history (default: the manifest's num_beams, else 64).
    in_memory: copy the memory-mapped arrays into RAM once (fast gathers); False reads from disk.

    Batch (B windows, L = history, J = horizon):
        "camera" / "camera_motion": [B, L, H, W] uint8, left as 0..255 / 0..1 integers so a batch
            moves 4x fewer bytes; the model scales to float (camera / 255).
        "radar": [B, L, R, A] dB in the cache's dtype (float16 by default; models call .float(),
            and converting here cost 15x the gather on the default scenario); "gps": [B, L, 4] float32; "power": [B, L, 64] float32.
        "beam_history": [B, L] int64 beams t-L..t-1 (pad token at sequence starts).
        "target": [B, J+1] int64 beams t..t+J; "target_power": [B, J+1, 64] float32 when power exists.
        "window_end": [B] int64 row t of each window.
    """

    def __init__(
        self,
        source: Any,
        windows: WindowIndex,
        spec: WindowSpec,
        modalities: Sequence[str],
        batch_size: int = 256,
        shuffle: bool = False,
        rng: np.random.Generator | None = None,
        as_torch: bool = True,
        *,
        num_beams: int | None = None,
        in_memory: bool = True,
        drop_last: bool = False,
    ) -> None:
        if windows.spec != spec:
            raise ValueError(f"window index was built with {windows.spec}, batcher asked for {spec}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if shuffle and rng is None:
            raise ValueError("shuffle=True needs an np.random.Generator passed as rng")
        arrays, default_beams = _source_arrays(source)
        self.num_beams = int(num_beams if num_beams is not None else default_beams)
        self.windows, self.spec, self.batch_size = windows, spec, batch_size
        self.shuffle, self.rng, self.as_torch, self.drop_last = shuffle, rng, as_torch, drop_last
        self.modalities = tuple(modalities)
        self._arrays = self._select_arrays(arrays, in_memory)
        self._input_rows = windows.input_rows  # [W, L]
        self._target_rows = windows.target_rows  # [W, J+1]

    def _select_arrays(self, arrays: dict[str, np.ndarray], in_memory: bool) -> dict[str, np.ndarray]:
        unknown = [m for m in self.modalities if m not in (*INPUT_ARRAYS, "beam_history")]
        if unknown:
            raise ValueError(
                f"unknown batch modality {unknown[0]!r}; known: {(*INPUT_ARRAYS, 'beam_history')}"
            )
        missing = [m for m in self.modalities if m != "beam_history" and m not in arrays]
        if missing:
            raise ValueError(f"modality {missing[0]!r} is not in the cache (has {sorted(arrays)})")
        # np.array copies the memmap into RAM (np.asarray would keep reading pages from the file)
        load = np.array if in_memory else (lambda a: a)
        selected = {m: load(arrays[m]) for m in self.modalities if m != "beam_history"}
        selected["target"] = np.asarray(arrays["beam"], dtype=np.int64)
        if "beam_history" in self.modalities:
            selected["beam_history"] = previous_beams(arrays["beam"], arrays["seq_index"], self.num_beams)
        if "power" in arrays:
            selected["target_power"] = load(arrays["power"])
        return selected

    def __len__(self) -> int:
        full, rest = divmod(len(self.windows), self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        order = np.arange(len(self.windows))
        if self.shuffle:
            order = self.rng.permutation(order)
        for batch_number in range(len(self)):
            yield self.gather(order[batch_number * self.batch_size : (batch_number + 1) * self.batch_size])

    def gather(self, chosen: np.ndarray) -> dict[str, Any]:
        """The batch of the windows at positions `chosen` (of this batcher's window index)."""
        input_rows = self._input_rows[chosen]  # [B, L]
        target_rows = self._target_rows[chosen]  # [B, J+1]
        batch: dict[str, np.ndarray] = {}
        for name, values in self._arrays.items():
            rows = target_rows if name in ("target", "target_power") else input_rows
            batch[name] = values[rows]  # cached dtype kept: models convert (half the bytes for float16 radar)
        batch["window_end"] = self.windows.end_rows[chosen]
        if not self.as_torch:
            return batch
        import torch  # local import: the data layer stays usable without loading torch

        return {name: torch.from_numpy(np.ascontiguousarray(value)) for name, value in batch.items()}
