"""The jobs behind a study's stages (`kdcs run`): train one model, run one collaboration, measure complexity.

Module-level functions of (args, fingerprint) with JSON-ready arguments and results, so a worker
process can run them. A job owns one run folder: it resumes that folder when it was started for
the same fingerprint (a killed run continues from its last checkpoint) and wipes it otherwise.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from kdcs.collab.config import CollabConfig
from kdcs.config import from_dict, to_dict
from kdcs.data.prepared import DataConfig, PreparedData, prepare_data
from kdcs.distill.prediction import EVAL_BATCH
from kdcs.distill.run_config import RunConfig
from kdcs.distill.teacher_outputs import CachedTeacher
from kdcs.distill.trained_model import load_trained_model
from kdcs.eval.complexity import complexity_report, example_batch
from kdcs.jobs.collab import run_collab
from kdcs.jobs.train import run_training
from kdcs.models import ModelConfig, build_model

STAGE_MARK = "stage-fingerprint.txt"

# PreparedData per data config, per process: workers read each AP's cache once.
_PREPARED: dict[str, PreparedData] = {}


def claim_run_dir(run_dir: Path, fingerprint: str) -> bool:
    """Prepare `run_dir` for the stage `fingerprint`; True when it holds a partial run of that stage."""
    mark = run_dir / STAGE_MARK
    if mark.is_file() and mark.read_text().strip() == fingerprint:
        return True
    if run_dir.exists():
        shutil.rmtree(run_dir)  # another config's (or a damaged) run: its checkpoints must not be resumed
    run_dir.mkdir(parents=True)
    mark.write_text(fingerprint + "\n")
    return False


def prepared_data(data_config: DataConfig, train_stride: int = 1) -> PreparedData:
    """The study's PreparedData for `data_config`, training windows thinned to every `train_stride`-th."""
    key = json.dumps(to_dict(data_config), sort_keys=True)
    if key not in _PREPARED:
        _PREPARED[key] = prepare_data(data_config, workers=1)
    data = _PREPARED[key]
    if train_stride == 1:
        return data
    thinned = data.windows["train"].subset(slice(None, None, train_stride))
    return dataclasses.replace(data, windows={**data.windows, "train": thinned})


def train_model(args: Mapping[str, Any], fingerprint: str) -> dict[str, Any]:
    """args: config (RunConfig as a dict), run_dir, train_stride, teacher_outputs (a shared cache
    file of the teacher's outputs, or None). Result: metrics.json's content."""
    config = from_dict(RunConfig, args["config"])
    run_dir = Path(args["run_dir"])
    resume = claim_run_dir(run_dir, fingerprint)
    data = prepared_data(config.data, int(args["train_stride"]))
    shared = Path(args["teacher_outputs"]) if args.get("teacher_outputs") else None
    metrics = run_training(config, run_dir, resume=resume, workers=1, data=data, teacher_outputs=shared)
    summary = (
        f"val top-1 {metrics['val']['top1']['mean']:.3f}, test top-1 {metrics['test']['top1']['mean']:.3f} "
        f"(best epoch {metrics['best_epoch']}/{metrics['epochs_run']})"
    )
    return {"summary": summary, "run_dir": str(run_dir), "metrics": metrics}


def cache_teacher_outputs(args: Mapping[str, Any], fingerprint: str) -> dict[str, Any]:
    """args: teacher (run folder), data_config (DataConfig as a dict), train_stride, path. Runs the frozen
    teacher once over the view's (thinned) train and val windows and saves its logits and every named
    feature at `path`, for all the KD runs of that view to read. Result: path, windows, features."""
    teacher = load_trained_model(args["teacher"])
    for parameter in teacher.parameters():
        parameter.requires_grad_(False)
    data = prepared_data(from_dict(DataConfig, args["data_config"]), int(args["train_stride"]))
    batchers = [data.batcher(split, teacher.modalities, EVAL_BATCH) for split in ("train", "val")]
    cache = CachedTeacher.build(teacher, batchers, feature_keys=None)
    path = Path(args["path"])
    path.parent.mkdir(parents=True, exist_ok=True)
    cache.save(path)
    summary = f"{len(cache)} train + val windows, features {', '.join(sorted(cache.features))}"
    return {"summary": summary, "path": str(path), "windows": len(cache), "features": sorted(cache.features)}


def collaborate(args: Mapping[str, Any], fingerprint: str) -> dict[str, Any]:
    """args: config (CollabConfig as a dict), run_dir. Result: the run's results.json content."""
    config = from_dict(CollabConfig, args["config"])
    run_dir = Path(args["run_dir"])
    if run_dir.exists():
        shutil.rmtree(run_dir)  # a collaboration run does not resume: start it again from round 1
    results = run_collab(config, run_dir, workers=1)
    up, down = results["bytes"]["up"], results["bytes"]["down"]
    top1 = [node["test"]["top1_mean"] for node in results["nodes"].values()]
    summary = f"uplink {up:,} B, downlink {down:,} B, node test top-1 {min(top1):.3f}-{max(top1):.3f}"
    return {"summary": summary, "run_dir": str(run_dir), "results": results}


def measure_complexity(args: Mapping[str, Any], fingerprint: str) -> dict[str, Any]:
    """args: models {group: ModelConfig dict (input sizes resolved)}, latency_repeats.
    Result: {group: complexity_report} with parameters, MACs, bytes and batch-1 latency."""
    reports = {}
    for group, model_dict in args["models"].items():
        config = from_dict(ModelConfig, model_dict)
        torch.manual_seed(0)
        model = build_model(config).eval()
        reports[group] = complexity_report(
            model, example_batch(model.config), latency_repeats=int(args["latency_repeats"])
        )
    return {"summary": f"{len(reports)} architectures measured", "models": reports}
