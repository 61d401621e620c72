"""The embedded default scenario: synthesize once, reuse while the configuration is unchanged."""

from __future__ import annotations

from pathlib import Path

from kdcs.data.synthetic import SynthConfig, synthesize
from kdcs.data.synthetic.manifest import records_config


def ensure_scenario(
    root: Path, *, tiny: bool = False, workers: int | None = None, seed: int = 0
) -> tuple[Path, bool]:
    """Write the default (or tiny) synthetic scenario at `root` unless an identical one is there.

    `seed` draws another scenario of the same kind (the default scenario is seed 0).

    Returns (root, reused). "Identical" means the manifest's recorded configuration equals the
    one we would write now; anything else is regenerated from scratch.
    """
    config = SynthConfig.tiny(seed=seed) if tiny else SynthConfig(seed=seed)
    if records_config(root / "manifest.json", config):
        return root, True
    synthesize(config, root, workers=workers, overwrite=True)
    return root, False
