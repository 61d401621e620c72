"""What a training run that fails leaves in its folder: either a checkpoint to resume, or nothing new.

A run is resumable from its last checkpoint (best.* of a later, unfinished epoch is rewritten
when that epoch runs again). A fresh run that fails before its first checkpoint has nothing to
resume, so the files it wrote (best.*, logs, run_config.json) and the folders it created are removed:
the folder is left as it was found. A full or read-only disk becomes one StorageError that says
which of the two happened.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from torch import nn

from kdcs.distill.checkpoint import latest_checkpoint
from kdcs.storage import (
    check_free_space,
    is_write_failure,
    missing_folders,
    remove_empty_folders,
    write_failure,
)

# one epoch writes a checkpoint (weights, weight average, optimiser moments: 4 copies of the
# parameters) and best.safetensors; the previous checkpoint stays until the new one is in place
PARAMETER_COPIES_PER_EPOCH = 9


def check_room_for_an_epoch(run_dir: Path, model: nn.Module) -> None:
    """Refuse to start when the run folder's disk cannot hold what one epoch writes."""
    tensors = [*model.parameters(), *model.buffers()]
    needed = PARAMETER_COPIES_PER_EPOCH * sum(t.numel() * t.element_size() for t in tensors)
    check_free_space(run_dir, needed, "one training epoch", "free some space or choose another run folder")


@contextmanager
def kept_resumable_or_untouched(run_dir: Path) -> Iterator[None]:
    """Around a run: on failure, keep the last checkpoint, or remove what a fresh run wrote."""
    run_dir = Path(run_dir)
    fresh = latest_checkpoint(run_dir) is None
    created = missing_folders(run_dir)
    before = set(run_dir.iterdir()) if run_dir.is_dir() else set()
    try:
        yield
    except BaseException as error:
        checkpoint = latest_checkpoint(run_dir)
        if fresh and checkpoint is None:
            _remove_new_entries(run_dir, before)
            remove_empty_folders(created)
        if not is_write_failure(error):
            raise
        if checkpoint is None:
            advice = "nothing was kept; free some space or choose another run folder"
        else:
            advice = f"{checkpoint.name} is kept; free some space and resume it (resume=True / --resume)"
        raise write_failure(error, f"the run folder {run_dir}", advice) from error


def _remove_new_entries(run_dir: Path, before: set[Path]) -> None:
    if not run_dir.is_dir():
        return
    for entry in set(run_dir.iterdir()) - before:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
