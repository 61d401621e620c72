"""From an ExperimentConfig to the fully resolved runs it stands for, checked before anything runs.

Every model run (teacher, self-KD teacher, each student x recipe) becomes a RunConfig with the
study's scenario, cache folder and teacher filled in; every collaboration run a CollabConfig.
Each is replicated once per seed of `seeds` (its train seed set to it; a student is taught by the
teacher of its own seed). The KD runs that read a frozen teacher's outputs share one
`TeacherOutputsRun` per teacher and data view: the teacher runs once over their windows, not once
per student. Overrides are merged with `kdcs.config.merge`, so a bad key or value is a ConfigError
naming it (`students[2].run.model.architecture`), raised here, before any stage writes a file.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kdcs.collab.config import CollabConfig
from kdcs.collab.validation import validate_collab_config
from kdcs.config import ConfigError, merge, to_dict
from kdcs.data.prepared import DataConfig
from kdcs.distill.recipes import NAMED_RECIPES, merge_recipe, needs_teacher
from kdcs.distill.run_config import RunConfig, checked_run_config
from kdcs.distill.train_config import check_device
from kdcs.experiments.study.config import ExperimentConfig

TEACHER, SELF_KD = "teacher", "teacher-self-kd"
NO_KD = "none"
TEACHER_OUTPUTS = "teacher-outputs"


@dataclass(frozen=True)
class ModelRun:
    """One trained model of one seed.

    id: the report's row, "teacher", "teacher-self-kd" or "<student>/<recipe>" (the same for every
    seed); group: "teacher" or the student's name (models of one group share an architecture);
    stage: the stage (and run folder) name, unique per seed; needs: the stages that must finish
    first; teacher: the row id of its teacher; teacher_outputs: the shared cache of that teacher's
    outputs it reads (None: it computes them itself, or has no teacher).
    """

    id: str
    group: str
    recipe: str
    config: RunConfig
    run_dir: Path
    stage: str
    seed: int = 0
    needs: tuple[str, ...] = ()
    teacher: str | None = None
    teacher_outputs: Path | None = None


@dataclass(frozen=True)
class TeacherOutputsRun:
    """A frozen teacher's logits and features over one data view's train and val windows, computed
    once and read by every KD run of that view (`kdcs.distill.teacher_outputs.CachedTeacher`)."""

    stage: str
    teacher_stage: str
    teacher_dir: Path
    data: DataConfig
    path: Path
    seed: int = 0


# protocols whose centre asks for a trained teacher (Centre.trained_teacher)
TEACHER_PROTOCOLS = ("central-kd", "edge-kd")


@dataclass(frozen=True)
class CollabRun:
    """One collaboration run of one seed; needs: the teacher's stage when its centre uses the study's."""

    name: str
    config: CollabConfig
    run_dir: Path
    stage: str
    seed: int = 0
    needs: tuple[str, ...] = ()


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

    @property
    def teacher_outputs(self) -> Path:
        return self.out / TEACHER_OUTPUTS


def seed_suffix(config: ExperimentConfig, seed: int) -> str:
    """ "" for a one-seed study (stage names as the rows), else "-seed<k>"."""
    return "" if len(config.seeds) == 1 else f"-seed{seed}"


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


def _check_run(config: RunConfig, key: str) -> RunConfig:
    """The run, checked (`checked_run_config`, errors naming the experiment key), its model's L and J
    filled in from its data where unset. Its teacher is filled in later, per seed."""
    return checked_run_config(config, prefix=f"{key}.", require_teacher=False)


def common_run(config: ExperimentConfig, paths: StudyPaths) -> RunConfig:
    data = {"scenario": str(paths.scenario), "cache_root": str(paths.cache)}
    return _merged(config.common, {"data": data}, "common")


def _check_recipes(config: ExperimentConfig) -> None:
    lists = {"recipes": config.recipes}
    lists.update({f"students[{i}].recipes": s.recipes for i, s in enumerate(config.students) if s.recipes})
    for index, student in enumerate(config.students):
        trained = student.recipes or config.recipes
        for recipe in student.recipe_terms:
            if recipe not in trained:
                raise ConfigError(
                    f"config key 'students[{index}].recipe_terms.{recipe}': the student is not trained "
                    f"with recipe {recipe!r} (its recipes: {', '.join(trained)})"
                )
    for key, recipes in lists.items():
        unknown = [r for r in recipes if r not in NAMED_RECIPES]
        if unknown:
            raise ConfigError(
                f"config key '{key}': unknown recipe {unknown[0]!r}; known: {', '.join(NAMED_RECIPES)}"
            )


@dataclass(frozen=True)
class _Template:
    """A run before its seed is applied: kd.teacher and train.seed are filled in per seed."""

    id: str
    group: str
    recipe: str
    config: RunConfig
    taught: bool  # reads the teacher of its seed


def _templates(config: ExperimentConfig, paths: StudyPaths) -> list[_Template]:
    """Teacher, self-KD teacher (when configured), then every student with each of its recipes."""
    _check_recipes(config)
    common = common_run(config, paths)
    teacher = _capped(_merged(common, {"name": TEACHER, **config.teacher}, "teacher"), config.max_epochs)
    teacher = _check_run(teacher, "teacher")
    templates = [_Template(TEACHER, TEACHER, NO_KD, teacher, False)]
    if config.self_kd is not None:
        self_kd = _merged(teacher, {"name": SELF_KD, "kd": {"recipe": "self-kd"}}, "self_kd")
        self_kd = _capped(_merged(self_kd, config.self_kd, "self_kd"), config.max_epochs)
        self_kd = _check_run(self_kd, "self_kd")
        templates.append(_Template(SELF_KD, TEACHER, self_kd.kd.recipe, self_kd, True))
    for index, student in enumerate(config.students):
        key = f"students[{index}].run"
        base = _capped(_merged(common, student.run, key), config.max_epochs)
        base = _check_run(base, key)
        for recipe in student.recipes or config.recipes:
            run_id = f"{student.name}/{recipe}"
            kd = {"recipe": recipe, "terms": dict(student.recipe_terms.get(recipe, {}))}
            run_config = _merged(base, {"name": run_id.replace("/", "-"), "kd": kd}, key)
            run_config = _check_run(run_config, key)
            taught = needs_teacher(merge_recipe(recipe, run_config.kd.terms))
            templates.append(_Template(run_id, student.name, recipe, run_config, taught))
    return templates


def model_runs(config: ExperimentConfig, paths: StudyPaths) -> list[ModelRun]:
    """Every model run of every seed (seed by seed, in the order of `_templates`)."""
    templates = _templates(config, paths)
    return [run for seed in config.seeds for run in _seed_runs(config, templates, paths, seed)]


def _seed_runs(
    config: ExperimentConfig, templates: list[_Template], paths: StudyPaths, seed: int
) -> list[ModelRun]:
    suffix = seed_suffix(config, seed)
    teacher_stage = TEACHER + suffix
    teacher_dir = paths.models / teacher_stage
    runs = []
    for template in templates:
        stage = template.id.replace("/", "-") + suffix
        kd = {"teacher": str(teacher_dir) if template.taught else None}
        run_config = _merged(template.config, {"kd": kd, "train": {"seed": seed}}, "seeds")
        needs = (teacher_stage,) if template.taught else ()
        runs.append(
            ModelRun(
                template.id,
                template.group,
                template.recipe,
                run_config,
                paths.models / stage,
                stage,
                seed,
                needs,
                TEACHER if template.taught else None,
            )
        )
    return runs


def share_teacher_outputs(
    config: ExperimentConfig, runs: list[ModelRun], paths: StudyPaths
) -> tuple[list[ModelRun], list[TeacherOutputsRun]]:
    """One TeacherOutputsRun per (teacher, data view) of the KD runs that cache their teacher's
    outputs; those runs then read it (and wait for it) instead of computing the outputs themselves."""
    views: dict[tuple[str, str], TeacherOutputsRun] = {}
    shared = []
    for run in runs:
        if not (run.needs and run.config.kd.cache_teacher_outputs):
            shared.append(run)
            continue
        teacher_stage = run.needs[0]
        key = (teacher_stage, json.dumps(to_dict(run.config.data), sort_keys=True))
        if key not in views:
            views[key] = _outputs_run(config, run, paths, sum(k[0] == teacher_stage for k in views))
        outputs = views[key]
        shared.append(
            dataclasses.replace(run, needs=(*run.needs, outputs.stage), teacher_outputs=outputs.path)
        )
    return shared, list(views.values())


def _outputs_run(config: ExperimentConfig, run: ModelRun, paths: StudyPaths, view: int) -> TeacherOutputsRun:
    suffix = seed_suffix(config, run.seed)
    stage = TEACHER_OUTPUTS + (f"-view{view + 1}" if view else "") + suffix
    return TeacherOutputsRun(
        stage,
        run.needs[0],
        Path(run.config.kd.teacher or ""),
        run.config.data,
        paths.teacher_outputs / f"{stage}.safetensors",
        run.seed,
    )


def check_devices(config: ExperimentConfig, runs: list[ModelRun]) -> None:
    """Every device the study's models name exists on this machine: checked before any stage runs,
    not in resolution, so a GPU study still resolves (and can be inspected) anywhere."""
    students = {student.name: index for index, student in enumerate(config.students)}
    for run in runs:
        key = (
            "teacher"
            if run.id == TEACHER
            else "self_kd"
            if run.id == SELF_KD
            else f"students[{students[run.group]}].run"
        )
        # most often set once for every model, so the fix names the common key
        check_device(run.config.train.device, f"{key}.train.device", "--set common.train.device=cpu")


def collab_runs(config: ExperimentConfig, paths: StudyPaths) -> list[CollabRun]:
    """Every collaboration run's CollabConfig per seed, validated (`validate_collab_config`)."""
    data = {"scenario": str(paths.scenario), "cache_root": str(paths.cache)}
    common = _merged(config.collab_common, {"data": data}, "collab_common")
    runs = []
    for seed in config.seeds:
        suffix = seed_suffix(config, seed)
        for index, spec in enumerate(config.collab):
            overrides = {"name": spec.name, "seed": seed, **spec.overrides}
            resolved = _merged(common, overrides, f"collab[{index}].overrides")
            resolved = _capped_collab(resolved, config.max_epochs)
            needs: tuple[str, ...] = ()
            if (
                config.collab_teacher
                and resolved.protocol in TEACHER_PROTOCOLS
                and not resolved.central.teacher
            ):
                teacher_dir = paths.models / (TEACHER + suffix)
                central = dataclasses.replace(resolved.central, teacher=str(teacher_dir))
                resolved, needs = dataclasses.replace(resolved, central=central), (TEACHER + suffix,)
            validate_collab_config(resolved)
            name = spec.name + suffix
            runs.append(CollabRun(spec.name, resolved, paths.collab / name, f"collab-{name}", seed, needs))
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
