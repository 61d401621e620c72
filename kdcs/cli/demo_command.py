"""`kdcs demo`: the main job, the paper's study on the embedded default scenario.

It is `kdcs run` on the demo experiment, whose values are the typed defaults of
`kdcs.experiments.ExperimentConfig` (configs/experiments/demo.yaml holds no overrides), so it needs
no file and runs from an installed package too.
"""

from __future__ import annotations

from pathlib import Path

import typer

from kdcs.cli.run_command import SET_HELP, run_and_report


def demo(
    out: Path | None = typer.Option(
        None, "--out", help="Run folder (default runs/demo, runs/demo-quick with --quick)."
    ),
    quick: bool = typer.Option(
        False, "--quick", help="A tiny scenario and one epoch per model: a first look in under two minutes."
    ),
    overrides: list[str] = typer.Option([], "--set", help=SET_HELP),
    workers: int | None = typer.Option(
        None, "--workers", help="Cache-building processes (default: all cores)."
    ),
) -> None:
    """The paper's study on the default scenario: teacher, students x KD recipes, collaboration, report.

    Writes runs/demo/report.md, results.json and plots/; a second run reuses every finished stage.
    """
    run_and_report(None, overrides, out, quick, workers)
