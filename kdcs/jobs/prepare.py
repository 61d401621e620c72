"""`kdcs data prepare`: read every scenario under a folder and build (or reuse) its cache."""

from __future__ import annotations

import time
from pathlib import Path

from kdcs.config import load_config, to_dict
from kdcs.data.cache.build import cached_table, prepare
from kdcs.data.cache.location import default_cache_dir
from kdcs.data.deepsense.reader import read_scenario_set
from kdcs.data.preprocess import PreprocessConfig


def prepare_scenarios(
    scenario: Path,
    cache: Path | None,
    config_path: Path | None,
    overrides: list[str],
    workers: int | None,
    force: bool,
    skip_bad_rows: bool,
) -> list[dict]:
    """Read every scenario under `scenario` and build (or reuse) its cache."""
    config = load_config(PreprocessConfig(), config_path, overrides)
    tables = read_scenario_set(
        scenario, skip_bad_rows=skip_bad_rows
    )  # all read (and validated) before any write
    results = []
    for name, sample_table in tables.items():
        cache_dir = default_cache_dir(sample_table.root, name, cache)
        start = time.perf_counter()
        handle = prepare(
            sample_table, cache_dir, config, workers=workers, force=force, skip_undecodable=skip_bad_rows
        )
        seconds = time.perf_counter() - start
        sample_table = cached_table(sample_table, handle)
        results.append(
            {
                "name": name,
                "samples": handle.num_samples,
                "modalities": list(handle.modalities),
                "status": handle.status,
                "cache_dir": str(cache_dir),
                "seconds": round(seconds, 2),
                "samples_per_s": round(handle.num_samples / seconds, 1) if handle.status != "reused" else "-",
                "skipped_rows": [vars(row) for row in sample_table.skipped],  # CSV line, column, why
                "preprocess": to_dict(config),
            }
        )
    return results
