"""`kdcs collab`: run a collaboration protocol between a central node and edge nodes."""

from __future__ import annotations

from pathlib import Path

import typer

from kdcs.cli.errors import user_errors
from kdcs.cli.options import CACHE_WORKERS_HELP, OLD, SCENARIO_HELP, data_overrides, renamed
from kdcs.cli.output import console, print_json


def collab(
    config: Path = typer.Option(..., "--config", help="CollabConfig YAML (see configs/collab/)."),
    overrides: list[str] = typer.Option(
        [], "--set", help="CollabConfig override key.sub=value (repeatable), e.g. protocol=fed-distill."
    ),
    scenario: Path | None = typer.Option(None, "--scenario", help=SCENARIO_HELP + " (data.scenario)."),
    engine: str | None = typer.Option(
        None, "--engine", help="local (default) or flower (a SuperLink and SuperNodes on loopback)."
    ),
    out: Path | None = typer.Option(None, "--out", help="Run folder (default runs/<name>)."),
    cache_workers: int | None = typer.Option(None, "--cache-workers", help=CACHE_WORKERS_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print results.json."),
    old_workers: int | None = typer.Option(None, "--workers", hidden=True, help=OLD),
) -> None:
    """Run a collaboration protocol: per-round metrics per node, byte ledger, final per-node test evaluation."""
    from kdcs.collab import results_table
    from kdcs.experiments.report.plots.round_curves import CURVES_PNG, plot_round_curves
    from kdcs.jobs.collab import collab as collab_job

    with user_errors():
        workers = renamed(cache_workers, "--cache-workers", old_workers, "--workers")
        run_dir, results = collab_job(
            config, [*overrides, *data_overrides(scenario, None)], engine=engine, out=out, workers=workers
        )
        plot_round_curves(run_dir, results["protocol"])
    if as_json:
        print_json(results)
        return
    console.print(results_table(results), markup=False)
    if "flower" in results:
        fleet = results["flower"]["fleet_traffic"]
        console.print(
            f"Flower run {results['flower']['run_id']}: Fleet traffic {fleet['outbound_bytes']:,} bytes down, "
            f"{fleet['inbound_bytes']:,} up (flower/traffic.csv: every message)",
            markup=False,
        )
    console.print(f"run folder: {run_dir} (rounds.csv, ledger.csv, results.json, {CURVES_PNG})")
