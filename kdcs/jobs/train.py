"""`kdcs train`: one training or distillation run: data -> model (+ teacher) -> trainer -> test
evaluation -> run folder.

The run folder holds the resolved config (config.yaml), the trainer's checkpoints and logs,
best.safetensors, kd_adapters (if any) and metrics.json with validation (selection) and test numbers.
Test numbers are computed once, after selection on validation, from the selected weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn

from kdcs.atomic_files import write_json_atomically
from kdcs.config import ConfigError, load_config, to_dict
from kdcs.data.prepared import PreparedData, prepare_data
from kdcs.distill.batch_context import feature_keys_read
from kdcs.distill.composer import build_composer
from kdcs.distill.data_free.training_set import data_free_sets
from kdcs.distill.multi_view import SourceModel, head_source, join_aps
from kdcs.distill.named_recipes import DATA_FREE
from kdcs.distill.prediction import EVAL_BATCH, evaluate_split
from kdcs.distill.recipes import merge_recipe, needs_teacher, resolve_recipe
from kdcs.distill.run_config import RunConfig, checked_run_config, window_mismatch
from kdcs.distill.teacher_outputs import CachedTeacher, LiveTeacher, TeacherSource
from kdcs.distill.train_config import check_device
from kdcs.distill.trained_model import load_trained_model
from kdcs.distill.trainer import Trainer
from kdcs.models import build_model, fit_to_data
from kdcs.models.multi_view_teacher import MultiViewTeacher

METRICS_JSON = "metrics.json"
CONFIG_YAML = "config.yaml"


def config_text(config: RunConfig) -> str:
    """The resolved config as config.yaml holds it, so a run can be repeated from its folder alone."""
    return yaml.safe_dump(to_dict(config), sort_keys=False)


def _student(config: RunConfig, data: PreparedData) -> nn.Module:
    mismatch = window_mismatch(
        config.model.history, config.model.horizon, data.spec.history, data.spec.horizon
    )
    if mismatch:
        raise ConfigError(f"config key 'model.{mismatch[0]}' {mismatch[1]}")
    torch.manual_seed(config.train.seed)
    model = build_model(fit_to_data(config.model, data))
    _check_inputs(model, data, "config key 'model.architecture'")
    return model


def _check_inputs(model: nn.Module, data: PreparedData, what: str) -> None:
    """One sentence, before training, when the model reads a modality the scenario does not have."""
    available = set(data.cache.arrays) | {"beam_history"}
    missing = [m for m in model.modalities if m not in available]
    if missing:
        raise ConfigError(
            f"{what}: {model.config.architecture} reads {missing[0]!r}, which the scenario has no data for "
            f"(it has {', '.join(data.cache.modalities)}); choose an architecture for its sensors "
            "(e.g. gps-beam-student) or set model.modalities"
        )


def _teacher(config: RunConfig, recipe: dict) -> nn.Module | None:
    if not needs_teacher(recipe):
        return None
    if not config.kd.teacher:
        raise ConfigError(f"KD recipe {config.kd.recipe!r} needs a teacher: set 'kd.teacher' to a run folder")
    teacher = load_trained_model(config.kd.teacher)
    for parameter in teacher.parameters():
        parameter.requires_grad_(False)
    return teacher


def _teacher_source(
    config: RunConfig, teacher: nn.Module | None, composer: nn.Module, batchers: list, shared: Path | None
) -> TeacherSource | None:
    if teacher is None:
        return None
    if not config.kd.cache_teacher_outputs:
        return LiveTeacher(teacher)
    if shared is not None:
        return CachedTeacher.load_shared(shared, teacher, batchers, feature_keys_read(composer))
    return CachedTeacher.build(teacher, batchers, feature_keys_read(composer))


def _source_name(source: TeacherSource | None, shared: Path | None) -> str | None:
    """Where the teacher's outputs came from, for metrics.json."""
    if source is None:
        return None
    if isinstance(source, LiveTeacher):
        return "live"
    return f"shared: {shared}" if shared is not None else "cached by this run"


def _multi_view_head(
    teacher: MultiViewTeacher, config: RunConfig, data: PreparedData, workers: int | None
) -> CachedTeacher:
    """The head of this run's AP, over every AP's joined train and val windows."""
    ap = config.data.ap
    if ap not in teacher.config.aps:
        raise ConfigError(
            f"config key 'data.ap' ({ap!r}) has no head in the multi-view teacher {config.kd.teacher} "
            f"(heads: {list(teacher.config.aps)})"
        )
    joined = join_aps(config.data, teacher.config.aps, prepared={ap: data}, workers=workers)
    return head_source(teacher, joined, ap)


