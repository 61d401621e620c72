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


def node_curves(rounds_csv: Path) -> dict[str, NodeCurve]:
    """{node: its curve}, from rounds.csv; a round the node missed adds its bytes but no point."""
    with Path(rounds_csv).open(newline="") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda row: int(row["round"]))
    curves: dict[str, NodeCurve] = {}
    sent: dict[str, float] = {}
    for row in rows:
        node = row["node"]
        sent[node] = sent.get(node, 0.0) + float(row["up_bytes"] or 0)
        if row["status"] != "ok" or row["val_top1"] in ("", None):
            continue
        curve = curves.setdefault(node, NodeCurve())
        curve.rounds.append(int(row["round"]))
        curve.uplink.append(sent[node])
        curve.top1.append(float(row["val_top1"]))
        curve.top5.append(float(row["val_top5"]))
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
