"""Run an experiment end to end: resolve and check every run, prepare the data, run the stages
(teacher, self-KD teacher, students x recipes, collaboration runs, complexity), then report.

Order of side effects: nothing is written until every run has been resolved and checked, so a
config error leaves no folder behind. Stage results are stored as they finish (out/stages/); a
failed stage stops the run by name and a re-run resumes from what finished.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from kdcs.atomic_files import write_text_atomically
from kdcs.config import ConfigError, to_dict
from kdcs.distill.trained_model import load_trained_model
from kdcs.experiments.report.plots.scene import plot_scene
from kdcs.experiments.report.write import write_report
from kdcs.experiments.stages.progress import ConsoleProgress
from kdcs.experiments.stages.runner import Stage, cpu_seconds, run_stages
from kdcs.experiments.stages.store import StageStore
from kdcs.experiments.study.budget import budget_notes
from kdcs.experiments.study.config import ExperimentConfig
from kdcs.experiments.study.data import StudyData, dataset_summary, prepare_study_data, used_aps
from kdcs.experiments.study.resolve import (
    SELF_KD,
    TEACHER,
    CollabRun,
    ModelRun,
    StudyPaths,
    TeacherOutputsRun,
    check_devices,
    collab_runs,
    common_run,
    model_runs,
    share_teacher_outputs,
)
from kdcs.experiments.study.results import assemble
from kdcs.jobs import stage_jobs

COMPLEXITY = "complexity"
EXPERIMENT_YAML = "experiment.yaml"


def study_paths(config: ExperimentConfig, out: Path) -> StudyPaths:
    scenario = Path(config.scenario.path) if config.scenario.path else out / "scenario"
    return StudyPaths(scenario=scenario, cache=out / "cache", out=out)


def resolve_study(config: ExperimentConfig, out: Path) -> tuple[StudyPaths, list[ModelRun], list[CollabRun]]:
    """Every run resolved and checked (ConfigError naming the key); writes nothing. KD runs that
    cache their teacher's outputs read the shared cache of `teacher_output_runs`."""
    paths = study_paths(config, Path(out))
    runs, _ = share_teacher_outputs(config, model_runs(config, paths), paths)
    collabs = collab_runs(config, paths)
    if config.evaluation.scene_model not in {run.id for run in runs}:
        raise ConfigError(
            f"config key 'evaluation.scene_model': {config.evaluation.scene_model!r} is not one of the "
            f"study's models ({', '.join(dict.fromkeys(run.id for run in runs))})"
        )
    return paths, runs, collabs


def teacher_output_runs(config: ExperimentConfig, out: Path) -> list[TeacherOutputsRun]:
    """The shared teacher-output caches of the study (one per seed and data view of its KD runs)."""
    paths = study_paths(config, Path(out))
    return share_teacher_outputs(config, model_runs(config, paths), paths)[1]


def build_stages(
    config: ExperimentConfig,
    runs: list[ModelRun],
    collabs: list[CollabRun],
    outputs: list[TeacherOutputsRun],
    data: StudyData,
) -> list[Stage]:
    """Teachers first, then their shared outputs and self-KD (as long as a teacher: started as soon
    as one is done); what needs no teacher (no-KD students, collaboration) fills the other worker
    meanwhile; then the KD students; complexity last, alone (it times inference). The list is a
    priority order: the runner starts, among the stages whose needs are done, the first ones."""

    def model_stage(run: ModelRun) -> Stage:
        args = {
            "config": to_dict(run.config),
            "run_dir": str(run.run_dir),
            "train_stride": config.train_stride,
            "data": data.identity([run.config.data.ap]),
            "teacher_outputs": str(run.teacher_outputs) if run.teacher_outputs else None,
        }
        return Stage(run.stage, stage_jobs.train_model, args, run.needs)

    def outputs_stage(run: TeacherOutputsRun) -> Stage:
        args = {
            "teacher": str(run.teacher_dir),
            "data_config": to_dict(run.data),
            "train_stride": config.train_stride,
            "path": str(run.path),
            "data": data.identity([run.data.ap]),
        }
        return Stage(run.stage, stage_jobs.cache_teacher_outputs, args, (run.teacher_stage,))

    teachers = [model_stage(r) for r in runs if r.id == TEACHER]
    self_kd = [model_stage(r) for r in runs if r.id == SELF_KD]
    free = [model_stage(r) for r in runs if not r.needs and r.id != TEACHER]
    taught = [model_stage(r) for r in runs if r.needs and r.id != SELF_KD]
    collab = [
        Stage(
            c.stage,
            stage_jobs.collaborate,
            {"config": to_dict(c.config), "run_dir": str(c.run_dir), "data": data.identity(collab_aps(c))},
            c.needs,
        )
        for c in collabs
    ]
    free_collab = [stage for stage in collab if not stage.needs]
    waiting_collab = [stage for stage in collab if stage.needs]
    shared = [outputs_stage(o) for o in outputs]
    stages = [*teachers, *shared, *self_kd, *free, *free_collab, *waiting_collab, *taught]
    complexity_args = {
        "models": _deployable_models(runs),
        "latency_repeats": config.evaluation.latency_repeats,
    }
    stages.append(
        Stage(
            COMPLEXITY,
            stage_jobs.measure_complexity,
            complexity_args,
            tuple(s.name for s in stages),
            in_worker=False,
        )
    )
    return stages


