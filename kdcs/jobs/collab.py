"""`kdcs collab`: one collaborative run on the engine its config names (local or Flower)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kdcs.collab.config import CollabConfig
from kdcs.collab.flower.engine import run_flower
from kdcs.collab.local_engine import run_local
from kdcs.config import ConfigError, load_config


def run_collab(config: CollabConfig, run_dir: Path, *, workers: int | None = None) -> dict[str, Any]:
    """Run the configured protocol on `config.engine`; writes and returns results.json.
    workers: cache-building processes."""
    engine = run_flower if config.engine == "flower" else run_local  # run_local refuses unknown engines
    return engine(config, Path(run_dir), workers=workers)


def collab(
    config_path: Path | None,
    overrides: list[str],
    *,
    engine: str | None = None,
    out: Path | None = None,
    workers: int | None = None,
) -> tuple[Path, dict[str, Any]]:
    """What `kdcs collab` runs: CollabConfig defaults, the YAML file, overrides (then `engine`);
    the run folder (default runs/<name>) and results.json's content."""
    extra = [f"engine={engine}"] if engine is not None else []
    config = load_config(CollabConfig(), config_path, [*overrides, *extra])
    scenario = config.data.scenario
    if scenario and not Path(scenario).exists():  # e.g. configs/collab/default.yaml before any synth
        raise ConfigError(
            f"config key 'data.scenario': {scenario} does not exist; write the default synthetic "
            f"scenario there with `kdcs data synth --out {scenario}`, or point data.scenario at yours"
        )
    run_dir = Path(out) if out is not None else Path("runs") / config.name
    return run_dir, run_collab(config, run_dir, workers=workers)
