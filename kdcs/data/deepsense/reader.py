"""Read a DeepSense 6G scenario folder (real or synthetic) into one validated SampleTable.

A scenario folder holds `<name>.csv` whose cells are paths relative to the folder (PAPER.md
section 7). Columns are matched by name and every modality is optional; the only table-level
needs are `seq_index` and a label source (`unit1_beam_index` or `unit1_pwr_60ghz`). Every cell is
checked before the table is returned: a bad cell raises one `DataError` naming the CSV, line and
column, or, with `skip_bad_rows=True`, drops its row into `SampleTable.skipped`. Nothing is written.
"""

from __future__ import annotations

import csv
import re
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

from kdcs.data.deepsense.cells import seconds_since_first
from kdcs.data.deepsense.rows import (
    BEAM_COLUMN,
    INDEX_COLUMN,
    POWER_COLUMN,
    RADAR_COLUMN,
    SEQ_INDEX_COLUMN,
    RowProblem,
    RowReader,
    ScenarioColumns,
)
from kdcs.data.errors import DataError, cell_error
from kdcs.data.table import NUM_BEAMS_DEFAULT, SampleTable, SkippedRow

LIDAR_COLUMNS = ("unit1_lidar", "unit1_lidar_SCR")


class DataWarning(UserWarning):
    """Something in the data is suspicious but usable (e.g. beam labels that disagree with power)."""


# ----------------------------------------------------------------------------- finding scenarios


def find_scenario_csv(path: Path) -> Path:
    """The CSV of a scenario: `path` itself, or in folder `path`: `<name>.csv`, the single
    `scenario*.csv`, else the single `*.csv`. Several candidates or none raise DataError."""
    path = Path(path).resolve()
    if path.is_file():
        if path.suffix.lower() != ".csv":
            raise DataError(f"{path}: a scenario must be given as its folder or its .csv file.")
        return path
    if not path.is_dir():
        raise DataError(f"{path}: no such scenario folder or CSV file.")
    named = path / f"{path.name}.csv"
    if named.is_file():
        return named
    for pattern in ("scenario*.csv", "*.csv"):
        candidates = sorted(p for p in path.glob(pattern) if p.is_file())
        if len(candidates) == 1:
            return candidates[0]
        if len(candidates) > 1:
            names = ", ".join(p.name for p in candidates)
            raise DataError(f"{path}: several scenario CSV files ({names}); give the one to read.")
    raise DataError(f"{path}: no scenario CSV file (expected {path.name}.csv).")


def is_scenario_folder(path: Path) -> bool:
    """True when `path` is a folder holding at least one .csv file directly."""
    path = Path(path)
    return path.is_dir() and any(p.is_file() for p in path.glob("*.csv"))


