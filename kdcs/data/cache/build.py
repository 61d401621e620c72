"""The on-disk cache (`kdcs data prepare`): decode every sample once into memory-mapped arrays.

Layout of a cache folder (N samples; one .npy per array, opened with mmap_mode="r"):
    index [N] int64, seq_index [N] int64, beam [N] int16 (0-based), time_s [N] float64 (if present),
    power [N, num_beams] float32, gps [N, 4] float32 (east, north, range m, bearing rad),
    camera [N, H, W] uint8, camera_motion [N, H, W] uint8 (0/1, if motion masks are on),
    radar [N, R, A] float16/float32 (dB over the map's median), manifest.json (written last).

A build goes into `<cache_dir>.tmp-<pid>` and is renamed into place only when complete, so a
crash never leaves a folder that looks finished. Files are decoded by a pool of worker processes
that write straight into the preallocated memmaps (`kdcs.data.cache.decode`): memory stays flat
whatever N is.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kdcs.atomic_files import write_json_atomically
from kdcs.data.cache.decode import ProgressCallback, decode_files
from kdcs.data.cache.manifest import (
    MANIFEST_NAME,
    build_manifest,
    cache_folder_status,
    read_manifest,
    source_fingerprint,
)
from kdcs.data.errors import DataError
from kdcs.data.preprocess import PreprocessConfig, gps_to_local, motion_masks
from kdcs.data.table import CAMERA, GPS, POWER, RADAR, SampleTable, SkippedRow, sequence_runs
from kdcs.storage import (
    allocate_npy,
    array_bytes,
    check_free_space,
    is_write_failure,
    missing_folders,
    remove_empty_folders,
    write_failure,
)

SPACE_ADVICE = "free some space or choose another cache folder"


@dataclass
class CacheHandle:
    """An opened cache folder.

    Attributes:
        cache_dir: the folder. manifest: its parsed manifest.json.
        arrays: array name -> read-only memmap (see the module docstring for names and shapes).
        status: "reused" (was fresh), "built" (there was none) or "rebuilt" (stale, partial or forced).
        rebuilt_reason: why it was (re)built ("missing", "stale: ...", "partial: ...", "forced"), or None.
    """

    cache_dir: Path
    manifest: dict[str, Any]
    arrays: dict[str, np.ndarray]
    status: str = "reused"
    rebuilt_reason: str | None = None

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(self.manifest["modalities"])

    @property
    def num_samples(self) -> int:
        return int(self.manifest["num_samples"])

    @property
    def num_beams(self) -> int:
        return int(self.manifest["num_beams"])

    @property
    def config(self) -> PreprocessConfig:
        return PreprocessConfig.from_dict(self.manifest["config"])

    def sequence_bounds(self) -> list[tuple[int, int, int]]:
        """(seq_index, start_row, stop_row) of each contiguous sequence, in row order."""
        return sequence_runs(np.asarray(self.arrays["seq_index"]))


def _cached_modalities(table: SampleTable, modalities: tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if modalities is None:
        return table.modalities
    absent = [m for m in modalities if m not in table.modalities]
    if absent:
        raise DataError(
            f"{table.root}: scenario {table.name!r} has no {absent[0]!r} data (it has {table.modalities})"
        )
    return tuple(m for m in table.modalities if m in modalities)


def cache_status(
    table: SampleTable,
    cache_dir: Path,
    config: PreprocessConfig,
    *,
    modalities: tuple[str, ...] | list[str] | None = None,
) -> str:
    """ "fresh", "missing", "stale: <reason>" or "partial: <reason>" (see `kdcs.data.cache.manifest`)."""
    return cache_folder_status(table, Path(cache_dir), config, _cached_modalities(table, modalities))


def open_cache(cache_dir: Path) -> CacheHandle:
    """Open a finished cache read-only. Raises DataError if it has no manifest or an array does not match."""
    cache_dir = Path(cache_dir)
    try:
        manifest = read_manifest(cache_dir)
    except ValueError as exc:
        raise DataError(
            f"{cache_dir}: cannot read the cache manifest ({exc}); run `kdcs data prepare`"
        ) from exc
    if manifest is None:
        raise DataError(
            f"{cache_dir} is not a finished kdcs cache ({MANIFEST_NAME} missing); run `kdcs data prepare`"
        )
    arrays = {}
    for name, entry in manifest["arrays"].items():
        path = cache_dir / f"{name}.npy"
        try:
            values = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DataError(
                f"{path}: cache array cannot be opened ({exc}); rebuild with `kdcs data prepare`"
            ) from exc
        if list(values.shape) != entry["shape"] or values.dtype != np.dtype(entry["dtype"]):
            raise DataError(
                f"{path}: cache array is {values.dtype} {list(values.shape)}, manifest says "
                f"{entry['dtype']} {entry['shape']}; rebuild with `kdcs data prepare`"
            )
        arrays[name] = values
    return CacheHandle(cache_dir=cache_dir, manifest=manifest, arrays=arrays)


def array_layout(
    table: SampleTable, config: PreprocessConfig, modalities: tuple[str, ...]
) -> dict[str, tuple[tuple[int, ...], str]]:
    """Name -> (shape, dtype name) of every array a cache of this table will hold."""
    n = len(table)
    layout: dict[str, tuple[tuple[int, ...], str]] = {
        "index": ((n,), "int64"),
        "seq_index": ((n,), "int64"),
        "beam": ((n,), "int16"),
    }
    if table.time_s is not None:
        layout["time_s"] = ((n,), "float64")
    if POWER in modalities:
        layout["power"] = ((n, int(table.power.shape[1])), "float32")
    if GPS in modalities:
        layout["gps"] = ((n, 4), "float32")
    if CAMERA in modalities:
        layout["camera"] = ((n, *config.camera_size), "uint8")
        if config.motion_masks:
            layout["camera_motion"] = ((n, *config.camera_size), "uint8")
    if RADAR in modalities:
        layout["radar"] = ((n, *config.radar_size), config.radar_dtype)
    return layout


def _check_replaceable(cache_dir: Path) -> None:
    """Refuse to delete a folder that is not a cache (a typo in --cache must not wipe user data)."""
    if not cache_dir.exists():
        return
    if not cache_dir.is_dir():
        raise DataError(f"{cache_dir} exists and is not a folder; choose another cache location")
    foreign = [
        p.name
        for p in cache_dir.iterdir()
        if p.suffix not in (".npy", ".json") and not p.name.startswith(".")
    ]
    if foreign:
        raise DataError(
            f"{cache_dir} holds {foreign[0]!r}, so it is not a kdcs cache; choose another cache location"
        )


def prepare(
    table: SampleTable,
    cache_dir: Path,
    config: PreprocessConfig,
    *,
    workers: int | None = None,
    force: bool = False,
    progress: ProgressCallback | None = None,
    modalities: tuple[str, ...] | list[str] | None = None,
    skip_undecodable: bool = False,
) -> CacheHandle:
    """Build the cache of `table` in `cache_dir`, or reuse it when it is fresh.

    Parameters
    ----------
    table: the validated sample table. cache_dir: where the cache lives (never inside the dataset).
    config: preprocessing parameters (stored in the manifest; a change triggers a rebuild).
    workers: decoding processes (default os.cpu_count(); 1 decodes in this process).
    force: rebuild even a fresh cache. progress: called as progress(done_files, total_files).
    modalities: cache only these of the table's modalities (default: all it has).
    skip_undecodable: (skip-bad-rows) leave out the rows with a file that does not decode, named
        in the manifest (`cached_table` gives the table of the rows kept), instead of failing; the
        build then runs a second time without them.

    Output: the opened CacheHandle; `.status` and `.rebuilt_reason` say what happened.
    Raises DataError naming the CSV line, column and file when a file cannot be decoded, and
    StorageError when the disk lacks the space (checked first) or refuses a write; the previous
    cache folder (if any) is left as it was and no temporary or newly created folder remains.
    """
    cache_dir = Path(cache_dir)
    chosen = _cached_modalities(table, modalities)
    status = cache_folder_status(table, cache_dir, config, chosen)
    if status == "fresh" and not force:
        handle = open_cache(cache_dir)
        left_out = len(handle.manifest.get("undecodable") or [])
        if skip_undecodable or not left_out:
            return handle
        status = (
            f"stale: {left_out} undecodable rows were left out under skip-bad-rows, and this run keeps them"
        )
    _check_replaceable(cache_dir)
    _remove_abandoned_builds(cache_dir)
    temporary = cache_dir.with_name(f"{cache_dir.name}.tmp-{os.getpid()}")
    needed = sum(array_bytes(shape, dtype) for shape, dtype in array_layout(table, config, chosen).values())
    check_free_space(temporary.parent, needed, f"the cache of {table.name}", SPACE_ADVICE)
    created = missing_folders(temporary.parent)
    fingerprint = source_fingerprint(table)  # before decoding: a file edited meanwhile makes the cache stale
    build = _Build(config, chosen, workers or os.cpu_count() or 1, progress, fingerprint)
    try:
        undecodable = build.write(table, temporary, keep_going=skip_undecodable)
        if undecodable:  # written again without those rows: every array stays dense, in table order
            if len(undecodable) == len(table):
                raise DataError(
                    f"{table.root}: no row of {table.name!r} decodes; the first: {undecodable[0].reason}"
                )
            shutil.rmtree(temporary)
            build.write(table.without_rows(undecodable), temporary, undecodable=undecodable)
        _swap_into_place(temporary, cache_dir)
    except BaseException as error:
        shutil.rmtree(temporary, ignore_errors=True)
        remove_empty_folders(created)
        if is_write_failure(error):
            raise write_failure(error, f"the cache {cache_dir}", SPACE_ADVICE) from error
        raise
    handle = open_cache(cache_dir)
    handle.rebuilt_reason = "forced" if status == "fresh" else status
    handle.status = "built" if status == "missing" else "rebuilt"
    return handle


def _remove_abandoned_builds(cache_dir: Path) -> None:
    """Delete `<cache_dir>.tmp-<pid>` / `.old-<pid>` folders whose process is gone (killed builds)."""
    for leftover in cache_dir.parent.glob(f"{cache_dir.name}.*-*"):
        kind, _, pid_text = leftover.name[len(cache_dir.name) + 1 :].partition("-")
        if kind not in ("tmp", "old") or not pid_text.isdigit():
            continue
        if int(pid_text) != os.getpid() and _process_alive(int(pid_text)):
            continue  # another live prepare is building it
        shutil.rmtree(leftover, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _swap_into_place(temporary: Path, cache_dir: Path) -> None:
    """Rename the finished build over the old cache (if any); the old one is deleted afterwards."""
    if not cache_dir.exists():
        os.rename(temporary, cache_dir)
        return
    retired = cache_dir.with_name(f"{cache_dir.name}.old-{os.getpid()}")
    shutil.rmtree(retired, ignore_errors=True)
    os.rename(cache_dir, retired)
    os.rename(temporary, cache_dir)
    shutil.rmtree(retired, ignore_errors=True)


@dataclass(frozen=True)
class _Build:
    """What one cache build writes with, whatever rows it is given."""

    config: PreprocessConfig
    modalities: tuple[str, ...]
    workers: int
    progress: ProgressCallback | None
    fingerprint: str  # of the source table, also when rows are left out

    def write(
        self,
        table: SampleTable,
        folder: Path,
        keep_going: bool = False,
        undecodable: list[SkippedRow] | None = None,
    ) -> list[SkippedRow]:
        """Write every array of `table` into `folder`, then the manifest last, unless files failed
        to decode under keep_going: then no manifest, and the failed rows come back."""
        layout = array_layout(table, self.config, self.modalities)
        folder.mkdir(parents=True)
        _write_table_arrays(table, folder, layout)
        for name in (CAMERA, RADAR, "camera_motion"):
            if name in layout:  # allocated up front: a full disk is an OSError now, not a SIGBUS in a worker
                shape, dtype = layout[name]
                allocate_npy(folder / f"{name}.npy", dtype, shape)
        failed = decode_files(
            table, folder, self.config, self.modalities, self.workers, self.progress, keep_going
        )
        if failed:
            return failed
        if "camera_motion" in layout:
            _write_motion_masks(table, folder, self.config)
        manifest = build_manifest(table, self.config, self.modalities, layout, self.fingerprint, undecodable)
        write_json_atomically(folder / MANIFEST_NAME, manifest)
        return []


def cached_table(table: SampleTable, handle: CacheHandle) -> SampleTable:
    """`table` restricted to the rows its cache holds: all of them, unless skip-bad-rows left rows
    with undecodable files out (the manifest names them; they join `table.skipped`)."""
    left_out = [SkippedRow(**row) for row in handle.manifest.get("undecodable") or []]
    return table.without_rows(left_out) if left_out else table


def _write_table_arrays(table: SampleTable, folder: Path, layout: dict[str, Any]) -> None:
    """The arrays that come straight from the table (no file decoding)."""
    values = {
        "index": table.index,
        "seq_index": table.seq_index,
        "beam": table.beam,
        "time_s": table.time_s,
        "power": table.power,
        "gps": gps_to_local(table.bs_latlon, table.ue_latlon) if "gps" in layout else None,
    }
    for name, array in values.items():
        if name in layout:
            np.save(folder / f"{name}.npy", np.asarray(array).astype(layout[name][1]), allow_pickle=False)


def _write_motion_masks(table: SampleTable, folder: Path, config: PreprocessConfig) -> None:
    """Masks per sequence from the cached frames, so no difference crosses a sequence boundary."""
    frames = np.load(folder / "camera.npy", mmap_mode="r")
    masks = np.load(folder / "camera_motion.npy", mmap_mode="r+")
    for _, start, stop in table.sequence_bounds():
        masks[start:stop] = motion_masks(
            np.asarray(frames[start:stop]), config.mask_blur_sigma, config.mask_threshold
        )
    masks.flush()
    del masks
