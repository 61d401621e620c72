"""From an ExperimentConfig to the fully resolved runs it stands for, checked before anything runs.

Every model run (teacher, self-KD teacher, each student x recipe) becomes a RunConfig with the
study's scenario, cache folder and teacher filled in; every collaboration run a CollabConfig.
Overrides are merged with `kdcs.config.merge`, so a bad key or value is a ConfigError naming it
(`students[2].run.model.architecture`), raised here, before any stage writes a file.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kdcs.collab.config import CollabConfig, validate_collab_config
from kdcs.config import ConfigError, merge
from kdcs.distill.recipes import NAMED_RECIPES
from kdcs.distill.run_config import RunConfig, window_mismatch
from kdcs.experiments.study.config import ExperimentConfig
from kdcs.models.zoo import resolve_config

TEACHER, SELF_KD = "teacher", "teacher-self-kd"
NO_KD = "none"


@dataclass(frozen=True)
class ModelRun:
    """One trained model. id: "teacher", "teacher-self-kd" or "<student>/<recipe>"; group: "teacher"
    or the student's name (models of one group share an architecture); needs: ids of its teacher."""

    id: str
    group: str
    recipe: str
    config: RunConfig
    run_dir: Path
    needs: tuple[str, ...] = ()

    @property
    def stage(self) -> str:
        return self.id.replace("/", "-")


# protocols whose centre asks for a trained teacher (Centre.trained_teacher)
TEACHER_PROTOCOLS = ("central-kd", "edge-kd")


@dataclass(frozen=True)
class CollabRun:
    """One collaboration run; needs: "teacher" when its centre uses the study's teacher."""

    name: str
    config: CollabConfig
    run_dir: Path
    needs: tuple[str, ...] = ()

    @property
    def stage(self) -> str:
        return f"collab-{self.name}"


@dataclass(frozen=True)
class StudyPaths:
    """Where the study reads and writes: the scenario root, the cache root and the run folder."""

    scenario: Path
    cache: Path
    out: Path

    @property
    def models(self) -> Path:
        return self.out / "models"

    @property
    def collab(self) -> Path:
        return self.out / "collab"


def _merged(base: Any, overrides: dict[str, Any], key: str) -> Any:
    """merge() whose errors name the experiment key; a model's own ValueError becomes a ConfigError too."""
    try:
        return merge(base, overrides, prefix=key)
    except ConfigError:
        raise
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"config key '{key}': {exc}") from None


def _capped(config: RunConfig, max_epochs: int | None) -> RunConfig:
    if max_epochs is None or config.train.epochs <= max_epochs:
        return config
    return dataclasses.replace(config, train=dataclasses.replace(config.train, epochs=max_epochs))


def _check_run(config: RunConfig, key: str) -> None:
    try:
        resolve_config(config.model)
    except ValueError as exc:
        raise ConfigError(f"config key '{key}.model.architecture': {exc}") from None
    mismatch = window_mismatch(
        config.model.history, config.model.horizon, config.data.history, config.data.horizon
    )
    if mismatch:
        raise ConfigError(f"config key '{key}.model.{mismatch[0]}' {mismatch[1]}")


def common_run(config: ExperimentConfig, paths: StudyPaths) -> RunConfig:
    data = {"scenario": str(paths.scenario), "cache_root": str(paths.cache)}
    return _merged(config.common, {"data": data}, "common")


def model_runs(config: ExperimentConfig, paths: StudyPaths) -> list[ModelRun]:
    """Teacher, self-KD teacher (when configured), then every student with every recipe, in run order."""
    unknown = [r for r in config.recipes if r not in NAMED_RECIPES]
    if unknown:
        raise ConfigError(
            f"config key 'recipes': unknown recipe {unknown[0]!r}; known: {', '.join(NAMED_RECIPES)}"
        )
    common = common_run(config, paths)
    teacher = _capped(_merged(common, {"name": TEACHER, **config.teacher}, "teacher"), config.max_epochs)
    _check_run(teacher, "teacher")
    teacher_dir = paths.models / TEACHER
    runs = [ModelRun(TEACHER, TEACHER, NO_KD, teacher, teacher_dir)]
    if config.self_kd is not None:
        self_kd = _merged(
            teacher, {"name": SELF_KD, "kd": {"recipe": "self-kd", "teacher": str(teacher_dir)}}, "self_kd"
        )
        self_kd = _capped(_merged(self_kd, config.self_kd, "self_kd"), config.max_epochs)
        _check_run(self_kd, "self_kd")
        runs.append(ModelRun(SELF_KD, TEACHER, "self-kd", self_kd, paths.models / SELF_KD, (TEACHER,)))
    for index, student in enumerate(config.students):
        key = f"students[{index}].run"
        base = _capped(_merged(common, student.run, key), config.max_epochs)
        _check_run(base, key)
        for recipe in config.recipes:
            run_id = f"{student.name}/{recipe}"
            kd = {"recipe": recipe, "teacher": None if recipe == NO_KD else str(teacher_dir)}
            run_config = _merged(base, {"name": run_id.replace("/", "-"), "kd": kd}, key)
            needs = () if recipe == NO_KD else (TEACHER,)
            runs.append(
                ModelRun(
                    run_id, student.name, recipe, run_config, paths.models / run_id.replace("/", "-"), needs
                )
            )
    return runs


def collab_runs(config: ExperimentConfig, paths: StudyPaths) -> list[CollabRun]:
    """Every collaboration run's CollabConfig, validated (`validate_collab_config`)."""
    data = {"scenario": str(paths.scenario), "cache_root": str(paths.cache)}
    common = _merged(config.collab_common, {"data": data}, "collab_common")
    runs = []
    for index, spec in enumerate(config.collab):
        resolved = _merged(common, {"name": spec.name, **spec.overrides}, f"collab[{index}].overrides")
        resolved = _capped_collab(resolved, config.max_epochs)
        needs: tuple[str, ...] = ()
        if config.collab_teacher and resolved.protocol in TEACHER_PROTOCOLS and not resolved.central.teacher:
            central = dataclasses.replace(resolved.central, teacher=str(paths.models / TEACHER))
            resolved, needs = dataclasses.replace(resolved, central=central), (TEACHER,)
        validate_collab_config(resolved)
        runs.append(CollabRun(spec.name, resolved, paths.collab / spec.name, needs))
    return runs


def _capped_collab(config: CollabConfig, cap: int | None) -> CollabConfig:
    if cap is None:
        return config
    central_train = dataclasses.replace(config.central.train, epochs=min(config.central.train.epochs, cap))
    return dataclasses.replace(
        config,
        rounds=min(config.rounds, cap),
        local_epochs=min(config.local_epochs, cap),
        distill_epochs=min(config.distill_epochs, cap),
        train=dataclasses.replace(config.train, epochs=min(config.train.epochs, cap)),
        central=dataclasses.replace(config.central, train=central_train),
    )
