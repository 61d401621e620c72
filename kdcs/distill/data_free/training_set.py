"""What a `data-free` run trains and selects on: synthetic windows (plus a few real ones), and the
teacher that labels them.

The synthetic windows are synthesised once per run (`inversion.synthesise_batch`, batch by batch,
seeded by train.seed) and saved in the run folder as synthetic_windows.safetensors with what they
depend on; a resumed run, or another run naming the file in `kd.data_free.synthetic_set`, reuses them
when teacher weights, modalities, window, seed and synthesis settings all match. Each synthetic
window's "target" is the teacher's own top beam on it (no label exists), so validating on held-out
synthetic windows measures agreement with the teacher and needs no real data.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from kdcs.config import ConfigError, to_dict
from kdcs.data.prepared import PreparedData
from kdcs.distill.data_free.config import DataFreeConfig
from kdcs.distill.data_free.inversion import WindowShape, synthesise_batch
from kdcs.distill.data_free.sensor_subset import SensorSubsetTeacher, synthesisable
from kdcs.distill.data_free.window_set import WindowSet, WindowSetBatcher, load_window_set, save_window_set
from kdcs.distill.prediction import predict, validation_summary
from kdcs.distill.teacher_outputs import teacher_digest

SYNTHETIC_FILE = "synthetic_windows.safetensors"
# settings that change how a run uses its synthetic windows, not what they are
_USE_ONLY = ("real_fraction", "validate_on", "synthetic_set")


@dataclass
class DataFreeSets:
    """The batchers a data-free run trains and validates on, the teacher that labels them (the
    sensor-subset teacher), and what the run reports about them (metrics.json "data_free")."""

    train: WindowSetBatcher
    val: Any
    teacher: SensorSubsetTeacher
    report: dict[str, Any]


def data_free_sets(
    config: DataFreeConfig, data: PreparedData, teacher: nn.Module, student: nn.Module, run_dir: Path,
    *, seed: int, batch_size: int, num_threads: int | None = None,
) -> DataFreeSets:  # fmt: skip
    """The synthetic (and real) training windows, the validation batcher and the sensor-subset teacher
    of a data-free run (see the module docstring); synthesises unless a matching file exists."""
    if num_threads is not None:
        torch.set_num_threads(num_threads)  # as the trainer will: synthesis is training-sized work
    subset = SensorSubsetTeacher(teacher, synthesisable(teacher, student.modalities))
    shape = WindowShape(
        data.spec.history, data.spec.horizon, student.config.num_beams,
        teacher.config.image_size, teacher.config.radar_size,
    )  # fmt: skip
    synthetic, origin, seconds = _synthetic_windows(config, subset, shape, seed, Path(run_dir))
    first_id = int(len(data.cache.arrays["seq_index"]))  # after every real row: ids never collide
    synthetic = synthetic.renumbered(first_id)
    train, val = (
        synthetic.subset(np.arange(config.windows)),
        synthetic.subset(np.arange(config.windows, len(synthetic))),
    )
    real = _real_windows(data, student.modalities, config.real_fraction, seed)
    if real is not None:
        train = train.concatenated(real)
    val_batcher = (
        data.batcher("val", student.modalities, 256)
        if config.validate_on == "real"
        else WindowSetBatcher(val, 256)
    )
    report = {
        "synthetic_windows": {"train": config.windows, "val": config.val_windows},
        "synthetic_set": origin,
        "synthesis_seconds": round(seconds, 2),
        "real_windows": 0 if real is None else len(real),
        "validated_on": config.validate_on,
        "teacher_modalities_read": list(subset.modalities),
        "teacher_on_student_sensors_val": _subset_teacher_scores(subset, data, student.modalities),
    }
    return DataFreeSets(
        WindowSetBatcher(train, batch_size, shuffle=True, seed=seed), val_batcher, subset, report
    )


def _synthesis_key(
    config: DataFreeConfig, subset: SensorSubsetTeacher, shape: WindowShape, seed: int
) -> dict:
    settings = {k: v for k, v in to_dict(config).items() if k not in _USE_ONLY}
    return {
        "teacher": teacher_digest(subset.teacher),
        "modalities": list(subset.modalities),
        "window": to_dict(shape),
        "seed": seed,
        "settings": settings,
    }


def _synthetic_windows(
    config: DataFreeConfig, subset: SensorSubsetTeacher, shape: WindowShape, seed: int, run_dir: Path
) -> tuple[WindowSet, str, float]:
    """(train + val synthetic windows, where they came from, synthesis seconds)."""
    key = _synthesis_key(config, subset, shape, seed)
    if config.synthetic_set and not Path(config.synthetic_set).is_file():
        raise ConfigError(f"config key 'kd.data_free.synthetic_set': no file at {config.synthetic_set}")
    for candidate, origin in ((config.synthetic_set, "reused"), (run_dir / SYNTHETIC_FILE, "resumed")):
        if candidate and Path(candidate).is_file():
            windows, metadata = load_window_set(Path(candidate))
            if metadata.get("key") == key:
                return windows, f"{origin}: {candidate}", float(metadata.get("seconds", 0.0))
            if origin == "reused":
                raise ConfigError(
                    f"config key 'kd.data_free.synthetic_set': {candidate} was synthesised with another teacher, "
                    "modalities, window, seed or synthesis settings than this run's"
                )
            # never overwrite another run's windows: the trainer refuses a folder of another run later
            raise ConfigError(
                f"{candidate} holds synthetic windows of another teacher, window, seed or synthesis settings: "
                "write this run to another folder"
            )
    start = time.perf_counter()
    windows = synthesise_windows(subset, config.windows + config.val_windows, shape, config, seed)
    seconds = time.perf_counter() - start
    run_dir.mkdir(parents=True, exist_ok=True)
    save_window_set(run_dir / SYNTHETIC_FILE, windows, {"key": key, "seconds": seconds})
    return windows, "synthesised by this run", seconds


def synthesise_windows(
    subset: SensorSubsetTeacher, count: int, shape: WindowShape, config: DataFreeConfig, seed: int
) -> WindowSet:
    """`count` synthetic windows, batch by batch, each window's target the teacher's top beam on it."""
    rng = np.random.default_rng([seed, 8191])
    parts: dict[str, list[np.ndarray]] = {}
    for start in range(0, count, config.batch_size):
        batch = synthesise_batch(subset, min(config.batch_size, count - start), shape, config, rng)
        for name, value in batch.items():
            parts.setdefault(name, []).append(value)
    arrays = {name: np.concatenate(values) for name, values in parts.items()}
    arrays["target"] = arrays["track"]
    arrays["window_end"] = np.arange(count, dtype=np.int64)
    windows = WindowSet(arrays)
    labels = predict(subset, WindowSetBatcher(windows, 256)).logits.argmax(-1)  # [N, J+1]
    return WindowSet({**windows.arrays, "target": labels.astype(np.int64)})


def _real_windows(
    data: PreparedData, modalities: tuple[str, ...], fraction: float, seed: int
) -> WindowSet | None:
    """round(fraction * W) of the W real training windows (at least one when fraction > 0), seeded."""
    train = data.windows["train"]
    if fraction <= 0 or len(train) == 0:
        return None
    count = min(max(int(round(fraction * len(train))), 1), len(train))
    chosen = np.sort(np.random.default_rng([seed, 524287]).choice(len(train), count, replace=False))
    batch = data.batcher("train", modalities, 1).gather(chosen)
    keep = [*modalities, "target", "window_end"]
    return WindowSet({name: np.asarray(batch[name]) for name in keep})


def _subset_teacher_scores(subset: SensorSubsetTeacher, data: PreparedData, modalities) -> dict[str, float]:
    """The sensor-subset teacher on the real validation windows: how much it knows from the student's
    inputs alone (a diagnostic for the report; nothing is selected on it)."""
    summary = validation_summary(predict(subset, data.batcher("val", tuple(modalities), 256)))
    return {name: round(float(summary[name]["mean"]), 4) for name in ("top1", "top5") if name in summary}
