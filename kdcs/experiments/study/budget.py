"""What the time budget forced, in sentences built from the resolved study (never hard-coded)."""

from __future__ import annotations

from collections.abc import Sequence

from kdcs.experiments.study.config import ExperimentConfig
from kdcs.experiments.study.resolve import TEACHER_PROTOCOLS, CollabRun, ModelRun

PAPER_EPOCHS, PAPER_FRAME = 100, (224, 224)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _epochs_by_group(runs: Sequence[ModelRun]) -> str:
    seen: dict[str, int] = {}
    for run in runs:
        seen.setdefault(run.group, run.config.train.epochs)
    return ", ".join(f"{group} {epochs}" for group, epochs in seen.items())


def budget_notes(
    config: ExperimentConfig, runs: Sequence[ModelRun], collabs: Sequence[CollabRun], train_windows: int
) -> list[str]:
    common = config.common
    frame = tuple(common.data.preprocess.camera_size)
    notes = [
        f"Epochs per model group: {_epochs_by_group(runs)} (the paper trains about {PAPER_EPOCHS}); "
        f"models are selected on validation after every epoch.",
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
    for run in collabs:
        if run.config.protocol in TEACHER_PROTOCOLS:
            central = run.config.central
            source = (
                "uses the study's teacher as is"
                if central.teacher
                else f"trains its own central teacher ({central.model.architecture} on "
                f"{'+'.join(central.model.modalities or ())}, {central.train.epochs} epoch(s))"
            )
            label = run.name if run.name == run.config.protocol else f"{run.name} ({run.config.protocol})"
            notes.append(f"Collaboration run {label} {source}.")
    notes.append("One seed per model: mean top-1 differences below 0.01 are within noise and called so.")
    return notes
