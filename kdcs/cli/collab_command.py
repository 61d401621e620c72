"""`kdcs collab`: run a collaboration protocol between a central node and edge nodes."""

from __future__ import annotations

from pathlib import Path

import typer

from kdcs.cli.errors import user_errors
from kdcs.cli.output import console, print_json


def collab(
    config: Path = typer.Option(..., "--config", help="Collab YAML (see configs/collab/)."),
    overrides: list[str] = typer.Option(
        [], "--set", help="Override key.sub=value, e.g. protocol=fed-distill."
    ),
    engine: str | None = typer.Option(
        None, "--engine", help="local (default) or flower (a SuperLink and SuperNodes on loopback)."
    ),
    out: Path | None = typer.Option(None, "--out", help="Run folder (default runs/<name>)."),
    workers: int | None = typer.Option(None, "--workers", help="Cache-building processes."),
    as_json: bool = typer.Option(False, "--json", help="Print results.json."),
) -> None:
    """Run a collaboration protocol: per-round metrics per node, byte ledger, final per-node test evaluation."""
    from kdcs.collab import results_table
    from kdcs.jobs.collab import collab as collab_job

    with user_errors():
        run_dir, results = collab_job(config, overrides, engine=engine, out=out, workers=workers)
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
    console.print(f"run folder: {run_dir} (rounds.csv, ledger.csv, results.json)")
