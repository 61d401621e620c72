"""`kdcs data synth`: resolve a SynthConfig and write a physics-based multi-AP scenario."""

from __future__ import annotations

import time
from pathlib import Path

from kdcs.config import load_config
from kdcs.data.synthetic import SynthConfig, synthesize
from kdcs.storage import check_writable, is_write_failure, write_failure


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
    out = Path(out)
    if out.is_dir() and any(out.iterdir()) and not overwrite:  # said here in the command's own words
        raise FileExistsError(f"{out} is not empty; add --overwrite to replace it")
    check_writable(out.parent, f"the scenario {out.name}")
    start = time.perf_counter()
    try:
        manifest = synthesize(config, out, workers=workers, overwrite=overwrite)
    except OSError as error:  # synthesize removed its build folder
        if not is_write_failure(error):
            raise
        raise write_failure(error, f"the scenario {out}", "free some space or choose another folder") from error
    return manifest, time.perf_counter() - start
