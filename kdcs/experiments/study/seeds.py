"""Rows over seeds: every number of a model or collaboration row as mean and sample std over its seeds.

A study trains each row once per seed (`ExperimentConfig.seeds`); results.json keeps every seed's
entry under "runs" and puts the row's mean where one seed's value would be, so the report reads one
shape whatever the number of seeds. The std is None for a single seed: there is no spread to show,
and the report then falls back to a fixed noise threshold (`kdcs.experiments.report.findings`).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import Any

from kdcs.experiments.report.findings import mean_node_top1

# fields every seed of a row shares (the same architecture, inputs, recipe and teacher row)
SHARED_FIELDS = ("group", "recipe", "teacher", "architecture", "modalities", "history")


def mean_std(values: Sequence[float]) -> tuple[float, float | None]:
    """Mean and sample standard deviation (ddof=1); std None for fewer than two values."""
    values = [float(v) for v in values]
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, None
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def aggregate_metric(metrics: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """{per_slot, mean} of each seed -> {per_slot, mean, per_slot_std, std} (means of the seeds)."""
    slots = list(zip(*(m["per_slot"] for m in metrics), strict=True))
    per_slot = [mean_std(values) for values in slots]
    mean, std = mean_std([m["mean"] for m in metrics])
    return {
        "per_slot": [m for m, _ in per_slot],
        "mean": mean,
        "per_slot_std": None if std is None else [s for _, s in per_slot],
        "std": std,
    }


def aggregate_model(entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One report row from the per-seed entries of one model id (`results.model_entry`)."""
    first = entries[0]
    row: dict[str, Any] = {field: first[field] for field in SHARED_FIELDS}
    row["seeds"] = [entry["seed"] for entry in entries]
    row["run_dir"] = first["run_dir"]
    row["test"] = {
        name: aggregate_metric([entry["test"][name] for entry in entries])
        for name, value in first["test"].items()
        if isinstance(value, Mapping) and "per_slot" in value
    }
    val_names = [name for name in first["val"] if all(name in entry["val"] for entry in entries)]
    spread = {name: mean_std([entry["val"][name] for entry in entries]) for name in val_names}
    row["val"] = {name: mean for name, (mean, _) in spread.items()}
    row["val_std"] = {name: std for name, (_, std) in spread.items()}
    row["train_seconds"] = round(sum(float(entry["train_seconds"]) for entry in entries), 2)
    row["test_windows"] = first["test_windows"]
    row["runs"] = list(entries)
    return row


def aggregate_collab(entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One collaboration row from its per-seed results: node test top-1 and bytes averaged over seeds,
    the mean node test top-1 as mean and std, every seed's results under "runs"."""
    row = copy.deepcopy(dict(entries[0]))
    row["seeds"] = [entry["seed"] for entry in entries]
    for node, result in row["nodes"].items():
        values = [
            e["nodes"][node]["test"]["top1_mean"] for e in entries if "test" in e["nodes"].get(node, {})
        ]
        if "test" in result and values:
            result["test"]["top1_mean"], result["test"]["top1_mean_std"] = mean_std(values)
    for direction in ("up", "down"):
        row["bytes"][direction] = round(mean_std([e["bytes"][direction] for e in entries])[0])
    mean, std = mean_std([mean_node_top1(entry) for entry in entries])
    row["mean_node_top1"] = {"mean": mean, "std": std}
    row["runs"] = list(entries)
    return row


def by_row(entries: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, list[Mapping[str, Any]]]:
    """(row id, per-seed entry) pairs grouped by row id, rows in first-seen order."""
    rows: dict[str, list[Mapping[str, Any]]] = {}
    for row_id, entry in entries:
        rows.setdefault(row_id, []).append(entry)
    return rows
