"""Typed configuration of an experiment: the data, the teacher, the students, the collaboration runs.

The dataclass defaults ARE the default demo (values in `kdcs.experiments.study.demo_defaults`), so
`kdcs demo` needs no file; YAML files under configs/experiments/ and `--set key=value` hold only
overrides (`kdcs.config.load_config`). `teacher`, `self_kd` and each student's `run` are RunConfig
overrides merged over `common`, and each collaboration run's `overrides` are CollabConfig overrides
merged over `collab_common`; they are checked when the experiment is resolved, before anything is
written, and an error names the key (e.g. `students[1].run.model.architecture`).

Mappings merge key by key, lists replace: a YAML `teacher: {model: {...}}` keeps the demo teacher's
`train` settings unless it sets them too, while `students: [...]` replaces the demo's students. The
resolved config of every run is saved in its run folder (config.yaml) and the whole experiment in
experiment.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kdcs.collab.config import CollabConfig
from kdcs.config import ConfigError, load_config, merge
from kdcs.distill.run_config import RunConfig
from kdcs.experiments.study import demo_defaults
from kdcs.experiments.study.quick import QUICK


@dataclass(frozen=True)
class ScenarioSpec:
    """Which data the study runs on.

    path: an existing scenario folder or multi-AP root (real DeepSense data); None = synthesize.
    tiny: synthesize `SynthConfig.tiny()` (2 APs, 3 short sequences) instead of the default 4-AP scenario.
    """

    path: str | None = None
    tiny: bool = False


@dataclass(frozen=True)
class StudentSpec:
    """One edge-node type: a name (used in run folders and the report), RunConfig overrides, the
    KD recipes it is trained with (None: the experiment's `recipes`), and per recipe the `kd.terms`
    overrides of that recipe's run only (e.g. {"logit": {"kd": {"temperature": 2.0}}}; `run.kd.terms`
    would change every recipe of the student, "none" included)."""

    name: str = ""
    run: dict[str, Any] = field(default_factory=dict)
    recipes: tuple[str, ...] | None = None
    recipe_terms: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CollabSpec:
    """One collaboration run: a name and CollabConfig overrides over the experiment's `collab_common`."""

    name: str = ""
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EvaluationSpec:
    """What is measured beyond each run's metrics.json.

    latency_repeats: timed batch-1 forwards per model (median and p95 reported).
    scene_model: id of the model whose predictions the scene plot shows ("teacher", "camera/logit", ...).
    scene_slots: consecutive test slots in the scene plot.
    """

    latency_repeats: int = 30
    scene_model: str = "teacher"
    scene_slots: int = 16


@dataclass(frozen=True)
class ExperimentConfig:
    """A teacher + students + collaboration study and its report.

    name: the experiment's name (default run folder runs/<name>).
    seeds: every model and collaboration run is trained once per seed (its `train.seed`, or the
        collaboration's `seed`); each student is taught by the teacher of its own seed, and the report
        gives mean +- std over seeds. One seed: one run per row, and the report says so.
    workers: training processes run side by side (one torch thread each is the demo's choice).
    train_stride: keep every k-th training window (windows overlap by L-1 slots, so neighbours add
        little); validation and test windows are never thinned.
    max_epochs: cap on every run's epochs and on every collaboration run's rounds (quick looks); None = no cap.
    common: the RunConfig every model run starts from (data.scenario / data.cache_root are filled in).
    teacher: RunConfig overrides of the teacher.
    self_kd: overrides of the self-KD teacher (the teacher's config, recipe "self-kd", taught by the
        teacher); None = no self-KD stage.
    students: edge-node types; each is trained with its own `recipes`, or with every recipe in
        `recipes` (taught by the teacher).
    recipes: the KD recipes of a student that names none ("none" = trained without KD).
    collab_common: the CollabConfig every collaboration run starts from.
    collab: the collaboration runs.
    collab_teacher: protocols that need a central teacher (central-kd, edge-kd) use the study's
        trained teacher (`central.teacher`) instead of training one per run, unless a run names one.
    """

    name: str = "demo"
    seeds: tuple[int, ...] = (0,)
    scenario: ScenarioSpec = field(default_factory=ScenarioSpec)
    workers: int = 2
    train_stride: int = 2
    max_epochs: int | None = None
    common: RunConfig = field(default_factory=demo_defaults.common)
    teacher: dict[str, Any] = field(default_factory=demo_defaults.teacher)
    self_kd: dict[str, Any] | None = field(default_factory=dict)
    students: tuple[StudentSpec, ...] = field(
        default_factory=lambda: tuple(
            StudentSpec(name, run, recipes, terms) for name, run, recipes, terms in demo_defaults.students()
        )
    )
    recipes: tuple[str, ...] = demo_defaults.RECIPES
    collab_common: CollabConfig = field(default_factory=demo_defaults.collab_common)
    collab: tuple[CollabSpec, ...] = field(
        default_factory=lambda: tuple(CollabSpec(name, o) for name, o in demo_defaults.collab_runs())
    )
    collab_teacher: bool = True
    evaluation: EvaluationSpec = field(default_factory=EvaluationSpec)


def load_experiment(
    path: Path | None = None, overrides: list[str] | tuple[str, ...] = (), quick: bool = False
) -> ExperimentConfig:
    """Defaults (the demo), then `QUICK` when quick, then a YAML file, then `key=value` overrides."""
    base = merge(ExperimentConfig(), QUICK) if quick else ExperimentConfig()
    config = load_config(base, path, list(overrides))
    check_ranges(config)
    return config


def check_ranges(config: ExperimentConfig) -> None:
    """One sentence naming the key for a value out of range or names that would collide."""
    checks = {
        "workers": config.workers >= 1,
        "train_stride": config.train_stride >= 1,
        "max_epochs": config.max_epochs is None or config.max_epochs >= 1,
        "evaluation.latency_repeats": config.evaluation.latency_repeats >= 1,
        "evaluation.scene_slots": config.evaluation.scene_slots >= 2,
        "recipes": len(config.recipes) >= 1,
        "seeds": len(config.seeds) >= 1 and all(seed >= 0 for seed in config.seeds),
    }
    for key, ok in checks.items():
        if not ok:
            raise ConfigError(f"config key '{key}' is out of range")
    _check_names("students", [s.name for s in config.students])
    _check_names("collab", [c.name for c in config.collab])
    if len(set(config.seeds)) != len(config.seeds):
        raise ConfigError(f"config key 'seeds' lists a seed twice: {list(config.seeds)}")
    lists = {"recipes": config.recipes}
    lists.update({f"students[{i}].recipes": s.recipes for i, s in enumerate(config.students) if s.recipes})
    for key, recipes in lists.items():
        if len(set(recipes)) != len(recipes):
            raise ConfigError(f"config key '{key}' lists a recipe twice: {list(recipes)}")
    for index, student in enumerate(config.students):
        if student.recipes is not None and not student.recipes:
            raise ConfigError(
                f"config key 'students[{index}].recipes' is empty (leave it out to use 'recipes')"
            )


def _check_names(key: str, names: list[str]) -> None:
    for index, name in enumerate(names):
        if not name or name in names[:index] or "/" in name or name.startswith("teacher"):
            raise ConfigError(
                f"config key '{key}[{index}].name' ({name!r}) must be unique, non-empty, without '/', "
                "and not start with 'teacher'"
            )