def _scenario_parts(
    config: RunConfig, recipe: dict, data: PreparedData, student: nn.Module, teacher: nn.Module | None,
    workers: int | None, teacher_outputs: Path | None,
) -> tuple[Any, Any, nn.Module, TeacherSource | None]:  # fmt: skip
    """(train batcher, val batcher, composer, teacher source) over the scenario's own splits."""
    multi_view = isinstance(teacher, MultiViewTeacher)
    teacher_inputs = teacher.modalities if teacher is not None and not multi_view else ()
    modalities = tuple(dict.fromkeys([*student.modalities, *teacher_inputs]))
    train = data.batcher("train", modalities, config.train.batch_size, shuffle=True, seed=config.train.seed)
    val = data.batcher("val", modalities, EVAL_BATCH)
    example = next(iter(val))
    if multi_view:
        source = _multi_view_head(teacher, config, data, workers)
        return (
            train,
            val,
            build_composer(resolve_recipe(recipe, student, SourceModel(source), example)),
            source,
        )
    composer = build_composer(resolve_recipe(recipe, student, teacher, example))
    return train, val, composer, _teacher_source(config, teacher, composer, [train, val], teacher_outputs)


def _data_free_parts(
    config: RunConfig, recipe: dict, data: PreparedData, student: nn.Module, teacher: nn.Module, run_dir: Path
) -> tuple[Any, Any, nn.Module, TeacherSource | None, dict[str, Any]]:
    """(train batcher, val batcher, composer, teacher source, metrics.json "data_free") of a data-free
    run: windows synthesised from the teacher (`kdcs.distill.data_free`), labelled by the teacher
    reading the student's sensors only; its outputs are cached per synthetic window by this run."""
    if isinstance(teacher, MultiViewTeacher):
        raise ConfigError(
            f"kd.recipe 'data-free' needs a single-AP teacher; {config.kd.teacher} is a multi-view teacher"
        )
    sets = data_free_sets(
        config.kd.data_free, data, teacher, student, run_dir,
        seed=config.train.seed, batch_size=config.train.batch_size, num_threads=config.train.num_threads,
    )  # fmt: skip
    composer = build_composer(resolve_recipe(recipe, student, sets.teacher, next(iter(sets.val))))
    source = _teacher_source(config, sets.teacher, composer, [sets.train, sets.val], None)
    return sets.train, sets.val, composer, source, {"data_free": sets.report}


def run_training(
    config: RunConfig,
    run_dir: Path,
    *,
    resume: bool = False,
    workers: int | None = None,
    data: PreparedData | None = None,
    teacher_outputs: Path | None = None,
) -> dict[str, Any]:
    """Train (or distil) the configured model; returns and writes metrics.json.

    teacher_outputs: a cache of the frozen teacher's outputs computed once for several runs
    (`kdcs run`'s teacher-outputs stage); read instead of running the teacher when the config caches
    teacher outputs, after checking it comes from the same teacher weights and covers every window.
    """
    run_dir = Path(run_dir)
    config = checked_run_config(config)  # before anything is written; config.yaml records the model's L and J
    check_device(config.train.device, "train.device")
    recipe = merge_recipe(config.kd.recipe, config.kd.terms)
    teacher = _teacher(config, recipe)
    data = data or prepare_data(config.data, workers=workers)
    # a multi-view teacher reads every AP's views, not this AP's batches: its head is cached per row
    multi_view = isinstance(teacher, MultiViewTeacher)
    if teacher is not None and not multi_view:
        _check_inputs(teacher, data, f"the teacher {config.kd.teacher}")
    student = _student(config, data)
    extra: dict[str, Any] = {}
    if config.kd.recipe == DATA_FREE:
        train, val, composer, source, extra = _data_free_parts(
            config, recipe, data, student, teacher, run_dir
        )
        teacher_outputs = None  # a shared cache holds the scenario's windows, not this run's synthetic ones
    else:
        train, val, composer, source = _scenario_parts(
            config, recipe, data, student, teacher, workers, teacher_outputs
        )
    trainer = Trainer(student, composer, train, val, config.train, run_dir, teacher=source)
    # config.yaml is written once the start is accepted: a refused run leaves the folder's own
    result = trainer.fit(resume=resume, run_files={CONFIG_YAML: config_text(config)})
    metrics = {
        "name": config.name,
        "architecture": student.config.architecture,
        "modalities": list(student.modalities),
        "recipe": config.kd.recipe,
        "loss_equation": composer.describe(),
        "teacher": config.kd.teacher,
        "teacher_outputs": _source_name(source, teacher_outputs),
        "best_epoch": result.best_epoch,
        "epochs_run": len(result.history),
        "stopped_reason": result.stopped_reason,
        "train_seconds": round(result.seconds, 2),  # every epoch, those before a resume included
        "windows": data.counts(),
        "val": result.best_val,
        "test": evaluate_split(student, data, "test"),
        **extra,
    }
    write_json_atomically(run_dir / METRICS_JSON, metrics)
    return metrics


def train(
    config_path: Path | None,
    overrides: list[str],
    *,
    out: Path | None = None,
    resume: bool = False,
    workers: int | None = None,
) -> tuple[Path, dict[str, Any]]:
    """What `kdcs train` runs: RunConfig defaults, a YAML file, dotted overrides; the run folder
    (default runs/<name>) and its metrics."""
    config = load_config(RunConfig(), config_path, overrides)
    run_dir = Path(out) if out is not None else Path("runs") / config.name
    return run_dir, run_training(config, run_dir, resume=resume, workers=workers)
