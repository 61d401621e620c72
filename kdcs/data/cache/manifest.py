"""The cache manifest: what a cache folder holds, and whether it still matches its sources.

A cache folder is trusted only when its `manifest.json` (written last) agrees with the current
sample table and preprocessing config, and every array it lists is on disk with the listed shape,
dtype and full size. Anything else is "missing", "stale: <reason>" or "partial: <reason>".
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from kdcs.data.deepsense.reader import find_scenario_csv
from kdcs.data.errors import DataError
from kdcs.data.preprocess import PreprocessConfig
from kdcs.data.table import SampleTable, SkippedRow

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
FRESH, MISSING = "fresh", "missing"


def scenario_csv_path(table: SampleTable) -> Path | None:
    """The CSV the table was read from (the reader's own rule), or None when it cannot be told."""
    try:
        return find_scenario_csv(Path(table.root))
    except DataError:
        return None


def csv_line_of_index(csv_path: Path | None, index_value: int) -> int | None:
    """1-based CSV line (header = line 1) whose `index` cell equals index_value; None if not found."""
    if csv_path is None or not csv_path.is_file():
        return None
    with open(csv_path, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        if "index" not in header:
            return None
        column = header.index("index")
        for row in reader:
            if len(row) > column and row[column].strip() == str(index_value):
                return reader.line_num
    return None


def _hash_array(digest: Any, label: str, values: np.ndarray | None) -> None:
    digest.update(label.encode())
    if values is not None:
        values = np.ascontiguousarray(values)
        digest.update(f"{values.dtype.str}{values.shape}".encode())
        digest.update(values.tobytes())


def source_fingerprint(table: SampleTable) -> str:
    """sha256 over everything the cache is built from; cheap, and any edit changes it.

    Covers the CSV bytes, the table's decoded values (beams, sequences, times, power vectors and
    GPS, so an edited power or GPS text file shows up), and for every camera and radar file its
    path relative to the scenario root, size and modification time (a stat, not a read).
    """
    digest = hashlib.sha256()
    csv_path = scenario_csv_path(table)
    digest.update(csv_path.read_bytes() if csv_path is not None else b"<no csv>")
    digest.update(
        f"{table.beam_source}|{table.num_beams}|{table.radar_kind}|{table.ue_latlon_column}".encode()
    )
    for label in ("index", "seq_index", "beam", "time_s", "power", "bs_latlon", "ue_latlon"):
        _hash_array(digest, label, getattr(table, label))
    for label, paths in (("camera", table.camera_paths), ("radar", table.radar_paths)):
        digest.update(label.encode())
        for path in paths or ():
            stat = os.stat(path)
            relative = os.path.relpath(path, table.root)
            digest.update(f"{relative}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def build_manifest(
    table: SampleTable,
    config: PreprocessConfig,
    modalities: tuple[str, ...],
    array_layout: dict[str, tuple[tuple[int, ...], str]],
    fingerprint: str,
    undecodable: list[SkippedRow] | None = None,
) -> dict[str, Any]:
    """The manifest dict; array_layout maps array name -> (shape, dtype name).

    `fingerprint` is the source table's; `undecodable` the rows of that table left out of the
    cache because a file of theirs did not decode (skip-bad-rows), so a rerun on the same source
    knows the cache is fresh although it holds fewer rows.
    """
    csv_path = scenario_csv_path(table)
    return {
        "format_version": FORMAT_VERSION,
        "table": {
            "name": table.name,
            "root": str(Path(table.root).resolve()),
            "csv": str(csv_path) if csv_path is not None else None,
            "beam_source": table.beam_source,
            "radar_kind": table.radar_kind,
            "ue_latlon_column": table.ue_latlon_column,
            "skipped_rows": len(table.skipped),
        },
        "config": config.to_dict(),
        "modalities": list(modalities),
        "num_samples": len(table),
        "num_beams": int(table.num_beams),
        "num_sequences": int(len(table.sequences)),
        "arrays": {
            name: {"shape": list(shape), "dtype": dtype} for name, (shape, dtype) in array_layout.items()
        },
        "fingerprint": fingerprint,
        "undecodable": [vars(row) for row in undecodable or []],
    }


def read_manifest(cache_dir: Path) -> dict[str, Any] | None:
    """The parsed manifest, or None when the file is absent. Raises ValueError on unreadable JSON."""
    path = Path(cache_dir) / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict):
        raise ValueError(f"{path} does not hold a JSON object")
    return manifest


def npy_layout(path: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, expected file size in bytes) read from a .npy header without loading data."""
    with open(path, "rb") as handle:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
        offset = handle.tell()
    return tuple(shape), dtype, offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize


def array_problem(cache_dir: Path, name: str, shape: list[int], dtype: str) -> str | None:
    """Why array `name` does not match its manifest entry, or None when it does."""
    path = Path(cache_dir) / f"{name}.npy"
    if not path.is_file():
        return f"array {name!r} is missing"
    try:
        found_shape, found_dtype, expected_size = npy_layout(path)
    except (ValueError, OSError) as exc:
        return f"array {name!r} has an unreadable header ({exc})"
    if list(found_shape) != list(shape) or found_dtype != np.dtype(dtype):
        return f"array {name!r} is {found_dtype} {list(found_shape)}, manifest says {dtype} {list(shape)}"
    if path.stat().st_size < expected_size:
        return f"array {name!r} is truncated"
    return None


def _config_change(cached: dict[str, Any], wanted: PreprocessConfig) -> str | None:
    current = wanted.to_dict()
    changed = [key for key in sorted(set(cached) | set(current)) if cached.get(key) != current.get(key)]
    if not changed:
        return None
    key = changed[0]
    return f"preprocessing parameter {key} changed ({cached.get(key)!r} -> {current.get(key)!r})"


def manifest_mismatch(
    manifest: dict[str, Any], table: SampleTable, config: PreprocessConfig, modalities: tuple[str, ...]
) -> str | None:
    """Why a readable manifest does not describe (table, config, modalities), or None if it does."""
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        return f"stale: cache format version {version}, this kdcs writes {FORMAT_VERSION}"
    config_change = _config_change(manifest.get("config", {}), config)
    if config_change:
        return f"stale: {config_change}"
    if list(manifest.get("modalities", [])) != list(modalities):
        return f"stale: modalities changed ({manifest.get('modalities')} -> {list(modalities)})"
    expected = len(table) - len(manifest.get("undecodable") or [])
    if manifest.get("num_samples") != expected:
        return f"stale: the table has {expected} samples, the cache {manifest.get('num_samples')}"
    if manifest.get("fingerprint") != source_fingerprint(table):
        return "stale: source files changed since the cache was built (fingerprint mismatch)"
    return None


def cache_folder_status(
    table: SampleTable, cache_dir: Path, config: PreprocessConfig, modalities: tuple[str, ...]
) -> str:
    """ "fresh", "missing", "stale: <reason>" or "partial: <reason>" for one cache folder."""
    cache_dir = Path(cache_dir)
    if not cache_dir.exists():
        return MISSING
    try:
        manifest = read_manifest(cache_dir)
    except ValueError as exc:
        return f"partial: {exc}"
    if manifest is None:
        return "partial: no manifest.json (an interrupted build?)"
    mismatch = manifest_mismatch(manifest, table, config, modalities)
    if mismatch:
        return mismatch
    for name, entry in manifest.get("arrays", {}).items():
        problem = array_problem(cache_dir, name, entry.get("shape", []), entry.get("dtype", ""))
        if problem:
            return f"partial: {problem}"
    return FRESH
