"""Write a study's report into its run folder: results.json, plots/*.png and report.md.

Derived numbers (ratios, findings, paper checks) are added to the results first, so results.json
holds every number the report shows. A plot that fails is named in results.json ("plot_errors")
and in the report instead of stopping the report.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kdcs.atomic_files import write_text_atomically
from kdcs.experiments.report.findings import findings, ratios
from kdcs.experiments.report.markdown import render
from kdcs.experiments.report.paper_checks import paper_checks
from kdcs.experiments.report.plots.accuracy import (
    plot_accuracy_vs_complexity,
    plot_collab_accuracy_vs_uplink,
    plot_topk_per_slot,
)
from kdcs.experiments.report.plots.curves import plot_training_curves

RESULTS_JSON, REPORT_MD, PLOTS = "results.json", "report.md", "plots"


def derive(results: dict[str, Any]) -> dict[str, Any]:
    """Add ratios, findings and paper checks (in that order: findings read the ratios)."""
    results["ratios"] = ratios(results)
    results["findings"] = findings(results)
    results["paper_checks"] = paper_checks(results)
    return results


def write_report(
    results: dict[str, Any], out: Path, scene: Callable[[Path], Path] | None = None
) -> dict[str, Any]:
    """Derive, plot, then write results.json and report.md atomically; returns the results."""
    derive(results)
    plots_dir = Path(out) / PLOTS
    makers: dict[str, Callable[[Path], Path]] = {
        "topk_per_slot.png": lambda p: plot_topk_per_slot(results, p),
        "accuracy_vs_complexity.png": lambda p: plot_accuracy_vs_complexity(results, p),
        "collab_accuracy_vs_uplink.png": lambda p: plot_collab_accuracy_vs_uplink(results, p),
        "training_curves.png": lambda p: plot_training_curves(results, p),
    }
    if scene is not None:
        makers["scene.png"] = scene
    results["plots"], results["plot_errors"] = [], {}
    for name, make in makers.items():
        try:
            make(plots_dir / name)
            results["plots"].append(name)
        except Exception as error:  # noqa: BLE001 - one broken plot must not cost the report
            results["plot_errors"][name] = f"{type(error).__name__}: {error}"
    # insertion order kept (not sorted): models, groups and runs read in the study's order
    write_text_atomically(Path(out) / RESULTS_JSON, json.dumps(results, indent=1))
    text = render(results)
    if results["plot_errors"]:
        text += (
            "\n## Plot errors\n\n"
            + "\n".join(f"- {n}: {e}" for n, e in results["plot_errors"].items())
            + "\n"
        )
    write_text_atomically(Path(out) / REPORT_MD, text)
    return results
