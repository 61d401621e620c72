"""What a training run writes while it runs: metrics.csv, TensorBoard events, a progress bar.

metrics.csv holds one row per finished epoch, appended and flushed as each epoch ends, so a killed
run keeps every finished epoch. On resume the file is rewritten from the checkpoint's history:
rows of an epoch that finished after the last checkpoint (and will run again) are dropped.
"""

from __future__ import annotations

import csv
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

CSV_NAME = "metrics.csv"
TENSORBOARD_FOLDER = "tensorboard"


class RunLogger:
    """CSV (always), TensorBoard (optional, imported only when on) and progress on stderr.

    Parameters: run_dir; tensorboard: write events under run_dir/tensorboard; progress: show a
    bar per epoch when stderr is a terminal, and otherwise (a log file, CI) one plain line per
    epoch with its losses, the elapsed time and at most how long the remaining epochs take;
    epochs: the run's epoch budget (for that estimate).
    """

    def __init__(
        self, run_dir: Path, tensorboard: bool = True, progress: bool = True, epochs: int | None = None
    ) -> None:
        self.run_dir = Path(run_dir)
        self.csv_path = self.run_dir / CSV_NAME
        self.tensorboard = tensorboard
        self.progress = progress and sys.stderr.isatty()
        self.lines = EpochLines(epochs) if progress and not self.progress else None
        self._writer: Any = None
        self._columns: list[str] | None = None

    def start(self, history: Sequence[Mapping[str, Any]] = ()) -> None:
        """Open the logs for a run whose first `len(history)` epochs are already done."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._columns = list(history[0]) if history else None
        with self.csv_path.open("w", newline="") as handle:
            if history:
                writer = csv.DictWriter(handle, fieldnames=self._columns, extrasaction="ignore")
                writer.writeheader()
                writer.writerows(history)
        if self.tensorboard:
            from torch.utils.tensorboard import SummaryWriter  # slow import: only when asked for

            # purge_step drops events of epochs after the checkpoint that a killed run had logged
            self._writer = SummaryWriter(str(self.run_dir / TENSORBOARD_FOLDER), purge_step=len(history) + 1)

    def log_epoch(self, row: Mapping[str, Any]) -> None:
        """Append one epoch's row (flushed) and its scalars to TensorBoard (step = row["epoch"])."""
        new_file = self._columns is None
        if new_file:
            self._columns = list(row)
        with self.csv_path.open("a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=self._columns, extrasaction="ignore")
            if new_file:
                writer.writeheader()
            writer.writerow(row)
            handle.flush()
        if self._writer is not None:
            for key, value in row.items():
                if key != "epoch" and isinstance(value, int | float):
                    self._writer.add_scalar(key.replace("_", "/", 1), value, global_step=int(row["epoch"]))
            self._writer.flush()
        if self.lines is not None:
            print(self.lines.line(row), file=sys.stderr, flush=True)

    def batches(self, batches: Iterable[T], total: int, epoch: int) -> ProgressBar[T]:
        """Wrap an epoch's batches in a progress bar (a plain pass-through when bars are off)."""
        return ProgressBar(batches, total, f"epoch {epoch}", enabled=self.progress)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class ProgressBar(Iterable[T]):
    """tqdm over an epoch's batches; `show_loss` updates the postfix without a device sync."""

    def __init__(self, batches: Iterable[T], total: int, description: str, enabled: bool) -> None:
        self._batches, self._bar = batches, None
        if enabled:
            from tqdm import tqdm  # loaded only when a progress bar is asked for

            self._bar = tqdm(total=total, desc=description, leave=False, dynamic_ncols=True)

    def __iter__(self) -> Iterator[T]:
        try:
            for batch in self._batches:
                yield batch
                if self._bar is not None:
                    self._bar.update(1)
        finally:
            if self._bar is not None:
                self._bar.close()

    def show_loss(self, loss: float) -> None:
        if self._bar is not None:
            self._bar.set_postfix(loss=f"{loss:.4f}", refresh=False)


class EpochLines:
    """One plain progress line per finished epoch, for output that is not a terminal."""

    def __init__(self, epochs: int | None) -> None:
        self.epochs = epochs
        self.started = time.perf_counter()
        self.done_here = 0  # epochs run by this process (a resumed run starts with some done)

    def line(self, row: Mapping[str, Any]) -> str:
        self.done_here += 1
        elapsed = time.perf_counter() - self.started
        epoch = int(row["epoch"])
        numbers = [f"{label} {row[key]:.4f}" for key, label in LINE_FIELDS if isinstance(row.get(key), float)]
        text = f"epoch {epoch}" + (f"/{self.epochs}" if self.epochs else "") + ": " + ", ".join(numbers)
        text += f"; elapsed {duration(elapsed)}"
        if self.epochs and epoch < self.epochs:
            left = (self.epochs - epoch) * elapsed / self.done_here
            text += f", at most {duration(left)} left"  # early stopping may end the run sooner
        return text


LINE_FIELDS = (("train_loss", "train loss"), ("val_loss", "val loss"), ("val_top1_mean", "val top-1"))


def duration(seconds: float) -> str:
    """`42 s`, `3 min 05 s`, `2 h 07 min`."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
