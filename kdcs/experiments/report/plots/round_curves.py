"""One collaboration run's curves (`kdcs collab` writes them as curves.png beside rounds.csv): each
node's validation top-1 and top-5 after every round against the uplink bytes it has sent so far, so
a reader sees both what a node gained and what the gain cost on the fronthaul."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from kdcs.experiments.report.plots.figures import colour, new_figure, save_png

CURVES_PNG = "curves.png"


@dataclass
class NodeCurve:
    """A node's rounds in order: cumulative uplink bytes, and validation top-1/top-5 where it replied."""

    rounds: list[int] = field(default_factory=list)
    uplink: list[float] = field(default_factory=list)
    top1: list[float] = field(default_factory=list)
    top5: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class RoundRow:
    """One node's round as rounds.csv records it; the scores are None where it did not reply."""

    round: int
    node: str
    up_bytes: float
    val_top1: float | None
    val_top5: float | None


def read_rounds(rounds_csv: Path) -> list[RoundRow]:
    """rounds.csv's rows in round order (the one reader of that file for the plots)."""
    with Path(rounds_csv).open(newline="") as handle:
        raw = list(csv.DictReader(handle))
    rows = []
    for row in raw:
        replied = row["status"] == "ok" and row["val_top1"] not in ("", None)
        rows.append(
            RoundRow(
                round=int(row["round"]),
                node=row["node"],
                up_bytes=float(row["up_bytes"] or 0),
                val_top1=float(row["val_top1"]) if replied else None,
                val_top5=float(row["val_top5"]) if replied else None,
            )
        )
    return sorted(rows, key=lambda row: row.round)


def node_curves(rounds_csv: Path) -> dict[str, NodeCurve]:
    """{node: its curve}, from rounds.csv; a round the node missed adds its bytes but no point."""
    curves: dict[str, NodeCurve] = {}
    sent: dict[str, float] = {}
    for row in read_rounds(rounds_csv):
        sent[row.node] = sent.get(row.node, 0.0) + row.up_bytes
        if row.val_top1 is None or row.val_top5 is None:
            continue
        curve = curves.setdefault(row.node, NodeCurve())
        curve.rounds.append(row.round)
        curve.uplink.append(sent[row.node])
        curve.top1.append(row.val_top1)
        curve.top5.append(row.val_top5)
    return curves


def plot_round_curves(run_dir: Path, protocol: str) -> Path:
    """curves.png in `run_dir`; x is the node's cumulative uplink, or the round when nothing was sent."""
    curves = node_curves(Path(run_dir) / "rounds.csv")
    by_bytes = any(value > 0 for curve in curves.values() for value in curve.uplink)
    figure = new_figure(9.0, 3.8)
    axes = figure.subplots(1, 2, sharex=True)
    for ax, (metric, label) in zip(axes, (("top1", "top-1"), ("top5", "top-5")), strict=True):
        for index, (node, curve) in enumerate(curves.items()):
            xs = [max(x, 1.0) for x in curve.uplink] if by_bytes else curve.rounds
            ax.plot(xs, getattr(curve, metric), marker="o", ms=3, lw=1.3, color=colour(index), label=node)
        ax.set_ylabel(f"validation {label}")
        ax.grid(alpha=0.3)
    for ax in axes:
        if by_bytes:
            ax.set_xscale("log")
            ax.set_xlabel("uplink bytes this node sent so far (log)")
        else:
            ax.set_xlabel("round (this protocol sends nothing up)")
    axes[0].legend(fontsize=7, loc="best")
    figure.suptitle(f"{protocol}: each node's validation accuracy after every round")
    return save_png(figure, Path(run_dir) / CURVES_PNG)
