"""The study's data stages: the scenario (synthesized, or a given folder), every AP's cache, and the
dataset summary with its floors.

These run in this process before any model stage. They have their own reuse rules (an identical
synthetic scenario is kept; a fresh cache is kept) and report what they reused. The caches'
manifest fingerprints become the data identity of each AP, which the fingerprint of every stage
reading that AP includes: changed data reruns the stages that read it, and only those.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kdcs.config import ConfigError, to_dict
from kdcs.data.demo_data import ensure_scenario
from kdcs.data.prepared import select_table
from kdcs.data.windows import WindowSpec
from kdcs.distill.run_config import RunConfig
from kdcs.eval.dataset_summary import summarize_dataset
from kdcs.experiments.study.config import ExperimentConfig
from kdcs.jobs.prepare import prepare_scenarios


@dataclass(frozen=True)
class StudyData:
    scenario: Path
    scenario_status: str  # "wrote", "reused" or "given"
    caches: list[dict[str, Any]]  # one per AP, as `prepare_scenarios` returns them
    identities: dict[str, str]  # AP (cache) name -> its manifest fingerprint

    def identity(self, aps: list[str | None]) -> dict[str, str]:
        """The identities of the caches a stage reads (None: a plain scenario folder, i.e. all)."""
        if any(ap is None for ap in aps):
            return dict(sorted(self.identities.items()))
        return {ap: self.identities.get(ap, "") for ap in sorted(set(aps))}

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": str(self.scenario),
            "scenario_status": self.scenario_status,
            "caches": self.caches,
            "identities": self.identities,
        }


def ensure_study_scenario(config: ExperimentConfig, out: Path, workers: int | None) -> tuple[Path, str]:
    """The given scenario folder, or the synthetic one under out/scenario (reused when identical)."""
    if config.scenario.path:
        path = Path(config.scenario.path)
        if not path.exists():
            raise ConfigError(f"config key 'scenario.path': {path} does not exist")
        return path, "given"
    root, reused = ensure_scenario(out / "scenario", tiny=config.scenario.tiny, workers=workers)
    return root, "reused" if reused else "wrote"


def preprocess_overrides(common: RunConfig) -> list[str]:
    """The study's preprocessing as `key=value` overrides for `prepare_scenarios` (same caches as training)."""
    return [f"{key}={json.dumps(value)}" for key, value in to_dict(common.data.preprocess).items()]


def used_aps(data_aps: list[str | None]) -> list[str] | None:
    """The AP folders the study reads, or None when a run reads a plain scenario folder (no AP)."""
    if any(ap is None for ap in data_aps):
        return None
    return sorted(set(data_aps), key=lambda name: (len(name), name))


def prepare_study_data(
    config: ExperimentConfig,
    out: Path,
    workers: int | None,
    aps: list[str] | None = None,
    say: Callable[[str], None] = print,
) -> StudyData:
    """Synthesize (or take) the scenario, then build or reuse the caches of `aps` (None: every AP).

    APs no run reads are not prepared: decoding their radar cubes would cost time and change nothing.
    """
    scenario, status = ensure_study_scenario(config, out, workers)
    if status == "given":
        say(f"[bold]scenario[/bold]: {scenario}")
    else:
        say(f"[bold]synthesize[/bold]: {status} the scenario at {scenario}")
    folders = [scenario] if aps is None else [scenario / ap for ap in aps]
    for folder in folders:
        if not folder.is_dir():
            raise ConfigError(f"config key 'common.data.ap': {folder} is not a scenario folder")
    overrides = preprocess_overrides(config.common)
    caches = [
        c
        for f in folders
        for c in prepare_scenarios(f, out / "cache", None, overrides, workers, False, False)
    ]
    for cache in caches:
        say(
            f"[bold]prepare[/bold]: {cache['name']} {cache['status']} "
            f"({cache['samples']} samples, {cache['seconds']} s)"
        )
    if aps is not None:
        unused = sorted({p.name for p in scenario.iterdir() if p.is_dir()} - set(aps))
        if unused:
            say(f"[bold]prepare[/bold]: {', '.join(unused)} not read by this experiment, not prepared")
    identities = {
        cache["name"]: json.loads((Path(cache["cache_dir"]) / "manifest.json").read_text()).get(
            "fingerprint", ""
        )
        for cache in caches
    }
    return StudyData(scenario, status, caches, identities)


def dataset_summary(common: RunConfig) -> dict[str, Any]:
    """`summarize_dataset` of the study's AP with the study's window and split: counts, beam
    statistics and the floors (repeat the last beam; a line through the last L beams) per split."""
    table = select_table(common.data)
    spec = WindowSpec(history=common.data.history, horizon=common.data.horizon)
    return summarize_dataset(table, spec, tuple(common.data.split))
