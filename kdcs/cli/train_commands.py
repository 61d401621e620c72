"""`kdcs train`, `kdcs distill` and `kdcs evaluate`."""

from __future__ import annotations

from pathlib import Path

import typer

from kdcs.cli.errors import user_errors
from kdcs.cli.metrics_view import distance_line, metrics_table
from kdcs.cli.options import CACHE_WORKERS_HELP, OLD, SCENARIO_HELP, data_overrides, renamed
from kdcs.cli.output import console, print_json
from kdcs.distill.named_recipes import NAMED_RECIPES

SET_HELP = "RunConfig override key.sub=value (repeatable), e.g. model.architecture=ds-student."
CONFIG_HELP = "YAML file of RunConfig overrides (see configs/train/)."
AP_HELP = "Access point folder inside a multi-AP root (data.ap)."
MODEL_HELP = "Trained model: a run folder or a weights file."


def _show_run(run_dir: Path, metrics: dict, as_json: bool) -> None:
    if as_json:
        print_json(metrics)
        return
    console.print(f"run folder: {run_dir}  (best epoch {metrics['best_epoch']}, {metrics['stopped_reason']})")
    console.print(f"loss: {metrics['loss_equation']}", markup=False)
    console.print(metrics_table("validation (selection)", metrics["val"]))
    console.print(metrics_table("test", metrics["test"]))


def train(
    config: Path | None = typer.Option(None, "--config", help=CONFIG_HELP),
    overrides: list[str] = typer.Option([], "--set", help=SET_HELP),
    scenario: Path | None = typer.Option(None, "--scenario", help=SCENARIO_HELP + " (data.scenario)."),
    ap: str | None = typer.Option(None, "--ap", help=AP_HELP),
    out: Path | None = typer.Option(None, "--out", help="Run folder (default runs/<name>)."),
    resume: bool = typer.Option(False, "--resume", help="Continue a killed run from its last checkpoint."),
    cache_workers: int | None = typer.Option(None, "--cache-workers", help=CACHE_WORKERS_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print metrics.json."),
    old_workers: int | None = typer.Option(None, "--workers", hidden=True, help=OLD),
) -> None:
    """Train a teacher or student from a config plus dotted overrides."""
    from kdcs.jobs.train import train as train_job

    with user_errors():
        workers = renamed(cache_workers, "--cache-workers", old_workers, "--workers")
        run_dir, metrics = train_job(
            config, [*overrides, *data_overrides(scenario, ap)], out=out, resume=resume, workers=workers
        )
    _show_run(run_dir, metrics, as_json)


def distill(
    teacher: Path = typer.Option(..., "--teacher", help="Teacher run folder or weights file (kd.teacher)."),
    recipe: str = typer.Option(
        "logit", "--recipe", help=f"KD recipe (kd.recipe): {', '.join(NAMED_RECIPES)}."
    ),
    config: Path | None = typer.Option(None, "--config", help=CONFIG_HELP),
    overrides: list[str] = typer.Option([], "--set", help=SET_HELP),
    scenario: Path | None = typer.Option(None, "--scenario", help=SCENARIO_HELP + " (data.scenario)."),
    ap: str | None = typer.Option(None, "--ap", help=AP_HELP),
    out: Path | None = typer.Option(None, "--out", help="Run folder (default runs/<name>)."),
    resume: bool = typer.Option(False, "--resume", help="Continue a killed run from its last checkpoint."),
    cache_workers: int | None = typer.Option(None, "--cache-workers", help=CACHE_WORKERS_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print metrics.json."),
    old_workers: int | None = typer.Option(None, "--workers", hidden=True, help=OLD),
) -> None:
    """Distil a student from a teacher checkpoint with a named KD recipe."""
    from kdcs.jobs.distill import distill as distill_job

    with user_errors():
        workers = renamed(cache_workers, "--cache-workers", old_workers, "--workers")
        run_dir, metrics = distill_job(
            teacher,
            recipe,
            config,
            [*overrides, *data_overrides(scenario, ap)],
            out=out,
            resume=resume,
            workers=workers,
        )
    _show_run(run_dir, metrics, as_json)


def evaluate(
    model: Path | None = typer.Option(None, "--model", help=MODEL_HELP),
    split: str = typer.Option("test", "--split", help="Split name: train, val or test."),
    config: Path | None = typer.Option(
        None, "--config", help="YAML file of RunConfig overrides; only its data section applies."
    ),
    overrides: list[str] = typer.Option(
        [], "--set", help="RunConfig override of a data.* key (repeatable), e.g. data.ap=ap2."
    ),
    scenario: Path | None = typer.Option(
        None, "--scenario", help="Evaluate on this scenario instead of the run's own (data.scenario)."
    ),
    ap: str | None = typer.Option(None, "--ap", help=AP_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    old_model: Path | None = typer.Argument(None, hidden=True, metavar="CHECKPOINT", help=OLD),
) -> None:
    """Evaluate a trained model on a split: metrics per slot plus complexity."""
    from kdcs.jobs.evaluate import evaluate_checkpoint

    with user_errors():
        model = renamed(model, "--model", old_model, "the positional CHECKPOINT", required=True)
        result = evaluate_checkpoint(
            model, split=split, config_path=config, overrides=[*overrides, *data_overrides(scenario, ap)]
        )
    if as_json:
        print_json(result)
        return
    console.print(f"{result['architecture']} on {', '.join(result['modalities'])}: {result['checkpoint']}")
    console.print(metrics_table(split, result["metrics"]))
    console.print(distance_line(result["metrics"]), markup=False)
    complexity = result["complexity"]
    console.print(
        f"params {complexity['parameters']['deployable']:,}; MACs/inference {complexity['macs']['macs_per_inference']:,}; "
        f"fp32 {complexity['bytes']['fp32']:,} B; latency {complexity['latency']['median_ms']:.2f} ms (batch 1, 1 thread)"
    )
