"""Per-slot metric tables for people (the JSON output is the metrics dict itself)."""

from __future__ import annotations

from rich.table import Table

from kdcs.cli.output import table

SHOWN = ("top1", "top3", "top5", "dba")


def metrics_table(title: str, summary: dict) -> Table:
    """Rows: top-1/3/5 and official DBA; columns: slot t, t+1, ..., mean."""
    slots = len(summary["top1"]["per_slot"])
    names = ["t"] + [f"t+{j}" for j in range(1, slots)]
    rows = [[metric, *summary[metric]["per_slot"], summary[metric]["mean"]] for metric in SHOWN]
    if "power_loss_db" in summary:
        loss = summary["power_loss_db"]
        # negative: a "loss" printed as -1.2 reads like a gain, so the label says what it measures
        rows.append(["chosen vs best beam power, dB (<= 0)", *loss["per_slot"], loss["mean"]])
    return table(f"{title} ({summary['num_windows']} windows)", ["metric", *names, "mean"], rows)


def distance_line(summary: dict) -> str:
    """ "|top-1 - true| in beams: 0: 412, 1: 310, ..., >=10: 3" over every window and slot."""
    counts = summary.get("beam_distance_histogram", [])
    parts = [f"{d}: {c}" for d, c in enumerate(counts[:-1])] + (
        [f">={len(counts) - 1}: {counts[-1]}"] if counts else []
    )
    return "|top-1 - true| in beams: " + ", ".join(parts)
