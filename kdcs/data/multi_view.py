"""Several APs' data at the same instants, pooled: one window, every AP's views and every AP's labels.

The APs of one street observe the same vehicle at the same instants (their CSVs share `index`,
`seq_index` and time stamps), each with its own sensors and its own beam labels. A central node that
receives every AP's raw data can train on all views at once. This module joins the APs' prepared
data by sample index (the instants every AP logged, in the first AP's order), windows and splits the
joined rows by sequence, and batches them with keys "<ap>/<modality>" (e.g. "ap2/camera_motion",
"ap3/beam_history") and targets of every AP stacked AP-major: target [B, A * (J+1)] holds AP 1's
slots t..t+J, then AP 2's, and so on, so the trainer, the task loss and the metrics see A * (J+1)
slots of one model.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kdcs.config import ConfigError
from kdcs.data.partition import split_sequences, windows_in_sequences
from kdcs.data.prepared import SPLITS, PreparedData
from kdcs.data.windows import WindowBatcher, WindowIndex, WindowSpec, build_windows

VIEW_SEPARATOR = "/"
# Per-row arrays every joined AP keeps besides its inputs: labels, sequences, powers.
_LABEL_ARRAYS = ("beam", "seq_index", "power")


def view_key(ap: str, modality: str) -> str:
    """The batch key of one AP's modality, e.g. view_key("ap2", "radar") == "ap2/radar"."""
    return f"{ap}{VIEW_SEPARATOR}{modality}"


def split_view(key: str) -> tuple[str, str]:
    """("ap2", "radar") from "ap2/radar"; ValueError for a key that names no AP."""
    ap, separator, modality = key.partition(VIEW_SEPARATOR)
    if not separator or not ap or not modality:
        raise ValueError(f"view {key!r} must read '<ap>{VIEW_SEPARATOR}<modality>', e.g. 'ap1/radar'")
    return ap, modality