def _natural_key(name: str) -> list:
    """Sort "ap2" before "ap10"."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def read_scenario_set(root: Path, **kwargs) -> dict[str, SampleTable]:
    """Read every scenario under a multi-AP root, e.g. `root/ap1/ap1.csv`, `root/ap2/ap2.csv`.

    Parameters: root: a folder of scenario folders (ordered by name, "ap2" before "ap10"), or a
    single scenario folder (returns one entry); kwargs: passed to `read_scenario`.
    Output: {folder name: SampleTable}.
    """
    root = Path(root).resolve()
    if is_scenario_folder(root):
        table = read_scenario(root, **kwargs)
        return {table.name: table}
    if not root.is_dir():
        raise DataError(f"{root}: no such folder of scenarios.")
    folders = sorted((d for d in root.iterdir() if is_scenario_folder(d)), key=lambda d: _natural_key(d.name))
    if not folders:
        raise DataError(f"{root}: no scenario folder (a sub-folder holding a .csv file) inside.")
    return {folder.name: read_scenario(folder, **kwargs) for folder in folders}


# ----------------------------------------------------------------------------- reading one scenario


def _read_csv_rows(csv_path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """(header names, [(line number, cells)]) with blank rows dropped; header = line 1."""
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [name.strip() for name in next(reader, [])]
            rows = [(reader.line_num, cells) for cells in reader if any(c.strip() for c in cells)]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{csv_path}: cannot be read as a CSV file ({error}).") from None
    if not any(header):
        raise DataError(f"{csv_path} line 1: the header row is empty.")
    return header, rows


def _columns_or_raise(csv_path: Path, header: list[str]) -> ScenarioColumns:
    columns = ScenarioColumns.from_header(header)
    if columns.seq_index is None:
        raise cell_error(csv_path, 1, SEQ_INDEX_COLUMN, "the header has no seq_index column")
    if columns.beam is None and columns.power is None:
        raise cell_error(
            csv_path, 1, None, f"no label source: needs {BEAM_COLUMN} or {POWER_COLUMN} in the header"
        )
    return columns


def read_scenario(
    path: Path,
    *,
    skip_bad_rows: bool = False,
    check_images: bool = True,
    expected_radar_shape: tuple[int, ...] | None = None,
    num_beams: int = NUM_BEAMS_DEFAULT,
    sensor_cells_may_fail: bool = False,
) -> SampleTable:
    """Read and validate one scenario folder (or its CSV) into a SampleTable.

    Parameters:
        path: scenario folder or its CSV file.
        skip_bad_rows: drop rows with a bad cell into `table.skipped` instead of raising.
        check_images: open each image header and check a JPEG ends with its end marker
            (existence is always checked).
        expected_radar_shape: exact radar array shape required (e.g. (4, 256, 128)), or None.
        num_beams: codebook size; power files must hold this many values, beams are 1..num_beams.
        sensor_cells_may_fail: keep a row whose camera, radar or vehicle-GPS cell is bad (missing or
            unreadable file), that reading missing (its path stays and fails to decode; GPS is NaN):
            a replay holds or zeroes it per slot instead of refusing the whole scenario.
    Output: SampleTable sorted by (seq_index, time or index), stable.
    Raises DataError naming the CSV, line and column of the first problem.
    """
    csv_path = find_scenario_csv(path)
    folder = csv_path.parent
    header, rows = _read_csv_rows(csv_path)
    columns = _columns_or_raise(csv_path, header)
    reader = RowReader(folder, columns, check_images, expected_radar_shape, num_beams, sensor_cells_may_fail)
    kept, skipped, first_line_of_index = [], [], {}

    def refuse_or_skip(line: int, position: int, cells: list[str], problem: RowProblem) -> None:
        if not skip_bad_rows:
            raise cell_error(csv_path, line, problem.column, problem.reason) from None
        has_index = columns.index is not None and columns.index < len(cells)
        index_cell = cells[columns.index] if has_index else str(position)
        skipped.append(SkippedRow(line, index_cell.strip(), problem.column, problem.reason))

    for position, (line, cells) in enumerate(rows, start=1):
        try:
            fields = reader.read(cells, default_index=position)
            _check_unique_index(fields["index"], line, first_line_of_index)
        except RowProblem as problem:
            refuse_or_skip(line, position, cells, problem)
            continue
        first_line_of_index[fields["index"]] = line
        kept.append((line, position, cells, fields))
    kept = _without_odd_radar_shapes(kept, columns, refuse_or_skip)
    skipped.sort(key=lambda row: row.csv_row)
    if not kept:
        why = f"; first problem: line {skipped[0].csv_row}, {skipped[0].reason}" if skipped else ""
        raise DataError(f"{csv_path}: no usable data rows{why}.")
    table = _assemble(csv_path, header, columns, kept, skipped, num_beams, len(rows))
    for column, count in reader.failed_cells.items():
        table.notes.append(f"{count} unreadable cells in {column!r} kept as missing readings")
    return table


def _without_odd_radar_shapes(
    kept: list[tuple[int, int, list[str], dict]], columns, refuse_or_skip
) -> list[dict]:
    """The rows' fields, less those whose radar shape is not the one most rows hold (refused or skipped)."""
    common = _common_radar_shape(kept) if columns.radar is not None else None
    fields_kept = []
    for line, position, cells, fields in kept:
        if common is not None and fields["radar"][2] not in (common, None):
            refuse_or_skip(line, position, cells, _radar_shape_problem(fields["radar"], common))
        else:
            fields_kept.append(fields)
    return fields_kept


def _common_radar_shape(kept: list[tuple[int, int, list[str], dict]]) -> tuple[int, ...] | None:
    """The radar shape most rows hold (the first seen on a tie): every cube or map must have it,
    or the cache would silently resize the odd one out (one such row differed by 18.6 dB)."""
    shapes = Counter(fields["radar"][2] for _, _, _, fields in kept if fields["radar"][2] is not None)
    return max(shapes, key=shapes.__getitem__) if shapes else None


def _radar_shape_problem(radar: tuple[Path, str, tuple[int, ...]], common: tuple[int, ...]) -> RowProblem:
    path, _, shape = radar
    return RowProblem(
        RADAR_COLUMN,
        f"radar file {path} holds shape {shape}, but the scenario's other radar files hold {common}",
    )


def _check_unique_index(index: int, line: int, first_line_of_index: dict[int, int]) -> None:
    if index in first_line_of_index:
        raise RowProblem(INDEX_COLUMN, f"index {index} repeats line {first_line_of_index[index]}")


# ----------------------------------------------------------------------------- building the table


