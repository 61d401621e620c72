"""`kdcs run`: run an experiment config (teacher, students, collaboration) and write its report."""

from __future__ import annotations

from pathlib import Path

import typer

from kdcs.cli.errors import user_errors
from kdcs.cli.options import CACHE_WORKERS_HELP, OLD, SCENARIO_HELP, renamed
from kdcs.cli.output import console, err_console
from kdcs.experiments.study.quick import quick_summary

SET_HELP = "ExperimentConfig override key.sub=value (repeatable), e.g. teacher.train.epochs=10."
QUICK_HELP = f"{quick_summary()} Applied before the --config file and --set."
DEMO_QUICK_HELP = f"{quick_summary()} Applied before --set."
SCENARIO_RUN_HELP = SCENARIO_HELP + " (scenario.path; default: synthesize the default scenario)."


def run_and_report(
    config_path: Path | None,
    overrides: list[str],
    out: Path | None,
    quick: bool,
    workers: int | None,
    scenario: Path | None = None,
) -> None:
    """Load, run and summarise one experiment (shared by `kdcs run` and `kdcs demo`)."""
    from rich.console import Console
    from rich.markup import escape

    from kdcs.experiments.report.summary_table import collab_table, models_table
    from kdcs.experiments.stages import StageFailed
    from kdcs.experiments.study.config import load_experiment
    from kdcs.experiments.study.experiment import run_experiment

    with user_errors():
        extra = [f"scenario.path={scenario}"] if scenario is not None else []
        config = load_experiment(config_path, [*overrides, *extra], quick=quick)
        run_dir = out or Path("runs") / config.name
        console.print(f"[bold]experiment[/bold] {config.name} -> {run_dir}")
        try:
            results = run_experiment(config, run_dir, console, workers=workers)
        except StageFailed as failure:
            err_console.print(f"[bold red]error:[/bold red] {escape(str(failure))}")
            err_console.print(
                f"traceback: {failure.error_file}; finished stages are kept in {run_dir / 'stages'}, "
                "and running the same command again resumes from them."
            )
            raise typer.Exit(code=1) from None
    # piped or captured output has no width: print the tables at 120 columns rather than cut at 80
    tables = console if console.is_terminal else Console(width=120, soft_wrap=True)
    tables.print(models_table(results))
    if results.get("collab"):
        tables.print(collab_table(results))
    for sentence in results["findings"]:
        console.print(f"- {escape(sentence)}")
    console.print(
        f"report: {run_dir / 'report.md'} (results.json, plots/); {results['timing']['total_s']:.0f} s wall, "
        f"{results['timing'].get('cpu_seconds', float('nan')):.0f} CPU-seconds"
    )


def run(
    config: Path | None = typer.Option(
        None, "--config", help="Experiment YAML (overrides of the demo's defaults; see configs/experiments/)."
    ),
    overrides: list[str] = typer.Option([], "--set", help=SET_HELP),
    scenario: Path | None = typer.Option(None, "--scenario", help=SCENARIO_RUN_HELP),
    out: Path | None = typer.Option(None, "--out", help="Run folder (default runs/<name>)."),
    quick: bool = typer.Option(False, "--quick", help=QUICK_HELP),
    cache_workers: int | None = typer.Option(None, "--cache-workers", help=CACHE_WORKERS_HELP),
    old_config: Path | None = typer.Argument(None, hidden=True, metavar="EXPERIMENT", help=OLD),
    old_workers: int | None = typer.Option(None, "--workers", hidden=True, help=OLD),
) -> None:
    """Run an experiment: data, teacher, students x KD recipes, collaboration, complexity, report."""
    with user_errors():
        config = renamed(config, "--config", old_config, "the positional EXPERIMENT", required=True)
        workers = renamed(cache_workers, "--cache-workers", old_workers, "--workers")
    run_and_report(config, overrides, out, quick, workers, scenario)
