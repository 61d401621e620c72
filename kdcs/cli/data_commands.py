"""`kdcs data synth | prepare | inspect`."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from kdcs.cli.errors import user_errors
from kdcs.cli.options import CACHE_WORKERS_HELP, OLD, SCENARIO_HELP, renamed
from kdcs.cli.output import console, print_json, table
from kdcs.config import ConfigError

data_app = typer.Typer(help="Synthesize, prepare (cache) and inspect scenarios.", no_args_is_help=True)

SET_HELP = "Override key.sub=value of the --config file's keys (repeatable); unknown keys are an error."


@data_app.command("synth")
def synth(
    out: Path | None = typer.Option(
        None, "--out", help="Root folder to write; one scenario folder per access point."
    ),
    aps: int | None = typer.Option(None, "--aps", help="Number of access points (default from config)."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (default from config)."),
    config: Path | None = typer.Option(None, "--config", help="YAML file of SynthConfig overrides."),
    overrides: list[str] = typer.Option([], "--set", help=SET_HELP),
    quick: bool = typer.Option(
        False,
        "--quick",
        help="The tiny test-sized scenario (SynthConfig.tiny(): 2 APs, a few short sequences).",
    ),
    workers: int | None = typer.Option(
        None, "--workers", help="Processes writing the scenario (default: all cores)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing root."),
    as_json: bool = typer.Option(False, "--json", help="Print the manifest as JSON."),
    old_out: Path | None = typer.Argument(None, hidden=True, metavar="OUT", help=OLD),
    tiny: bool = typer.Option(False, "--tiny", hidden=True, help=OLD),
) -> None:
    """Write a physics-based multi-AP street scenario in the DeepSense 6G layout."""
    from kdcs.jobs.synth import run_synth

    with user_errors():
        out = renamed(out, "--out", old_out, "the positional OUT", required=True)
        quick = renamed(quick, "--quick", tiny, "--tiny")
        manifest, seconds = run_synth(out, aps, seed, config, overrides, quick, workers, overwrite)
    if as_json:
        print_json(manifest)
        return
    console.print(f"wrote {out} in {seconds:.1f} s")
    for ap in manifest.get("aps", []):
        console.print(f"  {ap['name']}: sensors {', '.join(ap['kit'])}")


@data_app.command("prepare")
def prepare(
    scenario: Path | None = typer.Option(None, "--scenario", help=SCENARIO_HELP + "."),
    out: Path | None = typer.Option(
        None, "--out", help="Cache root to write (default $KDCS_CACHE_DIR or ./data_cache)."
    ),
    config: Path | None = typer.Option(None, "--config", help="YAML file of PreprocessConfig overrides."),
    overrides: list[str] = typer.Option([], "--set", help=SET_HELP),
    cache_workers: int | None = typer.Option(None, "--cache-workers", help=CACHE_WORKERS_HELP),
    force: bool = typer.Option(False, "--force", help="Rebuild even a fresh cache."),
    skip_bad_rows: bool = typer.Option(False, "--skip-bad-rows", help="Drop bad rows instead of failing."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    old_scenario: Path | None = typer.Argument(None, hidden=True, metavar="SCENARIO", help=OLD),
    old_cache: Path | None = typer.Option(None, "--cache", hidden=True, help=OLD),
    old_workers: int | None = typer.Option(None, "--workers", hidden=True, help=OLD),
) -> None:
    """Decode every sample once into memory-mapped arrays plus a manifest."""
    from kdcs.cli.inspect_view import show_skipped_rows
    from kdcs.jobs.prepare import prepare_scenarios

    with user_errors():
        scenario = renamed(scenario, "--scenario", old_scenario, "the positional SCENARIO", required=True)
        out = renamed(out, "--out", old_cache, "--cache")
        cache_workers = renamed(cache_workers, "--cache-workers", old_workers, "--workers")
        results = prepare_scenarios(scenario, out, config, overrides, cache_workers, force, skip_bad_rows)
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
        show_skipped_rows(r["skipped_rows"])


@data_app.command("inspect")
def inspect(
    scenario: Path | None = typer.Option(None, "--scenario", help=SCENARIO_HELP + "."),
    history: int = typer.Option(8, "--history", "-L", help="Observed slots per window (L)."),
    horizon: int = typer.Option(3, "--horizon", "-J", help="Future slots predicted (J)."),
    split_fractions: str | None = typer.Option(
        None,
        "--split-fractions",
        help="Train,val,test fractions of sequences, in order (default 0.7,0.1,0.2).",
    ),
    skip_bad_rows: bool = typer.Option(False, "--skip-bad-rows", help="Drop bad rows instead of failing."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    old_scenario: Path | None = typer.Argument(None, hidden=True, metavar="SCENARIO", help=OLD),
    old_split: str | None = typer.Option(None, "--split", hidden=True, help=OLD),
) -> None:
    """Counts, windows per split, beam statistics and the two floors per slot."""
    from kdcs.cli.inspect_view import show_summary
    from kdcs.jobs.inspect import inspect_scenarios

    with user_errors():
        scenario = renamed(scenario, "--scenario", old_scenario, "the positional SCENARIO", required=True)
        split_fractions = renamed(split_fractions, "--split-fractions", old_split, "--split (of fractions)")
        fractions = _parse_fractions(split_fractions or "0.7,0.1,0.2")
        start = time.perf_counter()
        summaries = inspect_scenarios(scenario, history, horizon, fractions, skip_bad_rows)
    if as_json:
        print_json(summaries)
        return
    for summary in summaries:
        show_summary(summary)
    console.print(f"[dim]read and summarised in {time.perf_counter() - start:.1f} s[/dim]")


def _parse_fractions(text: str) -> tuple[float, float, float]:
    try:
        parts = tuple(float(p) for p in text.split(","))
    except ValueError:
        raise ConfigError(
            f"--split-fractions must be three comma-separated fractions, got '{text}'"
        ) from None
    if len(parts) != 3:
        raise ConfigError(f"--split-fractions must be three comma-separated fractions, got '{text}'")
    return parts  # type: ignore[return-value]
