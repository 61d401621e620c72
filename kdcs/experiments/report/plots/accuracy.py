"""Plots of results.json: top-k per slot, accuracy vs complexity, accuracy vs uplink bytes."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from matplotlib.ticker import EngFormatter, LogLocator, NullFormatter

from kdcs.experiments.report.findings import mean_node_top1, mean_node_top1_std
from kdcs.experiments.report.plots.figures import colour, new_figure, save_png
from kdcs.experiments.report.plots.round_curves import read_rounds

KS = (("top1", "top-1"), ("top3", "top-3"), ("top5", "top-5"))
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


FIRST_RECIPES = ("none", "self-kd")  # baselines first, so they keep the first colour in every figure


def recipe_order(models: Mapping[str, Any]) -> list[str]:
    recipes = list(dict.fromkeys(entry["recipe"] for entry in models.values()))
    return sorted(
        recipes, key=lambda r: (r not in FIRST_RECIPES, FIRST_RECIPES.index(r) if r in FIRST_RECIPES else 0)
    )


def by_group(models: Mapping[str, Any]) -> dict[str, list[str]]:
    """{group: model ids}, groups in study order (the teacher first), ids in recipe order."""
    recipes = recipe_order(models)
    out: dict[str, list[str]] = {}
    for model_id, entry in models.items():
        out.setdefault(entry["group"], []).append(model_id)
    return {g: sorted(ids, key=lambda m: recipes.index(models[m]["recipe"])) for g, ids in out.items()}


def _recipe_styles(models: Mapping[str, Any]) -> dict[str, int]:
    return {recipe: index for index, recipe in enumerate(recipe_order(models))}


def plot_topk_per_slot(results: Mapping[str, Any], path: Path) -> Path:
    """Rows: top-1, top-3, top-5; columns: model groups; one line per model, floors dashed grey."""
    models, floors = results["models"], results.get("floors", {})
    groups, styles = by_group(models), _recipe_styles(models)
    figure = new_figure(3.1 * len(groups) + 0.5, 7.6)
    axes = figure.subplots(len(KS), len(groups), squeeze=False, sharey="row")
    for column, (group, ids) in enumerate(groups.items()):
        for row, (key, label) in enumerate(KS):
            ax = axes[row][column]
            slots = range(len(models[ids[0]]["test"][key]["per_slot"]))
            for floor_index, (name, floor) in enumerate(floors.items()):
                ax.plot(
                    slots,
                    floor[key]["per_slot"],
                    ls="--",
                    color="0.55" if floor_index else "0.3",
                    lw=1,
                    label=f"floor: {name}",
                )
            for model_id in ids:
                recipe = models[model_id]["recipe"]
                metric = models[model_id]["test"][key]
                ax.errorbar(  # error bars: sample std over seeds (none for one seed)
                    slots,
                    metric["per_slot"],
                    yerr=metric.get("per_slot_std"),
                    marker=MARKERS[styles[recipe] % len(MARKERS)],
                    color=colour(styles[recipe]),
                    lw=1.4,
                    ms=4,
                    capsize=2,
                    label=recipe,
                )
            ax.set_xticks(list(slots), ["t", *(f"t+{j}" for j in slots[1:])])
            ax.grid(alpha=0.3)
            if row == 0:
                ax.set_title(
                    f"{group} ({models[ids[0]]['architecture']}, L={models[ids[0]]['history']})", fontsize=9
                )
            if column == 0:
                ax.set_ylabel(f"test {label}")
    handles, labels = axes[0][0].get_legend_handles_labels()
    for column in range(1, len(groups)):  # recipes the teacher column lacks
        for handle, label in zip(*axes[0][column].get_legend_handles_labels(), strict=True):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    figure.legend(handles, labels, loc="outside right center", fontsize=8)
    figure.suptitle("Test accuracy per predicted slot (error bars: std over seeds)")
    return save_png(figure, path)


def _complexity_points(
    results: Mapping[str, Any],
) -> list[tuple[str, str, float, float, float, float | None]]:
    """(model id, recipe, params, MACs per inference, mean test top-1, its std over seeds) for models
    with a complexity entry."""
    points = []
    for model_id, entry in results["models"].items():
        report = results.get("complexity", {}).get(entry["group"])
        if report:
            points.append(
                (
                    model_id,
                    entry["recipe"],
                    report["parameters"]["deployable"],
                    report["macs"]["macs_per_inference"],
                    entry["test"]["top1"]["mean"],
                    entry["test"]["top1"].get("std"),
                )
            )
    return points


def plot_accuracy_vs_complexity(results: Mapping[str, Any], path: Path) -> Path:
    points, styles = _complexity_points(results), _recipe_styles(results["models"])
    groups = list(by_group(results["models"]))
    figure = new_figure(11, 4.6)
    for ax, (index, axis_label) in zip(
        figure.subplots(1, 2),
        ((3, "MACs per inference (log)"), (2, "deployable parameters (log)")),
        strict=True,
    ):
        for model_id, recipe, *values, std in points:
            group = results["models"][model_id]["group"]
            x = values[index - 2]
            ax.errorbar(
                x,
                values[2],
                yerr=std,
                color=colour(groups.index(group)),
                marker=MARKERS[styles[recipe] % len(MARKERS)],
                ms=6,
                capsize=2,
                ls="none",
                zorder=3,
            )
        for name, floor in results.get("floors", {}).items():
            ax.axhline(floor["top1"]["mean"], ls="--", color="0.5", lw=1)
            ax.annotate(
                f"floor: {name}",
                (0.99, floor["top1"]["mean"]),
                xycoords=("axes fraction", "data"),
                fontsize=7,
                color="0.4",
                va="bottom",
                ha="right",  # the small students sit at the left edge
            )
        ax.set_xscale("log")
        # 1-2-5 ticks labelled 50k, 100k, 2M: a narrow log axis otherwise shows one label or overlapping ones
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(axis_label)
        ax.set_ylabel("mean test top-1")
        ax.grid(alpha=0.3, which="both")
    handles_ax = figure.axes[1]
    for index, group in enumerate(groups):
        handles_ax.scatter([], [], color=colour(index), marker="o", label=group)
    for recipe, index in styles.items():
        handles_ax.scatter([], [], color="0.3", marker=MARKERS[index % len(MARKERS)], label=recipe)
    handles_ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    figure.suptitle("Accuracy against compute and size (colour: model, marker: KD recipe)")
    return save_png(figure, path)


def uplink_curve(run: Mapping[str, Any]) -> tuple[list[float], list[float]]:
    """(cumulative uplink bytes, mean node validation top-1) after each round, from rounds.csv."""
    path = Path(run.get("run_dir", "")) / "rounds.csv"
    if not path.is_file():
        return [], []
    rows = [row for row in read_rounds(path) if row.node in run["nodes"]]
    sent, xs, ys = 0.0, [], []
    for round_number in sorted({row.round for row in rows}):
        played = [row for row in rows if row.round == round_number]
        sent += sum(row.up_bytes for row in played)
        scores = [row.val_top1 for row in played if row.val_top1 is not None]
        if scores:
            xs.append(max(sent, 1.0))
            ys.append(sum(scores) / len(scores))
    return xs, ys


def plot_collab_accuracy_vs_uplink(results: Mapping[str, Any], path: Path) -> Path:
    """Per protocol: mean node validation top-1 after each round against the uplink bytes sent so
    far (line), and the final mean node test top-1 at the total uplink (star)."""
    runs = results.get("collab", {})
    figure = new_figure(7.2, 4.6)
    ax = figure.subplots()
    for index, (name, run) in enumerate(runs.items()):
        label = name if name == run["protocol"] else f"{name} ({run['protocol']})"
        xs, ys = uplink_curve(run)
        ax.plot(xs, ys, marker="o", ms=4, lw=1.4, color=colour(index), label=f"{label}: validation per round")
        ax.errorbar(
            max(run["bytes"]["up"], 1),
            mean_node_top1(run),
            yerr=mean_node_top1_std(run),
            marker="*",
            ms=13,
            color=colour(index),
            mec="black",
            mew=0.6,
            capsize=3,
            ls="none",
            zorder=4,
        )
    if runs:
        ax.scatter(
            [], [], marker="*", s=160, color="white", edgecolors="black", label="final test (all rounds)"
        )
        ax.legend(fontsize=7, loc="best")
    else:
        ax.text(
            0.5,
            0.5,
            "no collaboration runs in this experiment",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
    ax.set_xscale("log")
    ax.set_xlabel("uplink bytes sent so far, all nodes (log)")
    ax.set_ylabel("mean node top-1")
    ax.grid(alpha=0.3, which="both")
    ax.set_title("Collaboration protocols: accuracy against uplink bytes")
    return save_png(figure, path)
