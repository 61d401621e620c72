"""Training curves of every model, read from each run folder's metrics.csv (one row per epoch)."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from matplotlib.ticker import MaxNLocator

from kdcs.experiments.report.plots.accuracy import by_group, recipe_order
from kdcs.experiments.report.plots.figures import colour, new_figure, save_png

ROWS = (("train_loss", "train loss (total)"), ("val_top1_mean", "validation top-1"))


def read_curve(run_dir: Path) -> dict[str, list[float]]:
    """{column: values per epoch} of run_dir/metrics.csv; empty when the file is missing."""
    path = Path(run_dir) / "metrics.csv"
    if not path.is_file():
        return {}
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns = rows[0].keys() if rows else []
    return {c: [float(r[c]) for r in rows if r.get(c) not in (None, "")] for c in columns}


def plot_training_curves(results: Mapping[str, Any], path: Path) -> Path:
    models = results["models"]
    groups, recipes = by_group(models), recipe_order(models)
    figure = new_figure(3.1 * len(groups) + 0.5, 5.6)
    axes = figure.subplots(len(ROWS), len(groups), squeeze=False)
    for column, (group, ids) in enumerate(groups.items()):
        for model_id in ids:
            recipe = models[model_id]["recipe"]
            run_dirs = [run["run_dir"] for run in models[model_id].get("runs", [])] or [
                models[model_id]["run_dir"]
            ]
            for seed_index, run_dir in enumerate(run_dirs):  # one line per seed, the recipe's colour
                curve = read_curve(Path(run_dir))
                for row, (key, _) in enumerate(ROWS):
                    if key in curve and "epoch" in curve:
                        axes[row][column].plot(
                            curve["epoch"],
                            curve[key],
                            marker="o",
                            ms=3,
                            alpha=1.0 if seed_index == 0 else 0.5,
                            color=colour(recipes.index(recipe)),
                            label=recipe if seed_index == 0 else None,
                        )
        for row, (_, label) in enumerate(ROWS):
            ax = axes[row][column]
            ax.grid(alpha=0.3)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("epoch")
            if column == 0:
                ax.set_ylabel(label)
        axes[0][column].set_title(group, fontsize=9)
        axes[1][column].legend(fontsize=7)
    figure.suptitle("Training curves, one line per seed (KD runs' loss includes their KD terms)")
    return save_png(figure, path)
