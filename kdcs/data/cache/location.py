"""Where a scenario's cache lives when the user does not say.

Caches never go inside the dataset folder (it may be read-only, e.g. a shared download);
they go under $KDCS_CACHE_DIR, else ./data_cache, in a folder named after the scenario
plus a short hash of its absolute path, so two scenarios with one name never collide.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def cache_root() -> Path:
    return Path(os.environ.get("KDCS_CACHE_DIR", "data_cache"))


def default_cache_dir(scenario_root: Path, name: str, root: Path | None = None) -> Path:
    digest = hashlib.sha1(str(Path(scenario_root).resolve()).encode()).hexdigest()[:8]
    return (root or cache_root()) / f"{name}-{digest}"
