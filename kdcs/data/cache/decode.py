"""Parallel file decoding for the cache: worker processes write straight into preallocated memmaps.

Rows are cut into tasks of ROWS_PER_TASK files; each worker opens the target .npy with
mmap_mode="r+", decodes its files one at a time and writes each result in place, so memory stays
flat whatever the number of samples. The first file that fails becomes one DataError naming the
CSV line, the column and the file.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kdcs.data.cache.manifest import csv_line_of_index, scenario_csv_path
from kdcs.data.errors import cell_error
from kdcs.data.preprocess import PreprocessConfig, load_camera_gray, load_radar_map
from kdcs.data.table import CAMERA, RADAR, SampleTable

CSV_COLUMN = {CAMERA: "unit1_rgb", RADAR: "unit1_radar"}
ROWS_PER_TASK = 64  # small enough for smooth progress and load balance, large enough to amortise a task
ProgressCallback = Callable[[int, int], None]  # (files decoded so far, files in total)


@dataclass(frozen=True)
class _DecodeTask:
    """Consecutive rows of one modality: paths[i] belongs to row start + i."""

    modality: str
    array_path: str
    start: int
    paths: tuple[str, ...]
    radar_kind: str | None
    config: PreprocessConfig


def _decode_one(task: _DecodeTask, path: str) -> np.ndarray:
    if task.modality == CAMERA:
        return load_camera_gray(path, task.config.camera_size)
    return load_radar_map(
        path,
        task.radar_kind,
        task.config.radar_size,
        angle_bins=task.config.radar_angle_bins,
        max_range_bins=task.config.radar_max_range_bins,
    )


def _run_decode_task(task: _DecodeTask) -> tuple[int, str, str] | int:
    """Decode a task's files into its memmap. Output: rows written, or (row, path, reason) on failure."""
    target = np.load(task.array_path, mmap_mode="r+")
    try:
        for offset, path in enumerate(task.paths):
            try:
                target[task.start + offset] = _decode_one(task, path)
            except Exception as exc:  # any failure of a third-party decoder becomes one clear DataError
                return (task.start + offset, path, f"{type(exc).__name__}: {exc}")
        target.flush()
    finally:
        del target
    return len(task.paths)


def _tasks(
    table: SampleTable, folder: Path, config: PreprocessConfig, modalities: tuple[str, ...]
) -> list[_DecodeTask]:
    tasks = []
    for modality, paths in ((CAMERA, table.camera_paths), (RADAR, table.radar_paths)):
        if modality not in modalities:
            continue
        as_text = [str(p) for p in paths]
        for start in range(0, len(as_text), ROWS_PER_TASK):
            chunk = tuple(as_text[start : start + ROWS_PER_TASK])
            tasks.append(
                _DecodeTask(modality, str(folder / f"{modality}.npy"), start, chunk, table.radar_kind, config)
            )
    return tasks


def _pool_context() -> multiprocessing.context.BaseContext:
    # fork starts workers instantly and shares the table copy-on-write; the workers only use
    # numpy, scipy and PIL, never torch's thread pools, so forking a process that has loaded torch is safe.
    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")


def decode_files(
    table: SampleTable,
    folder: Path,
    config: PreprocessConfig,
    modalities: tuple[str, ...],
    workers: int,
    progress: ProgressCallback | None,
) -> None:
    """Run every decode task (in a process pool when workers > 1); raise DataError on the first failure."""
    tasks = _tasks(table, folder, config, modalities)
    total, done = sum(len(t.paths) for t in tasks), 0
    if not tasks:
        return
    if workers <= 1 or len(tasks) == 1:
        for task in tasks:
            done = _account(table, task, _run_decode_task(task), done, total, progress)
        return
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=_pool_context()) as pool:
        pending: dict[Future, _DecodeTask] = {pool.submit(_run_decode_task, t): t for t in tasks}
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    done = _account(table, pending.pop(future), future.result(), done, total, progress)
        except BaseException:
            for future in pending:
                future.cancel()
            raise


def _account(
    table: SampleTable,
    task: _DecodeTask,
    result: Any,
    done: int,
    total: int,
    progress: ProgressCallback | None,
) -> int:
    """Turn a task result into progress, or into a DataError naming CSV line, column and file."""
    if isinstance(result, tuple):
        row, path, reason = result
        csv_path = scenario_csv_path(table)
        line = csv_line_of_index(csv_path, int(table.index[row]))
        what = "image" if task.modality == CAMERA else "radar file"
        where = "" if line is not None else f" (row with index {int(table.index[row])})"
        message = f"cannot decode {what} {path}{where}: {reason}"
        raise cell_error(csv_path or Path(table.root), line, CSV_COLUMN[task.modality], message)
    done += int(result)
    if progress is not None:
        progress(done, total)
    return done
