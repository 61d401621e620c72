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
from kdcs.experiments.stages.runner import Stage, run_stages
from kdcs.experiments.stages.store import StageStore
from kdcs.experiments.study.budget import budget_notes
from kdcs.experiments.study.config import ExperimentConfig
from kdcs.experiments.study.data import StudyData, dataset_summary, prepare_study_data, used_aps
from kdcs.experiments.study.resolve import (
    CollabRun,
    ModelRun,
    StudyPaths,
    collab_runs,
    common_run,
    model_runs,
)
from kdcs.experiments.study.results import assemble
from kdcs.jobs import stage_jobs

COMPLEXITY = "complexity"
EXPERIMENT_YAML = "experiment.yaml"


def study_paths(config: ExperimentConfig, out: Path) -> StudyPaths:
    scenario = Path(config.scenario.path) if config.scenario.path else out / "scenario"
    return StudyPaths(scenario=scenario, cache=out / "cache", out=out)


def resolve_study(config: ExperimentConfig, out: Path) -> tuple[StudyPaths, list[ModelRun], list[CollabRun]]:
    """Every run resolved and checked (ConfigError naming the key); writes nothing."""
    paths = study_paths(config, Path(out))
    runs = model_runs(config, paths)
    collabs = collab_runs(config, paths)
    if config.evaluation.scene_model not in {run.id for run in runs}:
        raise ConfigError(
            f"config key 'evaluation.scene_model': {config.evaluation.scene_model!r} is not one of the "
            f"study's models ({', '.join(run.id for run in runs)})"
        )
    return paths, runs, collabs


def build_stages(
    config: ExperimentConfig, runs: list[ModelRun], collabs: list[CollabRun], data: StudyData
) -> list[Stage]:
    """Teacher first, then self-KD (started as soon as the teacher is done); what needs no teacher
    (no-KD students, collaboration) fills the other worker meanwhile; then the KD students;
    complexity last, alone (it times inference)."""

    def model_stage(run: ModelRun) -> Stage:
        args = {
            "config": to_dict(run.config),
            "run_dir": str(run.run_dir),
            "train_stride": config.train_stride,
            "data": data.identity([run.config.data.ap]),
        }
        return Stage(run.stage, stage_jobs.train_model, args, tuple(r.replace("/", "-") for r in run.needs))

    teacher, *others = [model_stage(r) for r in runs if not r.needs]
    dependent = [model_stage(r) for r in runs if r.needs]
    collab = [
        Stage(
            c.stage,
            stage_jobs.collaborate,
            {"config": to_dict(c.config), "run_dir": str(c.run_dir), "data": data.identity(collab_aps(c))},
            c.needs,
        )
        for c in collabs
    ]
    # the first stage that needs the teacher (self-KD: as long as the teacher itself) is on the
    # critical path, so it comes right after the teacher and takes the first free worker; what needs
    # no teacher fills the other worker while the teacher trains
    free = [stage for stage in collab if not stage.needs]
    waiting = [stage for stage in collab if stage.needs]
    stages = [teacher, *dependent[:1], *others, *free, *waiting, *dependent[1:]]
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
    start = time.perf_counter()
    out = Path(out)
    paths, runs, collabs = resolve_study(config, out)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomically(out / EXPERIMENT_YAML, yaml.safe_dump(to_dict(config), sort_keys=False))
    data_aps = [run.config.data.ap for run in runs] + [ap for c in collabs for ap in collab_aps(c)]
    data = prepare_study_data(config, out, workers, used_aps(data_aps), say=console.print)
    common = common_run(config, paths)
    dataset = dataset_summary(common)
    stages = build_stages(config, runs, collabs, data)
    store = StageStore(out / "stages")
    with ConsoleProgress(console, len(stages), start=start) as events:
        records = run_stages(stages, store, config.workers, events)
    console.print(f"[bold]report[/bold]: writing {out / 'report.md'}")
    results = assemble(
        config.name, to_dict(config), data.to_dict(), dataset, runs, collabs, records, events.reused_names
    )
    results["budget"] = budget_notes(config, runs, collabs, dataset["splits"]["train"]["windows"])
    results["timing"]["total_s"] = round(time.perf_counter() - start, 1)
    return write_report(results, out, scene=_scene_maker(config, runs))


def _scene_maker(config: ExperimentConfig, runs: list[ModelRun]) -> Callable[[Path], Path]:
    """Plots the scene with the configured model (loaded from its run folder) on the study's AP."""

    def make(path: Path) -> Path:
        run = next(r for r in runs if r.id == config.evaluation.scene_model)
        model = load_trained_model(run.run_dir)
        data = stage_jobs.prepared_data(run.config.data)
        return plot_scene(model, run.id, data, config.evaluation.scene_slots, path)

    return make
