"""report.md: the study's tables and findings, written from results.json alone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kdcs.experiments.report.findings import (
    NO_KD,
    SELF_KD,
    TEACHER,
    best_kd_on_validation,
    groups,
    mean_node_top1,
    mean_node_top1_std,
    with_spread,
)

SLOT_METRICS = (("top1", "Top-1"), ("top3", "Top-3"), ("top5", "Top-5"), ("dba", "Official DBA"))
PLOTS = (
    ("topk_per_slot.png", "Top-k per slot of every model (floors dashed)"),
    ("accuracy_vs_complexity.png", "Mean test top-1 vs MACs and vs parameters"),
    ("collab_accuracy_vs_uplink.png", "Collaboration: mean node test top-1 vs uplink bytes"),
    ("training_curves.png", "Training curves (train loss, validation top-1)"),
    ("scene.png", "One scene over time: camera, radar, 64-beam power, true beam and top-5 predictions"),
)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return [*lines, ""]


def _slot_names(count: int) -> list[str]:
    return ["t", *(f"t+{j}" for j in range(1, count))]


def metric_tables(results: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    models, floors = results["models"], results.get("floors", {})
    slots = len(next(iter(models.values()))["test"]["top1"]["per_slot"]) if models else 0
    for key, title in SLOT_METRICS:
        lines += [f"### {title} per slot (test)", ""]
        rows = [
            [f"floor: {name}", *f[key]["per_slot"], f[key]["mean"]] for name, f in floors.items() if key in f
        ]
        rows += [
            [model_id, *_with_spreads(entry["test"][key])]
            for model_id, entry in models.items()
            if key in entry["test"]
        ]
        lines += _table(["model", *_slot_names(slots), "mean"], rows)
    return lines


def _with_spreads(metric: Mapping[str, Any]) -> list[str]:
    """Per-slot values and the mean, each "m ± s" over seeds (plain "m" for one seed)."""
    stds = metric.get("per_slot_std") or [None] * len(metric["per_slot"])
    return [
        *(with_spread(value, std) for value, std in zip(metric["per_slot"], stds, strict=True)),
        with_spread(metric["mean"], metric.get("std")),
    ]


def _mean_text(entry: Mapping[str, Any], key: str) -> str:
    metric = entry["test"].get(key)
    return with_spread(metric["mean"], metric.get("std")) if metric else "-"


def paper_table(results: Mapping[str, Any]) -> list[str]:
    """The paper's table (PAPER.md section 5) in this study's terms: teacher, teacher + self-KD, and per
    student the no-KD model and the KD model picked on validation; mean test top-1 / top-5 / official DBA."""
    models = results["models"]
    rows = [
        [name, "", *(_mean_text(models[model_id], key) for key in ("top1", "top5", "dba"))]
        for name, model_id in (("teacher", TEACHER), ("teacher + self-KD", SELF_KD))
        if model_id in models
    ]
    for group, recipes in groups(results).items():
        entry = models[next(iter(recipes.values()))]
        label = f"{group} ({entry['architecture']}, L={entry['history']})"
        if NO_KD in recipes:
            no_kd = models[recipes[NO_KD]]
            rows.append([label, "no KD", *(_mean_text(no_kd, key) for key in ("top1", "top5", "dba"))])
        best = best_kd_on_validation(results, recipes)
        if best is not None:
            kd = models[best]
            recipe = f"KD: {kd['recipe']}"
            rows.append([label, recipe, *(_mean_text(kd, key) for key in ("top1", "top5", "dba"))])
    if not rows:
        return []
    return [
        "## The paper's table, this run",
        "",
        "Mean over slots of the test split; each student's KD row is the recipe picked on validation.",
        "",
        *_table(["model", "KD", "top-1", "top-5", "official DBA"], rows),
    ]


def stop_table(results: Mapping[str, Any]) -> list[str]:
    """One row per model and seed: epochs run, best epoch, the cap and patience, why it stopped."""
    rows = []
    for model_id, entry in results["models"].items():
        for run in entry.get("runs", []):
            stop = run.get("stop")
            if not stop:
                continue
            if stop["by"] == "plateau":
                why = f"plateau (no gain for {stop['patience']} epochs)"
            else:
                why = "**epoch cap, still improving**" if stop["still_improving"] else "epoch cap"
            patience = stop["patience"] if stop["patience"] is not None else "-"
            rows.append(
                [model_id, run["seed"], stop["epochs"], stop["best_epoch"], stop["cap"], patience, why]
            )
    if not rows:
        return []
    header = ["model", "seed", "epochs run", "best epoch (kept)", "epoch cap", "patience", "stopped by"]
    return ["## How each model stopped", "", *_table(header, rows)]


def complexity_table(results: Mapping[str, Any]) -> list[str]:
    rows = []
    for group, entry in results.get("complexity", {}).items():
        latency = entry.get("latency") or {}
        rows.append(
            [
                group,
                entry["architecture"],
                entry["parameters"]["deployable"],
                entry["macs"]["macs_per_inference"],
                entry["macs"]["macs_per_frame"],
                entry["bytes"]["fp32"],
                entry["bytes"]["int8"],
                f"{latency.get('median_ms', float('nan')):.2f}",
            ]
        )
    header = [
        "model",
        "architecture",
        "params",
        "MACs/inference",
        "MACs/frame",
        "fp32 bytes",
        "int8 bytes",
        "latency ms (batch 1, 1 thread)",
    ]
    return ["## Complexity", "", *_table(header, rows)]


def collab_table(results: Mapping[str, Any]) -> list[str]:
    rows = []
    for name, run in results.get("collab", {}).items():
        nodes = max(len(run["nodes"]), 1)
        rows.append(
            [
                name,
                run["protocol"],
                run["payload_encoding"],
                run["rounds"],
                run["node_models"],
                run["bytes"]["up"],
                run["bytes"]["down"],
                run["bytes"]["up"] // (nodes * max(run["rounds"], 1)),
                with_spread(mean_node_top1(run), mean_node_top1_std(run)),
            ]
        )
    header = [
        "run",
        "protocol",
        "encoding",
        "rounds",
        "node models",
        "uplink bytes",
        "downlink bytes",
        "uplink / node / round",
        "mean node test top-1",
    ]
    return [
        "## Collaboration protocols (bytes counted from the serialised payloads)",
        "",
        *_table(header, rows),
    ]


def ratio_table(results: Mapping[str, Any]) -> list[str]:
    def times(row: Mapping[str, Any], key: str) -> str:
        return f"{row[key]:.1f}x" if key in row else "-"

    def share(row: Mapping[str, Any], key: str) -> str:
        return f"{row[key]:.0%}" if key in row else "-"

    rows = [
        [
            group,
            times(row, "params_teacher_over_student"),
            times(row, "macs_teacher_over_student"),
            share(row, "top1_fraction_no_kd"),
            share(row, "top1_fraction_best_kd"),
            row.get("best_kd") or "-",
            share(row, "gap_closed_best_kd"),
        ]
        for group, row in results.get("ratios", {}).items()
    ]
    header = [
        "student",
        "teacher/student params",
        "teacher/student MACs",
        "top-1 as a share of the teacher's, no KD",
        "same, best KD",
        "best KD (picked on validation)",
        "student-teacher gap closed by it",
    ]
    return ["## Student vs teacher", "", *_table(header, rows)]


def dataset_section(results: Mapping[str, Any]) -> list[str]:
    dataset = results["dataset"]
    splits = dataset["splits"]
    changes = dataset.get("beam_changes", {})
    lines = [
        "## Dataset",
        "",
        f"{dataset['name']}: {dataset['samples']:,} samples in {dataset['sequences']} sequences; modalities "
        f"{', '.join(dataset['modalities'])}; windows L={dataset['window_spec']['history']}, "
        f"J={dataset['window_spec']['horizon']}: train {splits['train']['windows']:,} / val "
        f"{splits['val']['windows']:,} / test {splits['test']['windows']:,} (split by sequence).",
    ]
    if "change_rate" in changes:
        lines.append(
            f"The best beam changes on {changes['change_rate']:.0%} of steps (mean |change| {changes['mean_abs_change']:.2f} beams)."
        )
    lines.append("")
    return lines


def budget_section(results: Mapping[str, Any]) -> list[str]:
    notes = results.get("budget", [])
    return ["## What the time budget forced", "", *(f"- {note}" for note in notes), ""] if notes else []


def paper_section(results: Mapping[str, Any]) -> list[str]:
    rows = [[c["claim"], c["paper"], c["ours"], c["verdict"]] for c in results.get("paper_checks", [])]
    return [
        "## Against the paper's findings",
        "",
        "The paper's numbers are scenario 9, camera only, J=6, 100 epochs; ours are this run's. Verdicts are computed.",
        "",
        *_table(["claim", "paper", "this run", "verdict"], rows),
    ]


def timing_section(results: Mapping[str, Any]) -> list[str]:
    timing = results.get("timing", {})
    rows = [
        [
            name,
            f"{t['seconds']:.1f}",
            "-" if t.get("cpu_seconds") is None else f"{t['cpu_seconds']:.1f}",
            "reused" if t["reused"] else "ran",
        ]
        for name, t in timing.get("stages", {}).items()
    ]
    machine = results["machine"]
    head = f"Wall time of this invocation: {timing.get('total_s', float('nan')):.0f} s on {machine['cpu_count']} CPU cores"
    if timing.get("cpu_seconds") is not None:
        head += f", {timing['cpu_seconds']:.0f} CPU-seconds (user + system, every process of the run)"
    if "load_average_1_5_15_min" in machine:
        head += f" (load average {'/'.join(f'{v:.1f}' for v in machine['load_average_1_5_15_min'])} over 1/5/15 min at the end)"
    return [
        "## Stages",
        "",
        head + "; stage seconds are from the run that computed them.",
        "",
        *_table(["stage", "wall seconds", "CPU seconds", "this run"], rows),
    ]


def render(results: Mapping[str, Any]) -> str:
    lines = [
        f"# {results['experiment']}: teacher, students, collaboration",
        "",
        "All accuracy numbers are on the test split, computed once from weights selected on validation.",
        "",
        *budget_section(results),
        "## Findings",
        "",
        *(f"- {sentence}" for sentence in results.get("findings", [])),
        "",
        *paper_table(results),
        *paper_section(results),
        *dataset_section(results),
        "## Accuracy",
        "",
        *metric_tables(results),
        *complexity_table(results),
        *ratio_table(results),
        *collab_table(results),
        *stop_table(results),
        "## Plots",
        "",
        *(f"- [{title}](plots/{name})" for name, title in PLOTS if name in results.get("plots", [])),
        "",
        *timing_section(results),
    ]
    return "\n".join(lines).rstrip() + "\n"
