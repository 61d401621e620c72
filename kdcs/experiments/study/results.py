"""results.json: every number of the study, gathered from the stage records into one JSON tree.

Layout:
    experiment, config (resolved), machine, timing {stages: {name: seconds, reused}, total_s}
    dataset: the study AP's summary (counts, beam statistics, floors per split)
    floors: {name: test-split top-1/3/5 per slot and mean}
    models: {id: {group, recipe, architecture, modalities, history, run_dir, best_epoch, epochs_run,
             train_seconds, val: {metric: mean}, test: {top1/top3/top5/dba: {per_slot, mean}, ...}}}
    complexity: {group: {parameters, macs, bytes, latency, ...}}
    collab: {name: {protocol, bytes {up, down, ...}, nodes {...}, ...}}
    ratios, findings, paper_checks: derived (kdcs.experiments.report.findings / paper_checks)
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from typing import Any

import torch

from kdcs.experiments.stages.store import StageRecord
from kdcs.experiments.study.resolve import CollabRun, ModelRun

TEST_METRICS = ("top1", "top3", "top5", "dba")


def model_entry(run: ModelRun, metrics: Mapping[str, Any]) -> dict[str, Any]:
    test = metrics["test"]
    return {
        "group": run.group,
        "recipe": run.recipe,
        "teacher": run.needs[0] if run.needs else None,
        "architecture": metrics["architecture"],
        "modalities": metrics["modalities"],
        "history": run.config.model.history,
        "run_dir": str(run.run_dir),
        "best_epoch": metrics["best_epoch"],
        "epochs_run": metrics["epochs_run"],
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
    return {**results, "run_dir": str(run.run_dir), "node_models": node_models(results)}


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
        "models": {run.id: model_entry(run, records[run.stage].result["metrics"]) for run in models},
        "complexity": records["complexity"].result["models"] if "complexity" in records else {},
        "collab": {run.name: collab_entry(run, records[run.stage].result["results"]) for run in collabs},
        "timing": {
            "stages": {
                name: {"seconds": record.seconds, "reused": name in reused}
                for name, record in records.items()
            },
        },
    }
