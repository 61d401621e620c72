"""results.json: every number of the study, gathered from the stage records into one JSON tree.

Layout:
    experiment, config (resolved), machine, timing {stages: {name: seconds, cpu_seconds, reused},
        total_s, cpu_seconds}
    dataset: the study AP's summary (counts, beam statistics, floors per split)
    floors: {name: test-split top-1/3/5 per slot and mean}
    models: {id: {group, recipe, architecture, modalities, history, run_dir, seeds, train_seconds,
             val: {metric: mean over seeds}, val_std, test: {top1/top3/top5/dba: {per_slot, mean,
             per_slot_std, std}, ...}, runs: [one entry per seed: seed, best_epoch, epochs_run,
             stop {...}, val, test, ...]}}  (`kdcs.experiments.study.seeds`)
    complexity: {group: {parameters, macs, bytes, latency, ...}}
    collab: {name: {protocol, bytes {up, down, ...}, nodes {...}, mean_node_top1 {mean, std}, seeds,
             runs: [per seed]}}
    ratios, findings, paper_checks: derived (kdcs.experiments.report.findings / paper_checks)
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from typing import Any

import torch

from kdcs.distill.train_config import TrainConfig
from kdcs.experiments.stages.store import StageRecord
from kdcs.experiments.study.resolve import CollabRun, ModelRun
from kdcs.experiments.study.seeds import aggregate_collab, aggregate_model, by_row

TEST_METRICS = ("top1", "top3", "top5", "dba")


def stop_summary(metrics: Mapping[str, Any], train: TrainConfig) -> dict[str, Any]:
    """Why training stopped: "plateau" (validation did not improve for `patience` epochs) or
    "epoch cap"; a cap hit within `patience` epochs of the best epoch was still improving (the
    plateau was never confirmed), which the report flags."""
    epochs, best = int(metrics["epochs_run"]), metrics["best_epoch"]
    reason = str(metrics.get("stopped_reason") or "")
    plateau = reason.startswith("early stop")
    since_best = epochs - int(best) if best is not None else epochs
    window = train.patience if train.patience is not None else 1
    return {
        "by": "plateau" if plateau else "epoch cap",
        "epochs": epochs,
        "best_epoch": best,
        "patience": train.patience,
        "cap": train.epochs,
        "still_improving": not plateau and since_best < window,
    }


def model_entry(run: ModelRun, metrics: Mapping[str, Any]) -> dict[str, Any]:
    """One seed's model: what it is, how it stopped, its validation and test numbers."""
    test = metrics["test"]
    return {
        "seed": run.seed,
        "group": run.group,
        "recipe": run.recipe,
        "teacher": run.teacher,
        "architecture": metrics["architecture"],
        "modalities": metrics["modalities"],
        "history": run.config.model.history,
        "run_dir": str(run.run_dir),
        "best_epoch": metrics["best_epoch"],
        "epochs_run": metrics["epochs_run"],
        "stop": stop_summary(metrics, run.config.train),
        "teacher_outputs": metrics.get("teacher_outputs"),
        "train_seconds": metrics["train_seconds"],
        "windows": metrics["windows"],
        "val": {
            name: value["mean"]
            for name, value in metrics["val"].items()
            if isinstance(value, dict) and "mean" in value
        },
        "test": {
            name: test[name] for name in (*TEST_METRICS, "dba_y3_term", "power_loss_db") if name in test
        },
        "test_windows": test["num_windows"],
    }


def collab_entry(run: CollabRun, results: Mapping[str, Any]) -> dict[str, Any]:
    return {**results, "seed": run.seed, "run_dir": str(run.run_dir), "node_models": node_models(results)}


def node_models(results: Mapping[str, Any]) -> str:
    """The nodes' models in words, e.g. "gps-beam-student (beam_history)"."""
    kinds = sorted({f"{n['architecture']} ({'+'.join(n['modalities'])})" for n in results["nodes"].values()})
    return ", ".join(kinds)


def floors_on_test(dataset: Mapping[str, Any]) -> dict[str, Any]:
    return dict(dataset["splits"]["test"]["floors"])


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu_count": os.cpu_count(),
        # the machine may be shared: wall times and latencies read with its load
        "load_average_1_5_15_min": [round(v, 2) for v in os.getloadavg()],
    }


def assemble(
    experiment: str,
    config: Mapping[str, Any],
    data: Mapping[str, Any],
    dataset: Mapping[str, Any],
    models: list[ModelRun],
    collabs: list[CollabRun],
    records: Mapping[str, StageRecord],
    reused: set[str],
) -> dict[str, Any]:
    """Everything but the derived parts (ratios, findings, paper checks)."""
    return {
        "experiment": experiment,
        "config": dict(config),
        "machine": machine(),
        "data": dict(data),
        "dataset": dict(dataset),
        "floors": floors_on_test(dataset),
        "models": {
            row: aggregate_model(entries)
            for row, entries in by_row(
                [(run.id, model_entry(run, records[run.stage].result["metrics"])) for run in models]
            ).items()
        },
        "complexity": records["complexity"].result["models"] if "complexity" in records else {},
        "collab": {
            name: aggregate_collab(entries)
            for name, entries in by_row(
                [(run.name, collab_entry(run, records[run.stage].result["results"])) for run in collabs]
            ).items()
        },
        "timing": {
            "stages": {
                name: {"seconds": record.seconds, "cpu_seconds": record.cpu_seconds, "reused": name in reused}
                for name, record in records.items()
            },
        },
    }
