"""What a training run ends with: its result, or the divergence that stopped it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


class TrainingDiverged(RuntimeError):
    """The loss or gradient became NaN or infinite; the last good checkpoint was kept."""

    def __init__(self, message: str, epoch: int, batch: int, checkpoint: Path | None) -> None:
        super().__init__(message)
        self.epoch, self.batch, self.checkpoint = epoch, batch, checkpoint


@dataclass
class TrainResult:
    """best_epoch (1-based), best_val (metrics summary + "loss"), history (one flat row per epoch)."""

    best_epoch: int | None
    best_val: dict[str, Any]
    history: list[dict[str, Any]]
    stopped_reason: str
    run_dir: Path
    best_weights: Path | None = None

    @property
    def seconds(self) -> float:
        """Training and validation time of every epoch, those before a resume included."""
        return float(sum(row.get("seconds", 0.0) + row.get("val_seconds", 0.0) for row in self.history))
