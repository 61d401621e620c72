"""`kdcs demo`: the main job, the paper's study on the embedded default scenario.

It is `kdcs run` on the demo experiment, whose values are the typed defaults of
`kdcs.experiments.study.config.ExperimentConfig` (configs/experiments/demo.yaml holds no overrides),
so it needs no file and runs from an installed package too.
"""

from __future__ import annotations

from pathlib import Path

import typer

from kdcs.cli.errors import user_errors
from kdcs.cli.options import CACHE_WORKERS_HELP, OLD, renamed
from kdcs.cli.run_command import DEMO_QUICK_HELP, SCENARIO_RUN_HELP, SET_HELP, run_and_report


def demo(
    out: Path | None = typer.Option(
        None, "--out", help="Run folder (default runs/demo, runs/demo-quick with --quick)."
    ),
    quick: bool = typer.Option(False, "--quick", help=DEMO_QUICK_HELP),
    overrides: list[str] = typer.Option([], "--set", help=SET_HELP),
    scenario: Path | None = typer.Option(None, "--scenario", help=SCENARIO_RUN_HELP),
    cache_workers: int | None = typer.Option(None, "--cache-workers", help=CACHE_WORKERS_HELP),
    old_workers: int | None = typer.Option(None, "--workers", hidden=True, help=OLD),
) -> None:
    """The paper's study on the default scenario: teacher, students x KD recipes, collaboration, report.

    Writes runs/demo/report.md, results.json and plots/; a second run reuses every finished stage.
    """
    with user_errors():
        workers = renamed(cache_workers, "--cache-workers", old_workers, "--workers")
    run_and_report(None, overrides, out, quick, workers, scenario)
