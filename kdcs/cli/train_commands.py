"""`kdcs train`, `kdcs distill` and `kdcs evaluate`."""

from __future__ import annotations

from pathlib import Path

import typer

from kdcs.cli.errors import user_errors
from kdcs.cli.metrics_view import distance_line, metrics_table
from kdcs.cli.output import console, print_json

SET_HELP = "Config override key.sub=value (repeatable), e.g. model.architecture=ds-student."
CONFIG_HELP = "YAML file of RunConfig overrides (see configs/)."


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
    scenario: Path | None = typer.Option(None, "--scenario", help="Scenario folder or multi-AP root."),
    ap: str | None = typer.Option(None, "--ap", help="Access point folder inside a multi-AP root."),
    out: Path | None = typer.Option(None, "--out", help="Run folder (default runs/<name>)."),
    resume: bool = typer.Option(False, "--resume", help="Continue a killed run from its last checkpoint."),
    workers: int | None = typer.Option(None, "--workers", help="Cache-building processes."),
    as_json: bool = typer.Option(False, "--json", help="Print metrics.json."),
) -> None:
    """Train a teacher or student from a config plus dotted overrides."""
    from kdcs.jobs.train import train as train_job

    with user_errors():
        run_dir, metrics = train_job(
            config, [*overrides, *_data_overrides(scenario, ap)], out=out, resume=resume, workers=workers
        )
    _show_run(run_dir, metrics, as_json)


def distill(
    teacher: Path = typer.Option(..., "--teacher", help="Teacher run folder or weights file."),
    recipe: str = typer.Option(
        "logit", "--recipe", help="none|logit|feature|rkd|rkd-park|cross-modal|self-kd"
    ),
    config: Path | None = typer.Option(None, "--config", help=CONFIG_HELP),
    overrides: list[str] = typer.Option([], "--set", help=SET_HELP),
    scenario: Path | None = typer.Option(None, "--scenario", help="Scenario folder or multi-AP root."),
    ap: str | None = typer.Option(None, "--ap", help="Access point folder inside a multi-AP root."),
    out: Path | None = typer.Option(None, "--out", help="Run folder (default runs/<name>)."),
    resume: bool = typer.Option(False, "--resume", help="Continue a killed run from its last checkpoint."),
    workers: int | None = typer.Option(None, "--workers", help="Cache-building processes."),
    as_json: bool = typer.Option(False, "--json", help="Print metrics.json."),
) -> None:
    """Distil a student from a teacher checkpoint with a named KD recipe."""
    from kdcs.jobs.distill import distill as distill_job

    with user_errors():
        run_dir, metrics = distill_job(
            teacher,
            recipe,
            config,
            [*overrides, *_data_overrides(scenario, ap)],
            out=out,
            resume=resume,
            workers=workers,
        )
    _show_run(run_dir, metrics, as_json)


def evaluate(
    checkpoint: Path = typer.Argument(..., help="Run folder or weights file."),
    split: str = typer.Option("test", "--split", help="train, val or test."),
    config: Path | None = typer.Option(None, "--config", help="YAML file of DataConfig overrides."),
    overrides: list[str] = typer.Option([], "--set", help="DataConfig override, e.g. ap=ap2."),
    scenario: Path | None = typer.Option(None, "--scenario", help="Evaluate on another scenario folder."),
    ap: str | None = typer.Option(None, "--ap", help="Access point folder inside a multi-AP root."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Evaluate a checkpoint on a split: metrics per slot plus complexity."""
    from kdcs.jobs.evaluate import evaluate_checkpoint

    data_overrides = [item.removeprefix("data.") for item in _data_overrides(scenario, ap)]
    with user_errors():
        result = evaluate_checkpoint(
            checkpoint, split=split, config_path=config, overrides=[*overrides, *data_overrides]
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


def _data_overrides(scenario: Path | None, ap: str | None) -> list[str]:
    extra = [f"data.scenario={scenario}"] if scenario is not None else []
    return extra + ([f"data.ap={ap}"] if ap is not None else [])
