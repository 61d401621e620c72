"""From a data config to ready batchers: read the scenario, reuse or build its cache, window and split it.

Everything a training, distillation or evaluation job needs about its data, resolved once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kdcs.config import ConfigError
from kdcs.data.cache.build import CacheHandle, cached_table, prepare
from kdcs.data.cache.location import default_cache_dir
from kdcs.data.deepsense.reader import read_scenario_set
from kdcs.data.partition import split_sequences, windows_in_sequences
from kdcs.data.preprocess import PreprocessConfig
from kdcs.data.table import SampleTable
from kdcs.data.windows import (
    DEFAULT_HISTORY,
    DEFAULT_HORIZON,
    WindowBatcher,
    WindowIndex,
    WindowSpec,
    build_windows,
)

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class DataConfig:
    """Which scenario, how it is windowed and split, and how it is preprocessed.

    scenario: a DeepSense scenario folder, or a multi-AP root (then `ap` picks the folder).
    ap: sub-folder name inside a multi-AP root (e.g. "ap1"); None for a plain scenario folder.
    cache_root: where caches live (default $KDCS_CACHE_DIR or ./data_cache).
    history / horizon: the window's L and J, stated here only: a model's L and J follow them unless
        it sets a shorter L of its own (a student seeing less than its teacher: every model reads
        the last L of its own from each window).
    split: train/val/test fractions of sequences, in sequence order.
    """

    scenario: str = ""
    ap: str | None = None
    cache_root: str | None = None
    history: int = DEFAULT_HISTORY
    horizon: int = DEFAULT_HORIZON
    split: tuple[float, float, float] = (0.7, 0.1, 0.2)
    skip_bad_rows: bool = False
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)


@dataclass
class PreparedData:
    """A scenario's table, its cache and its windows per split."""

    table: SampleTable
    cache: CacheHandle
    spec: WindowSpec
    windows: dict[str, WindowIndex]
    cache_status: str

    def batcher(
        self,
        split: str,
        modalities: tuple[str, ...],
        batch_size: int,
        *,
        shuffle: bool = False,
        seed: int = 0,
    ) -> WindowBatcher:
        """Batches of one split with the given per-slot inputs (plus targets and powers)."""
        return WindowBatcher(
            self.cache,
            self.windows[split],
            self.spec,
            modalities,
            batch_size,
            shuffle=shuffle,
            rng=np.random.default_rng(seed) if shuffle else None,
        )

    def counts(self) -> dict[str, int]:
        return {name: len(index) for name, index in self.windows.items()}


def select_table(config: DataConfig) -> SampleTable:
    """The one scenario table named by the config (a folder, or `ap` inside a multi-AP root)."""
    if not config.scenario:
        raise ConfigError("no scenario: give one with --scenario (config key 'data.scenario')")
    tables = read_scenario_set(Path(config.scenario), skip_bad_rows=config.skip_bad_rows)
    if config.ap is not None:
        if config.ap not in tables:
            raise ConfigError(
                f"--ap (config key 'data.ap'): {config.ap!r} is not under {config.scenario} "
                f"(it has {sorted(tables)})"
            )
        return tables[config.ap]
    if len(tables) != 1:
        raise ConfigError(
            f"{config.scenario} holds {len(tables)} scenarios {sorted(tables)}; "
            "choose one with --ap (config key 'data.ap')"
        )
    return next(iter(tables.values()))


def prepare_data(config: DataConfig, *, workers: int | None = None) -> PreparedData:
    """Read, cache (reusing a fresh cache), window and split the configured scenario."""
    table = select_table(config)
    root = Path(config.cache_root) if config.cache_root else None  # None: $KDCS_CACHE_DIR or ./data_cache
    cache_dir = default_cache_dir(table.root, table.name, root)
    handle = prepare(
        table, cache_dir, config.preprocess, workers=workers, skip_undecodable=config.skip_bad_rows
    )
    table = cached_table(table, handle)
    spec = WindowSpec(history=config.history, horizon=config.horizon)
    all_windows = build_windows(np.asarray(handle.arrays["seq_index"]), spec)
    splits = split_sequences(table.sequences, config.split)
    windows = {name: windows_in_sequences(all_windows, splits[name]) for name in SPLITS}
    empty = [name for name in SPLITS if len(windows[name]) == 0]
    if empty:
        raise ConfigError(
            f"split {empty[0]!r} of {table.root} has no window of L={spec.history}, J={spec.horizon}; "
            "use more sequences, a different 'data.split' or a shorter window"
        )
    return PreparedData(table, handle, spec, windows, handle.status)