def collab_aps(run: CollabRun) -> list[str | None]:
    """The APs a collaboration run reads: its centre's and its nodes'."""
    central = run.config.central.ap
    return [central, *(node.ap or central for node in run.config.nodes)]


def _deployable_models(runs: list[ModelRun]) -> dict[str, Any]:
    """One ModelConfig per group (recipes do not change the deployed model), input sizes from the cache config."""
    models = {}
    for run in runs:
        if run.group not in models:
            pre = run.config.data.preprocess
            model = to_dict(run.config.model)
            models[run.group] = {
                **model,
                "image_size": list(pre.camera_size),
                "radar_size": list(pre.radar_size),
            }
    return models


def run_experiment(
    config: ExperimentConfig,
    out: Path,
    console: Console,
    workers: int | None = None,
) -> dict[str, Any]:
    """The whole study; returns results.json's content. workers: cache-building processes."""
    start, start_cpu = time.perf_counter(), cpu_seconds()
    out = Path(out)
    paths, runs, collabs = resolve_study(config, out)
    outputs = teacher_output_runs(config, out)
    check_devices(config, runs)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomically(out / EXPERIMENT_YAML, yaml.safe_dump(to_dict(config), sort_keys=False))
    data_aps = [run.config.data.ap for run in runs] + [ap for c in collabs for ap in collab_aps(c)]
    data = prepare_study_data(config, out, workers, used_aps(data_aps), say=console.print)
    common = common_run(config, paths)
    dataset = dataset_summary(common)
    stages = build_stages(config, runs, collabs, outputs, data)
    store = StageStore(out / "stages")
    with ConsoleProgress(console, len(stages), start=start) as events:
        records = run_stages(stages, store, config.workers, events)
    console.print(f"[bold]report[/bold]: writing {out / 'report.md'}")
    results = assemble(
        config.name, to_dict(config), data.to_dict(), dataset, runs, collabs, records, events.reused_names
    )
    splits = dataset["splits"]
    results["budget"] = budget_notes(
        config, runs, collabs, splits["train"]["windows"], splits["test"]["windows"]
    )
    results["timing"]["total_s"] = round(time.perf_counter() - start, 1)
    # this process and every worker it started (they are waited for when the pool closes)
    results["timing"]["cpu_seconds"] = round(cpu_seconds() - start_cpu, 1)
    return write_report(results, out, scene=_scene_maker(config, runs))


def _scene_maker(config: ExperimentConfig, runs: list[ModelRun]) -> Callable[[Path], Path]:
    """Plots the scene with the configured model (loaded from its run folder) on the study's AP."""

    def make(path: Path) -> Path:
        run = next(r for r in runs if r.id == config.evaluation.scene_model)
        model = load_trained_model(run.run_dir)
        data = stage_jobs.prepared_data(run.config.data)
        return plot_scene(model, run.id, data, config.evaluation.scene_slots, path)

    return make
