"""The digital-twin proxy set (`proxy: twin`): proxy windows the centre synthesises instead of keeping.

Fed-distill and mutual compare the nodes' predictions on windows every node can run its model on.
With `proxy: real` those are the centre's own recorded sequences (`kdcs.collab.proxy_set`); with
`proxy: twin` the centre writes a synthetic scenario of the site from the site's physical parameters
(`kdcs.data.synthetic.twin`: the scenario manifest's config with another seed, `twin_sequences`
sequences, sensors only at the centre's AP), caches it like any scenario, and its windows (at most
`proxy_windows`, evenly thinned) are the proxy set. No node data and no recorded sample of the site
enters it. Its inputs go to each node once, for the node's own sensors, exactly as real proxy inputs
do (the ledger counts them), so a node never learns where its proxy windows came from.

A recorded (DeepSense) site has no manifest: the twin is then made of the site fitted from the
centre's own training sequences only (the ones it keeps out of the nodes' pool; `kdcs.data.synthetic.
site_fit`: street axis, lanes, AP pose and beam order, speeds), and the fit's report (its errors) goes
into the run's results with the twin's.

The twin is written under `twin_dir` (default <run folder>/twin) and reused when a twin of the same
config is already there, so several runs can share one.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np

from kdcs.collab.config import CollabConfig
from kdcs.collab.node_setup import DataViews, centre_sequences
from kdcs.collab.proxy_set import ProxyInputs, thinned
from kdcs.config import ConfigError
from kdcs.data.cache.build import CacheHandle, prepare
from kdcs.data.prepared import select_table
from kdcs.data.synthetic import SynthConfig, ap_name, synthesize
from kdcs.data.synthetic.manifest import records_config
from kdcs.data.synthetic.site_fit import fit_site, inside_span, site_rows
from kdcs.data.synthetic.twin import (
    MANIFEST,
    fitted_twin_config,
    has_site_manifest,
    read_site_manifest,
    twin_config,
)
from kdcs.data.windows import WindowIndex, WindowSpec, build_windows

TWIN_FOLDER = "twin"


def twin_seed(config: CollabConfig, site_seed: int) -> int:
    """`twin_seed`, or the site's seed + 1 when unset (any other seed draws other traffic)."""
    return config.twin_seed if config.twin_seed is not None else site_seed + 1


class TwinProxy:
    """The centre's twin of its site and the proxy windows over it (written and cached on first use)."""

    def __init__(self, config: CollabConfig, run_dir: Path, views: DataViews) -> None:
        self.config, self.views = config, views
        self.folder = Path(config.twin_dir) if config.twin_dir else Path(run_dir) / TWIN_FOLDER
        self.site_fit: dict[str, Any] | None = None
        self.span: tuple[float, float] | None = None  # a fitted site's recorded stretch of street
        self.ap = config.central.ap
        self.synth = self.synth_config()  # a bad site or seed is refused before anything is written
        self._cache: CacheHandle | None = None
        self._windows: WindowIndex | None = None
        self.report: dict[str, Any] = {}

    def synth_config(self) -> SynthConfig:
        site = Path(self.config.data.scenario)
        if not has_site_manifest(site):
            return self.fitted_config()
        manifest = read_site_manifest(site)
        seed = twin_seed(self.config, int(manifest["config"]["seed"]))
        return twin_config(
            manifest, seed=seed, num_sequences=self.config.twin_sequences, ap=self.config.central.ap
        )

    def fitted_config(self) -> SynthConfig:
        """The twin of a recorded site, fitted on the centre's own training sequences (its one AP is ap1)."""
        data = self.views.of(self.config.central.ap)
        rows = site_rows(data, centre_sequences(self.config, self.views))
        fit = fit_site(data, rows, held_out_rows=np.unique(data.windows["val"].target_rows))
        self.site_fit, self.ap, self.span = fit.report, ap_name(0), fit.span_m
        seed = twin_seed(self.config, fit.config.seed)
        return fitted_twin_config(fit.config, seed=seed, num_sequences=self.config.twin_sequences)

    def _written(self, synth: SynthConfig) -> tuple[Path, float]:
        """The twin's scenario root, written unless an identical twin is there; seconds spent writing."""
        root = self.folder / "scenario"
        if records_config(root / MANIFEST, synth):
            return root, 0.0
        start = time.perf_counter()
        # a pool's start-up (spawned processes importing numpy and scipy) outweighs a few sequences
        synthesize(synth, root, overwrite=True, workers=1 if synth.num_sequences < 8 else None)
        return root, time.perf_counter() - start

    def cache(self) -> CacheHandle:
        if self._cache is None:
            synth = self.synth
            root, seconds = self._written(synth)
            data = dataclasses.replace(self.config.data, scenario=str(root), ap=self.ap)
            table = select_table(data)
            started = time.perf_counter()
            self._cache = prepare(table, self.folder / "cache" / table.name, data.preprocess)
            self.report = {
                "seed": synth.seed,
                "sequences": synth.num_sequences,
                "folder": str(self.folder),
                "synthesis_seconds": round(seconds, 2),
                "cache_seconds": round(time.perf_counter() - started, 2),
                **({"site_fit": self.site_fit} if self.site_fit is not None else {}),
            }
        return self._cache

    def windows(self) -> WindowIndex:
        """At most `proxy_windows` of the twin's windows (every sequence; the twin is not split); of a
        fitted site's twin, only windows whose rows t-L..t+J lie inside the recorded span."""
        if self._windows is None:
            spec = WindowSpec(self.config.data.history, self.config.data.horizon)
            arrays = self.cache().arrays
            every = build_windows(np.asarray(arrays["seq_index"]), spec)
            if self.span is not None:
                every = self._inside_span(every, np.asarray(arrays["index"]), np.asarray(arrays["seq_index"]))
            self._windows = thinned(every, self.config.proxy_windows)
            self.report["windows"] = len(self._windows)
        return self._windows

    def _inside_span(self, windows: WindowIndex, index: np.ndarray, seq_index: np.ndarray) -> WindowIndex:
        inside = inside_span(self.folder / "scenario", self.synth, self.span, index)  # [N] per cached row
        offsets = np.arange(-windows.spec.history, windows.spec.horizon + 1)
        rows = windows.end_rows[:, None] + offsets[None, :]  # [W, L+J+1]
        clipped = np.clip(rows, 0, len(index) - 1)
        in_sequence = (rows >= 0) & (seq_index[clipped] == windows.seq_ids[:, None])  # else a pad token
        kept = windows.subset(np.all(inside[clipped] | ~in_sequence, axis=1))
        self.report["windows_outside_span"] = len(windows) - len(kept)
        if len(kept) == 0:
            raise ConfigError(
                f"config key 'twin_sequences': none of the twin's windows lies inside the recorded span "
                f"{self.span} m along the street; raise it"
            )
        return kept

    def inputs(self, modalities: tuple[str, ...]) -> ProxyInputs:
        """What goes to a node reading `modalities`: the twin windows' rows of those inputs only."""
        return ProxyInputs.of(self.cache().arrays, self.windows(), modalities)
