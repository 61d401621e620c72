"""What the time budget forced, in sentences built from the resolved study (never hard-coded)."""

from __future__ import annotations

from collections.abc import Sequence

from kdcs.experiments.study.config import ExperimentConfig
from kdcs.experiments.study.resolve import TEACHER_PROTOCOLS, CollabRun, ModelRun
from kdcs.models import resolve_config

PAPER_EPOCHS, PAPER_FRAME = 100, (224, 224)
# below this many test windows one window moves top-1 by more than 1%: the study is a smoke run
SMOKE_TEST_WINDOWS = 100


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _epochs_by_group(runs: Sequence[ModelRun]) -> str:
    """ "teacher at most 40 (patience 5), camera ..." from each group's first run."""
    seen: dict[str, str] = {}
    for run in runs:
        train = run.config.train
        patience = f"patience {train.patience}" if train.patience is not None else "no early stop"
        seen.setdefault(run.group, f"{run.group} at most {train.epochs} ({patience})")
    return ", ".join(seen.values())


def seeds_note(config: ExperimentConfig) -> str:
    seeds = list(config.seeds)
    if len(seeds) == 1:
        return (
            f"One seed per model (seed {seeds[0]}): there is no spread to judge noise by, so mean top-1 "
            "differences below 0.01 are called within noise."
        )
    return (
        f"{len(seeds)} seeds per model ({', '.join(map(str, seeds))}; each student taught by the teacher of "
        "its own seed): every number is the mean over seeds, +- their sample std; a difference smaller than "
        "the spread of the two rows (sqrt(std_a^2 + std_b^2)) is called within noise."
    )


def smoke_note(config: ExperimentConfig, test_windows: int) -> list[str]:
    """A first line for a study too small to judge anything by (`--quick`: 8 test windows, 2 epochs)."""
    if test_windows >= SMOKE_TEST_WINDOWS and config.max_epochs is None:
        return []
    cap = f", every model cut at {config.max_epochs} epoch(s)" if config.max_epochs is not None else ""
    return [
        f"**A smoke run, not a result**: {test_windows} test windows (one window is "
        f"{1 / max(test_windows, 1):.0%} of top-1){cap}. It checks that every stage runs; its accuracies "
        "(often 0.000 here) say nothing about the models. Run `kdcs demo` (without --quick) for numbers."
    ]


def budget_notes(
    config: ExperimentConfig,
    runs: Sequence[ModelRun],
    collabs: Sequence[CollabRun],
    train_windows: int,
    test_windows: int | None = None,
) -> list[str]:
    common = config.common
    frame = tuple(common.data.preprocess.camera_size)
    notes = [
        *(smoke_note(config, test_windows) if test_windows is not None else []),
        f"Epochs per model group: {_epochs_by_group(runs)}; a model stops when its validation top-1 has "
        f"not improved for `patience` epochs (the paper trains about {PAPER_EPOCHS} epochs); the best "
        "validation epoch is kept. How each model stopped is in 'How each model stopped'.",
    ]
    if frame != PAPER_FRAME:
        notes.append(
            f"Camera frames are {frame[0]}x{frame[1]} (the paper: {PAPER_FRAME[0]}x{PAPER_FRAME[1]})."
        )
    if config.train_stride > 1:
        kept = -(-train_windows // config.train_stride)
        notes.append(
            f"Training used every {_ordinal(config.train_stride)} training window ({kept:,} of {train_windows:,}); "
            "validation and test windows are all used."
        )
    threads = common.train.num_threads
    notes.append(
        f"{config.workers} training process(es) side by side, {threads or 'default'} torch thread(s) each "
        "(on a shared 2-core machine one thread beat two for these small models)."
    )
    if collabs:
        first = collabs[0].config
        notes.append(
            f"Collaboration: {first.rounds} round(s) of {first.local_epochs} local epoch(s) among "
            f"{len(first.nodes)} nodes."
        )
    teacher_notes = []  # one per collaboration run, not per seed: a study's seeds repeat the runs
    for run in collabs:
        if run.config.protocol in TEACHER_PROTOCOLS:
            central = run.config.central
            source = (
                "uses the study's teacher as is"
                if central.teacher
                else f"trains its own central teacher ({central.model.architecture} on "
                f"{'+'.join(resolve_config(central.model).modalities)}, {central.train.epochs} epoch(s))"
            )
            label = run.name if run.name == run.config.protocol else f"{run.name} ({run.config.protocol})"
            teacher_notes.append(f"Collaboration run {label} {source}.")
    notes.extend(dict.fromkeys(teacher_notes))
    notes.append(seeds_note(config))
    return notes
