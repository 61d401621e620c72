"""`kdcs run`: run an experiment config (teacher, students, collaboration) and write its report."""

from __future__ import annotations

from pathlib import Path

import typer

from kdcs.cli.errors import user_errors
from kdcs.cli.output import console, err_console

SET_HELP = "Experiment override key.sub=value (repeatable), e.g. teacher.train.epochs=10."


def run_and_report(
    config_path: Path | None, overrides: list[str], out: Path | None, quick: bool, workers: int | None
) -> None:
    """Load, run and summarise one experiment (shared by `kdcs run` and `kdcs demo`)."""
    from rich.console import Console
    from rich.markup import escape

    from kdcs.experiments import StageFailed, load_experiment, run_experiment
    from kdcs.experiments.report.summary_table import collab_table, models_table

    with user_errors():
        config = load_experiment(config_path, overrides, quick=quick)
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
        f"report: {run_dir / 'report.md'} (results.json, plots/); {results['timing']['total_s']:.0f} s"
    )


def run(
    experiment: Path = typer.Argument(
        ..., help="Experiment YAML (overrides of the demo's defaults; see configs/experiments/)."
    ),
    overrides: list[str] = typer.Option([], "--set", help=SET_HELP),
    out: Path | None = typer.Option(None, "--out", help="Run folder (default runs/<name>)."),
    quick: bool = typer.Option(
        False, "--quick", help="Apply the quick overrides (tiny scenario, two epochs) first."
    ),
    workers: int | None = typer.Option(
        None, "--workers", help="Cache-building processes (default: all cores)."
    ),
) -> None:
    """Run an experiment: data, teacher, students x KD recipes, collaboration, complexity, report."""
    run_and_report(experiment, overrides, out, quick, workers)
