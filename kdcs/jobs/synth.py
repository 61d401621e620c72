"""`kdcs data synth`: resolve a SynthConfig and write a physics-based multi-AP scenario."""

from __future__ import annotations

import time
from pathlib import Path

from kdcs.config import load_config
from kdcs.data.synthetic import SynthConfig, synthesize


def run_synth(
    out: Path,
    aps: int | None,
    seed: int | None,
    config_path: Path | None,
    overrides: list[str],
    tiny: bool,
    workers: int | None,
    overwrite: bool,
) -> tuple[dict, float]:
    """Resolve the SynthConfig (tiny or default, YAML, --set, --aps/--seed) and write the scenario."""
    base = SynthConfig.tiny() if tiny else SynthConfig()
    extra = [f"num_aps={aps}"] if aps is not None else []
    extra += [f"seed={seed}"] if seed is not None else []
    config = load_config(base, config_path, [*overrides, *extra])
    start = time.perf_counter()
    manifest = synthesize(config, out, workers=workers, overwrite=overwrite)
    return manifest, time.perf_counter() - start
