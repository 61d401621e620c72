"""The digital-twin proxy set (`proxy: twin`): proxy windows the centre synthesises instead of keeping.

Fed-distill and mutual compare the nodes' predictions on windows every node can run its model on.
With `proxy: real` those are the centre's own recorded sequences (`kdcs.collab.proxy_set`); with
`proxy: twin` the centre writes a synthetic scenario of the site from the site's physical parameters
(`kdcs.data.synthetic.twin`: the scenario manifest's config with another seed, `twin_sequences`
sequences, sensors only at the centre's AP), caches it like any scenario, and its windows (at most
`proxy_windows`, evenly thinned) are the proxy set. No node data and no recorded sample of the site
enters it. Its inputs go to each node once, for the node's own sensors, exactly as real proxy inputs
do (the ledger counts them), so a node never learns where its proxy windows came from.

The twin is written under `twin_dir` (default <run folder>/twin) and reused when a twin of the same
config is already there, so several runs can share one.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from kdcs.collab.config import CollabConfig
from kdcs.collab.proxy_set import ProxyInputs, thinned
from kdcs.config import to_dict
from kdcs.data.cache.build import CacheHandle, prepare
from kdcs.data.prepared import select_table
from kdcs.data.synthetic import SynthConfig, synthesize
from kdcs.data.synthetic.twin import MANIFEST, read_site_manifest, twin_config
from kdcs.data.windows import WindowIndex, WindowSpec, build_windows

TWIN_FOLDER = "twin"


def twin_seed(config: CollabConfig, site_seed: int) -> int:
    """`twin_seed`, or the site's seed + 1 when unset (any other seed draws other traffic)."""
    return config.twin_seed if config.twin_seed is not None else site_seed + 1


class TwinProxy:
    """The centre's twin of its site and the proxy windows over it (written and cached on first use)."""

    def __init__(self, config: CollabConfig, run_dir: Path) -> None:
        self.config = config
        self.folder = Path(config.twin_dir) if config.twin_dir else Path(run_dir) / TWIN_FOLDER
        self.synth = self.synth_config()  # a bad site or seed is refused before anything is written
        self._cache: CacheHandle | None = None
        self._windows: WindowIndex | None = None
        self.report: dict[str, Any] = {}

    def synth_config(self) -> SynthConfig:
        manifest = read_site_manifest(Path(self.config.data.scenario))
        seed = twin_seed(self.config, int(manifest["config"]["seed"]))
        return twin_config(
            manifest, seed=seed, num_sequences=self.config.twin_sequences, ap=self.config.central.ap
        )

    def _written(self, synth: SynthConfig) -> tuple[Path, float]:
        """The twin's scenario root, written unless an identical twin is there; seconds spent writing."""
        root = self.folder / "scenario"
        recorded = root / MANIFEST
        wanted = json.loads(json.dumps(to_dict(synth)))
        if recorded.is_file() and json.loads(recorded.read_text()).get("config") == wanted:
            return root, 0.0
        start = time.perf_counter()
        # a pool's start-up (spawned processes importing numpy and scipy) outweighs a few sequences
        synthesize(synth, root, overwrite=True, workers=1 if synth.num_sequences < 8 else None)
        return root, time.perf_counter() - start

    def cache(self) -> CacheHandle:
        if self._cache is None:
            synth = self.synth
            root, seconds = self._written(synth)
            data = dataclasses.replace(self.config.data, scenario=str(root), ap=self.config.central.ap)
            table = select_table(data)
            started = time.perf_counter()
            self._cache = prepare(table, self.folder / "cache" / table.name, data.preprocess)
            self.report = {
                "seed": synth.seed,
                "sequences": synth.num_sequences,
                "folder": str(self.folder),
                "synthesis_seconds": round(seconds, 2),
                "cache_seconds": round(time.perf_counter() - started, 2),
            }
        return self._cache

    def windows(self) -> WindowIndex:
        """At most `proxy_windows` of the twin's windows (every sequence; the twin is not split)."""
        if self._windows is None:
            spec = WindowSpec(self.config.data.history, self.config.data.horizon)
            every = build_windows(np.asarray(self.cache().arrays["seq_index"]), spec)
            self._windows = thinned(every, self.config.proxy_windows)
            self.report["windows"] = len(self._windows)
        return self._windows

    def inputs(self, modalities: tuple[str, ...]) -> ProxyInputs:
        """What goes to a node reading `modalities`: the twin windows' rows of those inputs only."""
        return ProxyInputs.of(self.cache().arrays, self.windows(), modalities)