def _time_seconds(csv_path: Path, columns: ScenarioColumns, kept: list[dict]) -> np.ndarray | None:
    """[N] seconds since the first sample, in CSV order, or None without a time column."""
    if columns.time is None:
        return None
    seconds = np.array([f["time"][0] for f in kept], dtype=np.float64)
    time_of_day = np.array([f["time"][1] for f in kept], dtype=bool)
    if time_of_day.any() and not time_of_day.all():
        raise cell_error(csv_path, None, columns.time_name, "mixes times of day with full date-times")
    return seconds_since_first(seconds, time_of_day)


def _beams(
    columns: ScenarioColumns, kept: list[dict], power: np.ndarray | None, notes: list[str]
) -> tuple[np.ndarray, str]:
    """([N] 0-based beams, source name); counts and reports disagreement with the power argmax."""
    if columns.beam is None:
        return np.argmax(power, axis=1).astype(np.int64), f"{POWER_COLUMN} argmax"
    beam = np.array([f["beam"] for f in kept], dtype=np.int64)
    if power is not None:
        mismatches = int(np.count_nonzero(beam != np.argmax(power, axis=1)))
        if mismatches:
            message = (
                f"{BEAM_COLUMN} differs from the {POWER_COLUMN} argmax on {mismatches} of {len(beam)} rows;"
                f" {BEAM_COLUMN} is used"
            )
            notes.append(message)
            warnings.warn(message, DataWarning, stacklevel=4)  # points at the caller of read_scenario
    return beam, BEAM_COLUMN


def _column_notes(header: list[str], columns: ScenarioColumns) -> list[str]:
    notes = []
    lidar = [name for name in header if name in LIDAR_COLUMNS or name.startswith("unit1_lidar")]
    if lidar:
        notes.append(f"LiDAR column(s) present but not read: {', '.join(dict.fromkeys(lidar))}")
    if columns.index is None:
        notes.append(f"no {INDEX_COLUMN} column: rows are numbered 1..N in CSV order")
    if columns.ue_gps_name == "unit2_loc_cal" and "unit2_loc" in header:
        notes.append("vehicle position from unit2_loc_cal (calibrated); unit2_loc not read")
    return notes


def _skipped_note(skipped: list[SkippedRow], num_rows: int) -> str:
    per_column = Counter(row.column for row in skipped)
    detail = ", ".join(f"{count} in {column!r}" for column, count in per_column.most_common())
    return f"skipped {len(skipped)} of {num_rows} rows with bad cells ({detail}); see SampleTable.skipped"


def _optional_array(kept: list[dict], key: str, present: bool, dtype) -> np.ndarray | None:
    return np.array([f[key] for f in kept], dtype=dtype) if present else None


def _assemble(
    csv_path: Path,
    header: list[str],
    columns: ScenarioColumns,
    kept: list[dict],
    skipped: list[SkippedRow],
    num_beams: int,
    num_rows: int,
) -> SampleTable:
    """Turn per-row fields (CSV order) into a sorted SampleTable."""
    notes = _column_notes(header, columns)
    index = np.array([f["index"] for f in kept], dtype=np.int64)
    seq_index = np.array([f["seq_index"] for f in kept], dtype=np.int64)
    time_s = _time_seconds(csv_path, columns, kept)
    power = _optional_array(kept, "power", columns.power is not None, np.float64)
    beam, beam_source = _beams(columns, kept, power, notes)
    if skipped:
        notes.append(_skipped_note(skipped, num_rows))
    order = np.lexsort((time_s if time_s is not None else index, seq_index))  # stable
    bs = _optional_array(kept, "bs_gps", columns.bs_gps is not None, np.float64)
    ue = _optional_array(kept, "ue_gps", columns.ue_gps is not None, np.float64)
    camera = [kept[i]["camera"] for i in order] if columns.camera is not None else None
    radar = [kept[i]["radar"][0] for i in order] if columns.radar is not None else None
    return SampleTable(
        root=csv_path.parent,
        name=csv_path.parent.name,
        index=index[order],
        seq_index=seq_index[order],
        beam=beam[order],
        beam_source=beam_source,
        num_beams=num_beams,
        time_s=time_s[order] if time_s is not None else None,
        power=power[order].astype(np.float32) if power is not None else None,
        camera_paths=camera,
        radar_paths=radar,
        radar_kind=next((f["radar"][1] for f in kept if f["radar"][1]), None)
        if columns.radar is not None
        else None,
        bs_latlon=bs[order] if bs is not None else None,
        ue_latlon=ue[order] if ue is not None else None,
        ue_latlon_column=columns.ue_gps_name,
        skipped=skipped,
        notes=notes,
    )
