"""`kdcs data synth | prepare | inspect`."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from kdcs.cli.errors import user_errors
from kdcs.cli.output import console, print_json, table

data_app = typer.Typer(help="Synthesize, prepare (cache) and inspect scenarios.", no_args_is_help=True)

SET_HELP = "Config override key.sub=value (repeatable); unknown keys are an error."


@data_app.command("synth")
def synth(
    out: Path = typer.Argument(..., help="Root folder to write; one scenario folder per access point."),
    aps: int | None = typer.Option(None, "--aps", help="Number of access points (default from config)."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (default from config)."),
    config: Path | None = typer.Option(None, "--config", help="YAML file of SynthConfig overrides."),
    overrides: list[str] = typer.Option([], "--set", help=SET_HELP),
    tiny: bool = typer.Option(False, "--tiny", help="Start from the tiny test-sized scenario."),
    workers: int | None = typer.Option(None, "--workers", help="Processes (default: all cores)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing root."),
    as_json: bool = typer.Option(False, "--json", help="Print the manifest as JSON."),
) -> None:
    """Write a physics-based multi-AP street scenario in the DeepSense 6G layout."""
    from kdcs.jobs.synth import run_synth

    with user_errors():
        manifest, seconds = run_synth(out, aps, seed, config, overrides, tiny, workers, overwrite)
    if as_json:
        print_json(manifest)
        return
    console.print(f"wrote {out} in {seconds:.1f} s")
    for ap in manifest.get("aps", []):
        console.print(f"  {ap['name']}: sensors {', '.join(ap['kit'])}")


@data_app.command("prepare")
def prepare(
    scenario: Path = typer.Argument(..., help="A scenario folder (or a multi-AP root of them)."),
    cache: Path | None = typer.Option(
        None, "--cache", help="Cache root (default $KDCS_CACHE_DIR or ./data_cache)."
    ),
    config: Path | None = typer.Option(None, "--config", help="YAML file of PreprocessConfig overrides."),
    overrides: list[str] = typer.Option([], "--set", help=SET_HELP),
    workers: int | None = typer.Option(None, "--workers", help="Decoding processes (default: all cores)."),
    force: bool = typer.Option(False, "--force", help="Rebuild even a fresh cache."),
    skip_bad_rows: bool = typer.Option(False, "--skip-bad-rows", help="Drop bad rows instead of failing."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Decode every sample once into memory-mapped arrays plus a manifest."""
    from kdcs.jobs.prepare import prepare_scenarios

    with user_errors():
        results = prepare_scenarios(scenario, cache, config, overrides, workers, force, skip_bad_rows)
    if as_json:
        print_json(results)
        return
    rows = [
        [r["name"], r["samples"], r["status"], ", ".join(r["modalities"]), r["seconds"], r["samples_per_s"]]
        for r in results
    ]
    console.print(
        table("prepared caches", ["scenario", "samples", "status", "modalities", "s", "samples/s"], rows)
    )
    for r in results:
        console.print(f"  {r['name']}: {r['cache_dir']}")


@data_app.command("inspect")
def inspect(
    scenario: Path = typer.Argument(..., help="A scenario folder (or a multi-AP root of them)."),
    history: int = typer.Option(8, "--history", "-L", help="Observed slots per window (L)."),
    horizon: int = typer.Option(3, "--horizon", "-J", help="Future slots predicted (J)."),
    split: str = typer.Option(
        "0.7,0.1,0.2", "--split", help="Train,val,test fractions of sequences, in order."
    ),
    skip_bad_rows: bool = typer.Option(False, "--skip-bad-rows", help="Drop bad rows instead of failing."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Counts, windows per split, beam statistics and the two floors per slot."""
    from kdcs.cli.inspect_view import show_summary
    from kdcs.jobs.inspect import inspect_scenarios

    with user_errors():
        fractions = _parse_fractions(split)
        start = time.perf_counter()
        summaries = inspect_scenarios(scenario, history, horizon, fractions, skip_bad_rows)
    if as_json:
        print_json(summaries)
        return
    for summary in summaries:
        show_summary(summary)
    console.print(f"[dim]read and summarised in {time.perf_counter() - start:.1f} s[/dim]")


def _parse_fractions(text: str) -> tuple[float, float, float]:
    from kdcs.config import ConfigError

    try:
        parts = tuple(float(p) for p in text.split(","))
    except ValueError:
        raise ConfigError(f"--split must be three comma-separated fractions, got '{text}'") from None
    if len(parts) != 3:
        raise ConfigError(f"--split must be three comma-separated fractions, got '{text}'")
    return parts  # type: ignore[return-value]
