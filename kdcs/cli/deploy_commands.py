"""`kdcs export` and `kdcs track`."""

from __future__ import annotations

from pathlib import Path

import typer

from kdcs.cli.errors import user_errors
from kdcs.cli.options import OLD, renamed
from kdcs.cli.output import console, print_json


def export(
    model: Path | None = typer.Option(None, "--model", help="Student run folder or weights file."),
    out: Path = typer.Option(..., "--out", help="Export folder (model.onnx, model.int8.onnx, model.json)."),
    opset: int = typer.Option(18, "--opset", help="ONNX opset (17 or higher)."),
    int8: bool = typer.Option(True, "--int8/--no-int8", help="Also write int8 dynamically quantised graphs."),
    allow_teacher: bool = typer.Option(False, "--allow-teacher", help="Export a teacher architecture too."),
    parity_split: str = typer.Option(
        "test",
        "--parity-split",
        help="Split of the run's data for parity and int8 agreement, or 'none' (random).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    old_model: Path | None = typer.Argument(None, hidden=True, metavar="CHECKPOINT", help=OLD),
) -> None:
    """Export a trained student to ONNX (+ int8) with a metadata file, checking parity with PyTorch."""
    from kdcs.jobs.export import export as export_job

    with user_errors():
        model = renamed(model, "--model", old_model, "the positional CHECKPOINT", required=True)
        summary = export_job(
            model,
            out,
            opset=opset,
            int8=int8,
            allow_teacher=allow_teacher,
            parity_split=None if parity_split == "none" else parity_split,
        )
    if as_json:
        print_json(summary)
        return
    console.print(
        f"exported {summary['architecture']} ({', '.join(summary['modalities'])}) to {summary['out_dir']}"
    )
    for name, size in summary["files"].items():
        console.print(f"  {name}: {size:,} bytes")
    console.print(f"  parity: {summary['parity']}", markup=False)


def track(
    scenario: Path | None = typer.Option(
        None, "--scenario", help="Scenario folder (DeepSense layout) to replay slot by slot."
    ),
    model: Path = typer.Option(..., "--model", help="Export folder (ONNX) or checkpoint (torch)."),
    backend: str = typer.Option("onnx", "--backend", help="onnx or torch."),
    precision: str = typer.Option("fp32", "--precision", help="fp32 or int8 (ONNX only)."),
    missing: str = typer.Option("hold", "--missing", help="A missing input: hold the last value or zero it."),
    top_k: int = typer.Option(3, "--top-k", help="Beams reported per slot."),
    out_csv: Path | None = typer.Option(None, "--out", help="Write one CSV row per slot here."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    old_scenario: Path | None = typer.Argument(None, hidden=True, metavar="SCENARIO", help=OLD),
) -> None:
    """Replay a scenario through the streaming beam tracker; per-slot predictions and latency."""
    from kdcs.jobs.track import track as track_job

    with user_errors():
        scenario = renamed(scenario, "--scenario", old_scenario, "the positional SCENARIO", required=True)
        summary = track_job(
            scenario, model, backend=backend, precision=precision, missing=missing, top_k=top_k, out=out_csv
        )
    if as_json:
        print_json(summary)
        return
    latency = summary["latency_ms"]
    console.print(
        f"{summary['slots']} slots in {summary['sequences']} sequences on {summary['backend']} ({summary['precision']}); "
        f"{summary['predictions']} predictions; latency median {latency['median']:.3f} ms, p95 {latency['p95']:.3f} ms"
    )
    top1 = summary["top1_current_slot"]
    console.print("top-1 at the current slot: " + (f"{top1:.3f}" if top1 is not None else "no prediction"))
    stats = summary["tracker"]
    missing = ", ".join(f"{modality} {count}" for modality, count in stats["missing"].items())
    failed = sum(summary["decode_failures"].values())
    console.print(
        f"missing readings: {missing} ({failed} unreadable files); "
        f"{stats['held']} held, {stats['zeroed']} zeroed ({summary['missing_policy']})"
    )
    if out_csv is not None:
        console.print(f"per-slot predictions: {out_csv}")
