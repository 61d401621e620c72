"""Human-readable view of a dataset summary (the JSON form is the summary itself)."""

from __future__ import annotations

from rich.markup import escape

from kdcs.cli.output import console, table

HISTOGRAM_GROUP = 4  # beams per bar in the printed histogram


def _histogram_lines(counts: list[int]) -> list[str]:
    grouped = [sum(counts[i : i + HISTOGRAM_GROUP]) for i in range(0, len(counts), HISTOGRAM_GROUP)]
    peak = max(grouped) or 1
    return [
        f"  beams {i * HISTOGRAM_GROUP:2d}-{i * HISTOGRAM_GROUP + HISTOGRAM_GROUP - 1:2d} {'#' * round(30 * c / peak):<30} {c}"
        for i, c in enumerate(grouped)
    ]


def _floor_table(split: str, floors: dict, horizon: int):
    slots = ["t"] + [f"t+{j}" for j in range(1, horizon + 1)]
    rows = []
    for floor_name, scores in floors.items():
        for metric, values in scores.items():
            rows.append([f"{floor_name} {metric}", *values["per_slot"], values["mean"]])
    return table(f"floors on the {split} split", ["floor", *slots, "mean"], rows)


def show_skipped_rows(rows: list[dict], shown: int = 10) -> None:
    """Why rows were left out under --skip-bad-rows: CSV line, column and reason of the first few."""
    if not rows:
        return
    console.print(f"[yellow]skipped {len(rows)} bad rows[/yellow]")
    for row in rows[:shown]:
        console.print(f"  CSV line {row['csv_row']} ({row['column']}): {escape(row['reason'])}")
    if len(rows) > shown:
        console.print(f"  ... and {len(rows) - shown} more (--json lists every one)")


def show_summary(summary: dict) -> None:
    console.rule(f"[bold]{summary['name']}[/bold]  {summary['root']}")
    length = summary["sequence_length"]
    console.print(
        f"{summary['samples']} samples in {summary['sequences']} sequences "
        f"(length {length['min']}-{length['max']}, mean {length['mean']:.1f}); "
        f"beams from {summary['beam_source']}"
    )
    console.print("modalities: " + ", ".join(f"{m} ({n})" for m, n in summary["modalities"].items()))
    for note in summary["notes"]:
        console.print(f"[yellow]note:[/yellow] {note}")
    show_skipped_rows(summary["skipped_rows"])
    changes = summary["beam_changes"]
    if changes.get("steps"):
        fractions = ", ".join(f"|d|={k}: {v:.2f}" for k, v in changes["abs_change_fractions"].items())
        console.print(
            f"beam changes on {changes['change_rate']:.1%} of {changes['steps']} steps "
            f"(mean |change| {changes['mean_abs_change']:.2f} beams; {fractions})"
        )
    console.print("beam histogram:")
    for line in _histogram_lines(summary["beam_histogram"]):
        console.print(line, highlight=False)
    spec = summary["window_spec"]
    rows = [[name, s["sequences"], s["windows"]] for name, s in summary["splits"].items()]
    console.print(
        table(f"windows (L={spec['history']}, J={spec['horizon']})", ["split", "sequences", "windows"], rows)
    )
    test = summary["splits"].get("test", {})
    if test.get("floors"):
        console.print(_floor_table("test", test["floors"], spec["horizon"]))
