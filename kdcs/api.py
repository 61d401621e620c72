"""The Python API: what the `kdcs` commands do, as functions for notebooks and scripts.

    import kdcs
    scenario = kdcs.synthesize("runs/nb/scenario", quick=True)             # or a DeepSense download
    data = kdcs.load_scenario(scenario, ap="ap1")                          # windows per split, ready to batch
    teacher = kdcs.train(scenario, ap="ap1", out="runs/nb/teacher")        # metrics.json's content
    student = kdcs.distill_student("runs/nb/teacher", recipe="logit", scenario=scenario, ap="ap1", out="runs/nb/s")
    result = kdcs.evaluate("runs/nb/s", split="test")
    run = kdcs.run_protocol("fed-distill", scenario=scenario, out="runs/nb/fd", overrides=[...])

(`distill_student`, not `distill`: `kdcs.distill` is the distillation package.) `overrides` are the
command line's `--set key.sub=value` strings, rooted the same way (a RunConfig for train,
distill_student and evaluate, and load_scenario's `data.*` keys; a CollabConfig for run_protocol; a
SynthConfig for synthesize); `config` is a YAML file of the same overrides. Each function calls the
job its command calls (`kdcs.jobs`), so results, run folders and errors (ConfigError, DataError,
CheckpointError: one sentence naming the key or file) are the command's.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kdcs.collab.config import CollabConfig
from kdcs.config import load_config
from kdcs.data.prepared import DataConfig, PreparedData, prepare_data
from kdcs.distill.run_config import RunConfig
from kdcs.jobs.collab import collab
from kdcs.jobs.distill import distill as distill_job
from kdcs.jobs.evaluate import EvaluationConfig, evaluate_checkpoint
from kdcs.jobs.synth import run_synth
from kdcs.jobs.train import train as train_job
from kdcs.models import ModelConfig

__all__ = [
    "CollabConfig",
    "DataConfig",
    "ModelConfig",
    "RunConfig",
    "distill_student",
    "evaluate",
    "load_scenario",
    "run_protocol",
    "synthesize",
    "train",
]


def _data(scenario: str | Path | None, ap: str | None, root: str = "data") -> list[str]:
    extra = [f"{root}.scenario={scenario}"] if scenario is not None else []
    return extra + ([f"{root}.ap={ap}"] if ap is not None else [])


def synthesize(
    out: str | Path,
    *,
    quick: bool = False,
    aps: int | None = None,
    seed: int | None = None,
    overrides: Sequence[str] = (),
    workers: int | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a synthetic multi-AP scenario (DeepSense layout) under `out`; returns `out`. `kdcs data synth`."""
    run_synth(Path(out), aps, seed, None, list(overrides), quick, workers, overwrite)
    return Path(out)


def load_scenario(
    scenario: str | Path,
    *,
    ap: str | None = None,
    overrides: Sequence[str] = (),
    workers: int | None = None,
) -> PreparedData:
    """A scenario read, cached (a fresh cache is reused) and windowed: `.windows` per split,
    `.batcher(split, modalities, batch_size)`. overrides: `data.*` keys, e.g. "data.history=4"."""
    base = EvaluationConfig(DataConfig(scenario=str(scenario), ap=ap))
    return prepare_data(load_config(base, None, list(overrides)).data, workers=workers)


def train(
    scenario: str | Path | None = None,
    *,
    out: str | Path,
    ap: str | None = None,
    config: str | Path | None = None,
    overrides: Sequence[str] = (),
    resume: bool = False,
    workers: int | None = None,
) -> dict[str, Any]:
    """Train a model (`kdcs train`); returns metrics.json's content (validation and test numbers)."""
    path = Path(config) if config is not None else None
    _, metrics = train_job(
        path, [*overrides, *_data(scenario, ap)], out=Path(out), resume=resume, workers=workers
    )
    return metrics


def distill_student(
    teacher: str | Path,
    *,
    out: str | Path,
    recipe: str = "logit",
    scenario: str | Path | None = None,
    ap: str | None = None,
    config: str | Path | None = None,
    overrides: Sequence[str] = (),
    resume: bool = False,
    workers: int | None = None,
) -> dict[str, Any]:
    """Distil a student from `teacher` (a run folder or weights file) with a named KD recipe (`kdcs distill`)."""
    path = Path(config) if config is not None else None
    data = [*overrides, *_data(scenario, ap)]
    _, metrics = distill_job(Path(teacher), recipe, path, data, out=Path(out), resume=resume, workers=workers)
    return metrics


def evaluate(
    model: str | Path,
    *,
    split: str = "test",
    scenario: str | Path | None = None,
    ap: str | None = None,
    overrides: Sequence[str] = (),
) -> dict[str, Any]:
    """Metrics per slot and complexity of a trained model on a split (`kdcs evaluate`); by default on
    the data its run was trained on."""
    return evaluate_checkpoint(Path(model), split=split, overrides=[*overrides, *_data(scenario, ap)])


def run_protocol(
    protocol: str,
    *,
    out: str | Path,
    scenario: str | Path | None = None,
    config: str | Path | None = None,
    overrides: Sequence[str] = (),
    engine: str | None = None,
    workers: int | None = None,
) -> dict[str, Any]:
    """One collaborative run of `protocol` (`kdcs collab`); returns its results.json content."""
    path = Path(config) if config is not None else None
    extra = [f"protocol={protocol}", *_data(scenario, None)]
    _, results = collab(path, [*overrides, *extra], engine=engine, out=Path(out), workers=workers)
    return results
