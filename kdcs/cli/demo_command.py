"""`kdcs demo`: the main job on the embedded default scenario.

Today it runs the data layer end to end: synthesize the default multi-AP scenario (reused
when an identical one is already on disk), prepare every AP's cache, and inspect each AP
with its floors. Training, distillation and collaboration stages join as they land.
"""

from __future__ import annotations

from pathlib import Path

import typer

from kdcs.cli.errors import user_errors
from kdcs.cli.output import console


def demo(
    out: Path = typer.Option(Path("runs/demo"), "--out", help="Run folder."),
    quick: bool = typer.Option(False, "--quick", help="A tiny scenario for a first look."),
    workers: int | None = typer.Option(None, "--workers", help="Processes (default: all cores)."),
) -> None:
    """Synthesize the default scenario, prepare its caches, and inspect it."""
    from kdcs.cli.inspect_view import show_summary
    from kdcs.data.deepsense import read_scenario_set
    from kdcs.data.demo_data import ensure_scenario
    from kdcs.data.jobs import prepare_scenarios
    from kdcs.data.windows import WindowSpec
    from kdcs.eval.dataset_summary import summarize_dataset

    with user_errors():
        scenario_root, reused = ensure_scenario(out / "scenario", tiny=quick, workers=workers)
        console.print(
            f"[bold]1/3 synthesize[/bold]: {'reused the identical scenario at' if reused else 'wrote'} {scenario_root}"
        )
        results = prepare_scenarios(scenario_root, out / "cache", None, [], workers, False, False)
        for r in results:
            console.print(
                f"[bold]2/3 prepare[/bold]: {r['name']} {r['status']} ({r['samples']} samples, {r['seconds']} s)"
            )
        console.print("[bold]3/3 inspect[/bold]")
        for sample_table in read_scenario_set(scenario_root).values():
            show_summary(summarize_dataset(sample_table, WindowSpec()))
