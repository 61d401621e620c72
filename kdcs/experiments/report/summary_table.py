"""The summary printed at the end of a run: one row per model, then the collaboration bytes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.table import Table

from kdcs.experiments.report.findings import mean_node_top1, mean_node_top1_std, with_spread


def models_table(results: Mapping[str, Any]) -> Table:
    seeds = max((len(entry.get("seeds", [])) for entry in results["models"].values()), default=1)
    over = f", mean ± std over {seeds} seeds" if seeds > 1 else ", one seed"
    table = Table(
        title=f"test split, means over slots (models selected on validation{over})", title_justify="left"
    )
    table.add_column("model", no_wrap=True)  # ids are what a reader looks up in report.md: never cut them
    for column in ("top-1", "top-3", "top-5", "DBA", "params", "MACs", "ms"):
        table.add_column(column, justify="right")
    for name, floor in results.get("floors", {}).items():
        table.add_row(
            f"floor: {name}",
            f"{floor['top1']['mean']:.3f}",
            f"{floor['top3']['mean']:.3f}",
            f"{floor['top5']['mean']:.3f}",
            "",
            "",
            "",
            "",
        )
    for model_id, entry in results["models"].items():
        report = results.get("complexity", {}).get(entry["group"], {})
        latency = (report.get("latency") or {}).get("median_ms")
        test = entry["test"]
        table.add_row(
            model_id,
            with_spread(test["top1"]["mean"], test["top1"].get("std")),
            f"{test['top3']['mean']:.3f}",
            f"{test['top5']['mean']:.3f}",
            f"{test['dba']['mean']:.3f}",
            f"{report['parameters']['deployable']:,}" if report else "",
            f"{report['macs']['macs_per_inference'] / 1e6:.2f}M" if report else "",
            f"{latency:.2f}" if latency is not None else "",
        )
    return table


def collab_table(results: Mapping[str, Any]) -> Table:
    table = Table(title="collaboration (bytes from serialised payloads)", title_justify="left")
    for column in ("run", "protocol", "rounds", "uplink bytes", "downlink bytes", "mean node top-1"):
        table.add_column(column, justify="left" if column in ("run", "protocol") else "right")
    for name, run in results.get("collab", {}).items():
        table.add_row(
            name,
            run["protocol"],
            str(run["rounds"]),
            f"{run['bytes']['up']:,}",
            f"{run['bytes']['down']:,}",
            with_spread(mean_node_top1(run), mean_node_top1_std(run)),
        )
    return table
