"""`kdcs data inspect`: per scenario, counts, windows per split, beam statistics and the two floors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kdcs.data.deepsense.reader import read_scenario_set
from kdcs.data.windows import WindowSpec
from kdcs.eval.dataset_summary import summarize_dataset


def inspect_scenarios(
    scenario: Path,
    history: int,
    horizon: int,
    fractions: tuple[float, float, float],
    skip_bad_rows: bool = False,
) -> list[dict[str, Any]]:
    """`summarize_dataset` of every scenario under `scenario` (a folder or a multi-AP root)."""
    tables = read_scenario_set(scenario, skip_bad_rows=skip_bad_rows)
    spec = WindowSpec(history=history, horizon=horizon)
    return [summarize_dataset(table, spec, fractions) for table in tables.values()]
