"""Parallel file decoding for the cache: worker processes write straight into preallocated memmaps.

Rows are cut into tasks of ROWS_PER_TASK files; each worker opens the target .npy with
mmap_mode="r+", decodes its files one at a time and writes each result in place, so memory stays
flat whatever the number of samples. The first file that fails becomes one DataError naming the
CSV line, the column and the file; under skip-bad-rows (`keep_going`) every file is tried and the
failures come back as SkippedRows instead, for the build to leave those rows out.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kdcs.data.cache.manifest import csv_line_of_index, scenario_csv_path
from kdcs.data.errors import cell_error
from kdcs.data.preprocess import PreprocessConfig, load_camera_gray, load_radar_map
from kdcs.data.table import CAMERA, RADAR, SampleTable, SkippedRow

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


DecodeFailure = tuple[int, str, str]  # (row, path, reason)


def _run_decode_task(task: _DecodeTask, keep_going: bool = False) -> list[DecodeFailure]:
    """Decode a task's files into its memmap. Output: the failures; without keep_going it stops at
    the first."""
    target = np.load(task.array_path, mmap_mode="r+")
    failures: list[DecodeFailure] = []
    try:
        for offset, path in enumerate(task.paths):
            try:
                target[task.start + offset] = _decode_one(task, path)
            except Exception as exc:  # any failure of a third-party decoder becomes one clear DataError
                failures.append((task.start + offset, path, f"{type(exc).__name__}: {exc}"))
                if not keep_going:
                    break
        target.flush()
    finally:
        del target
    return failures


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
    keep_going: bool = False,
) -> list[SkippedRow]:
    """Run every decode task (in a process pool when workers > 1).

    Without keep_going, raise DataError on the first failure; with it, decode every file and return
    one SkippedRow per failed file (CSV line, index, column, reason), in row order.
    """
    tasks = _tasks(table, folder, config, modalities)
    total, done = sum(len(t.paths) for t in tasks), 0
    failed: list[tuple[str, DecodeFailure]] | None = [] if keep_going else None
    if not tasks:
        return []
    if workers <= 1 or len(tasks) == 1:
        for task in tasks:
            done = _account(table, task, _run_decode_task(task, keep_going), done, total, progress, failed)
        return _skipped_rows(table, failed)
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=_pool_context()) as pool:
        pending: dict[Future, _DecodeTask] = {pool.submit(_run_decode_task, t, keep_going): t for t in tasks}
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    task = pending.pop(future)
                    done = _account(table, task, future.result(), done, total, progress, failed)
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    return _skipped_rows(table, failed)


def _account(
    table: SampleTable,
    task: _DecodeTask,
    failures: list[DecodeFailure],
    done: int,
    total: int,
    progress: ProgressCallback | None,
    failed: list[tuple[str, DecodeFailure]] | None,
) -> int:
    """Count a task's rows into the progress. A failure raises the DataError, or with keep_going
    (`failed` given) is collected there."""
    if failures and failed is None:
        raise cell_error(*_where(table, task.modality, failures[0]))
    if failed is not None:
        failed.extend((task.modality, failure) for failure in failures)
    done += len(task.paths)
    if progress is not None:
        progress(done, total)
    return done


def _where(table: SampleTable, modality: str, failure: DecodeFailure) -> tuple[Path, int | None, str, str]:
    """(CSV, line, column, reason sentence) of one failed file."""
    row, path, reason = failure
    csv_path = scenario_csv_path(table)
    line = csv_line_of_index(csv_path, int(table.index[row]))
    what = "image" if modality == CAMERA else "radar file"
    where = "" if line is not None else f" (row with index {int(table.index[row])})"
    return (
        csv_path or Path(table.root),
        line,
        CSV_COLUMN[modality],
        f"cannot decode {what} {path}{where}: {reason}",
    )


def _skipped_rows(table: SampleTable, failed: list[tuple[str, DecodeFailure]] | None) -> list[SkippedRow]:
    """One SkippedRow per failed row (a row with two failed files is named once, by the first)."""
    rows: dict[int, SkippedRow] = {}
    for modality, failure in sorted(failed or [], key=lambda item: item[1][0]):
        _, line, column, reason = _where(table, modality, failure)
        rows.setdefault(failure[0], SkippedRow(line or 0, str(int(table.index[failure[0]])), column, reason))
    return list(rows.values())