def aligned_rows(
    sample_index: Mapping[str, np.ndarray], seq_index: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Rows of the instants every AP logged, per AP, in the first AP's row order.

    Input: per AP, index [N_ap] (the CSV `index`) and seq_index [N_ap]. Output: per AP, rows [N] int64
    such that sample_index[ap][rows[ap]] is the same for every AP. ConfigError when an instant sits
    in different sequences at two APs, or when the APs share no instant.
    """
    names = list(sample_index)
    first = names[0]
    common = np.asarray(sample_index[first])
    for name in names[1:]:
        common = common[np.isin(common, sample_index[name])]  # keeps the first AP's order
    if common.size == 0:
        raise ConfigError(f"APs {names} share no sample index: their data are not the same instants")
    rows = {}
    for name in names:
        position = {int(value): row for row, value in enumerate(np.asarray(sample_index[name]))}
        rows[name] = np.array([position[int(value)] for value in common], dtype=np.int64)
    reference = np.asarray(seq_index[first])[rows[first]]
    for name in names[1:]:
        differs = np.flatnonzero(np.asarray(seq_index[name])[rows[name]] != reference)
        if differs.size:
            raise ConfigError(
                f"sample index {int(common[differs[0]])} is in seq_index {int(reference[differs[0]])} at "
                f"{first} but {int(np.asarray(seq_index[name])[rows[name]][differs[0]])} at {name}"
            )
    return rows


INPUTS = ("camera", "camera_motion", "radar", "gps")


@dataclass
class MultiViewData:
    """Every AP's per-row arrays, joined on the instants they all logged.

    Attributes: aps (names, the order of heads and targets); arrays {ap: {name: [N_ap, ...]}} with
    at least "index", "seq_index", "beam" (a cache's arrays, or what the AP uploaded); rows {ap: [N]}
    row of each joined instant in that AP's arrays; spec; windows {split: WindowIndex over joined
    rows}; num_beams.
    """

    aps: tuple[str, ...]
    arrays: dict[str, Mapping[str, np.ndarray]]
    rows: dict[str, np.ndarray]
    spec: WindowSpec
    windows: dict[str, WindowIndex]
    num_beams: int = 64

    @classmethod
    def join(cls, per_ap: Mapping[str, PreparedData], split: Sequence[float]) -> MultiViewData:
        """Join the APs' prepared data (one window spec) and split the joined sequences by `split`."""
        specs = {data.spec for data in per_ap.values()}
        if len(specs) != 1:
            raise ConfigError(
                f"APs {list(per_ap)} were windowed differently ({specs}); use one data.history/horizon"
            )
        arrays = {ap: data.cache.arrays for ap, data in per_ap.items()}
        num_beams = next(iter(per_ap.values())).cache.num_beams
        joined = cls.of_arrays(arrays, specs.pop(), num_beams)
        seq_index = joined.joined_array("seq_index")
        _, first = np.unique(seq_index, return_index=True)
        sequences = split_sequences(seq_index[np.sort(first)], split)
        every = build_windows(seq_index, joined.spec)
        joined.windows = {name: windows_in_sequences(every, sequences[name]) for name in SPLITS}
        return joined

    @classmethod
    def of_arrays(
        cls,
        arrays: Mapping[str, Mapping[str, np.ndarray]],
        spec: WindowSpec,
        num_beams: int = 64,
        split_ids: Mapping[str, np.ndarray] | None = None,
    ) -> MultiViewData:
        """Join per-AP arrays; windows per split are those whose end sample id is in `split_ids`
        ({split: ids}; None: no split yet, every joined window under "all")."""
        aps = tuple(arrays)
        rows = aligned_rows(
            {ap: np.asarray(arrays[ap]["index"]) for ap in aps},
            {ap: np.asarray(arrays[ap]["seq_index"]) for ap in aps},
        )
        joined = cls(aps, dict(arrays), rows, spec, {}, num_beams)
        every = build_windows(joined.joined_array("seq_index"), spec)
        end_ids = joined.joined_array("index")[every.end_rows]
        joined.windows = {"all": every}
        for name, ids in (split_ids or {}).items():
            joined.windows[name] = every.subset(np.isin(end_ids, np.asarray(ids)))
        return joined

    def joined_array(self, name: str, ap: str | None = None) -> np.ndarray:
        """Array `name` of AP `ap` (default: the first) in joined row order."""
        ap = ap or self.aps[0]
        return np.asarray(self.arrays[ap][name])[self.rows[ap]]

    def ap_rows(self, ap: str, joined_rows: np.ndarray) -> np.ndarray:
        """Rows of AP `ap`'s own arrays for joined rows [...] (e.g. a window's end row)."""
        return self.rows[ap][np.asarray(joined_rows, dtype=np.int64)]

    def window_ids(self, split: str) -> np.ndarray:
        """Sample ids of the end rows of the joined windows of one split."""
        return self.joined_array("index")[self.windows[split].end_rows]

    def modalities(self, ap: str) -> tuple[str, ...]:
        """Per-slot inputs AP `ap` has (beam history always)."""
        return (*[m for m in INPUTS if m in self.arrays[ap]], "beam_history")

    def batcher(
        self, split: str, views: Sequence[str], batch_size: int, *, shuffle: bool = False, seed: int = 0
    ) -> MultiViewBatcher:
        return MultiViewBatcher(self, self.windows[split], views, batch_size, shuffle=shuffle, seed=seed)


class MultiViewBatcher:
    """Batches of joined windows: every asked view, and every AP's targets, AP-major.

    Batch: "<ap>/<modality>" [B, L, ...] as a WindowBatcher gives that modality; "target"
    [B, A * (J+1)] int64; "target_power" [B, A * (J+1), C] when every AP has power; "window_end" [B]
    the joined row t. `windows` and `rng` behave as a WindowBatcher's (the trainer reseeds `rng`).
    """

    def __init__(
        self,
        data: MultiViewData,
        windows: WindowIndex,
        views: Sequence[str],
        batch_size: int,
        *,
        shuffle: bool = False,
        seed: int = 0,
    ) -> None:
        self.data, self.windows, self.batch_size, self.shuffle = data, windows, batch_size, shuffle
        self.views = tuple(views)
        self.rng = np.random.default_rng(seed) if shuffle else None
        wanted: dict[str, list[str]] = {ap: [] for ap in data.aps}
        for view in self.views:
            ap, modality = split_view(view)
            if ap not in wanted:
                raise ConfigError(f"view {view!r} names AP {ap!r}, which is not among {list(data.aps)}")
            if modality not in data.modalities(ap):
                raise ConfigError(
                    f"view {view!r}: {ap} has no {modality!r} (has {list(data.modalities(ap))})"
                )
            wanted[ap].append(modality)
        self._per_ap = {ap: self._ap_batcher(ap, modalities) for ap, modalities in wanted.items()}

    def _ap_batcher(self, ap: str, modalities: list[str]) -> WindowBatcher:
        """A batcher over AP `ap`'s arrays re-ordered to the joined rows (so window rows coincide)."""
        source, rows = self.data.arrays[ap], self.data.rows[ap]
        names = [m for m in modalities if m != "beam_history"] + list(_LABEL_ARRAYS)
        arrays = {name: np.asarray(source[name])[rows] for name in names if name in source}
        return WindowBatcher(
            arrays, self.windows, self.data.spec, modalities, self.batch_size, num_beams=self.data.num_beams
        )

    def __len__(self) -> int:
        return -(-len(self.windows) // self.batch_size)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        order = np.arange(len(self.windows))
        if self.rng is not None:
            order = self.rng.permutation(order)
        for start in range(0, len(order), self.batch_size):
            yield self._batch(order[start : start + self.batch_size])

    def _batch(self, chosen: np.ndarray) -> dict[str, Any]:
        import torch  # local import: the data layer stays usable without loading torch

        parts = {ap: batcher.gather(chosen) for ap, batcher in self._per_ap.items()}
        batch: dict[str, Any] = {}
        for view in self.views:
            ap, modality = split_view(view)
            batch[view] = parts[ap][modality]
        batch["target"] = torch.cat([parts[ap]["target"] for ap in self.data.aps], dim=1)  # [B, A*(J+1)]
        if all("target_power" in part for part in parts.values()):
            batch["target_power"] = torch.cat([parts[ap]["target_power"] for ap in self.data.aps], dim=1)
        batch["window_end"] = parts[self.data.aps[0]]["window_end"]
        return batch
