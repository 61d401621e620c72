"""The embedded default scenario: synthesize once, reuse while the configuration is unchanged."""

from __future__ import annotations

import json
from pathlib import Path

from kdcs.config import to_dict
from kdcs.data.synthetic import SynthConfig, synthesize


def ensure_scenario(
    root: Path, *, tiny: bool = False, workers: int | None = None, seed: int = 0
) -> tuple[Path, bool]:
    """Write the default (or tiny) synthetic scenario at `root` unless an identical one is there.

    `seed` draws another scenario of the same kind (the default scenario is seed 0).

    Returns (root, reused). "Identical" means the manifest's recorded configuration equals the
    one we would write now; anything else is regenerated from scratch.
    """
    config = SynthConfig.tiny(seed=seed) if tiny else SynthConfig(seed=seed)
    manifest_path = root / "manifest.json"
    if manifest_path.is_file():
        try:
            recorded = json.loads(manifest_path.read_text()).get("config")
        except json.JSONDecodeError:
            recorded = None
        if recorded == json.loads(json.dumps(to_dict(config))):
            return root, True
    synthesize(config, root, workers=workers, overwrite=True)
    return root, False
