"""Which CSV columns feed which SampleTable field, and the reader of one CSV row.

`ScenarioColumns` maps DeepSense column names to positions once per file; `RowReader.read` turns
one row's cells into checked values, raising `RowProblem(column, reason)` at the first bad cell.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kdcs.data.deepsense.cells import (
    BadCell,
    check_image_file,
    check_radar_file,
    parse_integer,
    parse_time_stamp,
    read_latlon_file,
    read_power_file,
    resolve_cell_path,
)

INDEX_COLUMN = "index"
SEQ_INDEX_COLUMN = "seq_index"
BEAM_COLUMN = "unit1_beam_index"
POWER_COLUMN = "unit1_pwr_60ghz"
CAMERA_COLUMN = "unit1_rgb"
RADAR_COLUMN = "unit1_radar"
BS_GPS_COLUMN = "unit1_loc"
UE_GPS_COLUMNS = ("unit2_loc_cal", "unit2_loc")  # calibrated first: much more accurate
TIME_COLUMN = "time_stamp[UTC]"
SENSOR_FIELDS = ("camera", "radar", "ue_gps")  # readings a replay can hold or zero when they fail


class RowProblem(Exception):
    """The first bad cell of a row: its column name and the reason (no location)."""

    def __init__(self, column: str, reason: str):
        super().__init__(f"{column}: {reason}")
        self.column = column
        self.reason = reason


@dataclass(frozen=True)
class ScenarioColumns:
    """0-based positions of the columns a scenario has (None = absent)."""

    index: int | None
    seq_index: int | None
    beam: int | None
    power: int | None
    camera: int | None
    radar: int | None
    bs_gps: int | None
    ue_gps: int | None
    ue_gps_name: str | None
    time: int | None
    time_name: str | None

    @classmethod
    def from_header(cls, header: list[str]) -> ScenarioColumns:
        """Match names exactly; empty names are ignored, a repeated name keeps its first position."""
        position: dict[str, int] = {}
        for i, name in enumerate(header):
            if name:
                position.setdefault(name, i)
        ue_name = next((name for name in UE_GPS_COLUMNS if name in position), None)
        time_name = TIME_COLUMN if TIME_COLUMN in position else None
        time_name = time_name or next((n for n in position if n.startswith("time_stamp")), None)
        return cls(
            index=position.get(INDEX_COLUMN),
            seq_index=position.get(SEQ_INDEX_COLUMN),
            beam=position.get(BEAM_COLUMN),
            power=position.get(POWER_COLUMN),
            camera=position.get(CAMERA_COLUMN),
            radar=position.get(RADAR_COLUMN),
            bs_gps=position.get(BS_GPS_COLUMN),
            ue_gps=position.get(ue_name) if ue_name else None,
            ue_gps_name=ue_name,
            time=position.get(time_name) if time_name else None,
            time_name=time_name,
        )


class RowReader:
    """Reads and checks the cells of one row; caches files shared by many rows (the BS location)."""

    def __init__(
        self,
        folder: Path,
        columns: ScenarioColumns,
        check_images: bool,
        expected_radar_shape: tuple[int, ...] | None,
        num_beams: int,
        sensor_cells_may_fail: bool = False,
    ):
        self.folder = os.fspath(Path(folder).resolve())
        self.check_images = check_images
        # a replay keeps a row whose camera, radar or vehicle-GPS cell is bad, that reading missing
        self.sensor_cells_may_fail = sensor_cells_may_fail
        self.failed_cells: Counter[str] = Counter()  # column -> cells kept as missing readings
        self.expected_radar_shape = expected_radar_shape
        self.num_beams = num_beams
        self.radar_kind: str | None = None  # every radar file of a scenario must be the same kind
        self.bs_location_cache: dict[str, np.ndarray] = {}
        self.steps = self._steps(columns)

    def _steps(self, c: ScenarioColumns) -> list[tuple[str, str, int, Callable[[str], object]]]:
        """(field, column name, position, cell parser) for each column present; index first."""
        wanted = [
            ("index", INDEX_COLUMN, c.index, lambda cell: parse_integer(cell, "index")),
            ("seq_index", SEQ_INDEX_COLUMN, c.seq_index, lambda cell: parse_integer(cell, "seq_index")),
            ("beam", BEAM_COLUMN, c.beam, self._beam),
            ("power", POWER_COLUMN, c.power, lambda cell: read_power_file(self._path(cell), self.num_beams)),
            ("camera", CAMERA_COLUMN, c.camera, self._camera),
            ("radar", RADAR_COLUMN, c.radar, self._radar),
            ("bs_gps", BS_GPS_COLUMN, c.bs_gps, self._bs_location),
            ("ue_gps", c.ue_gps_name, c.ue_gps, lambda cell: read_latlon_file(self._path(cell))),
            ("time", c.time_name, c.time, parse_time_stamp),
        ]
        return [
            (field, name, position, parse) for field, name, position, parse in wanted if position is not None
        ]

    def read(self, cells: list[str], default_index: int) -> dict[str, object]:
        """Checked values of one row: {"index": int, "seq_index": int, "beam": 0-based int,
        "power": [num_beams] float64, "camera": Path, "radar": (Path, kind, shape), "bs_gps": [2],
        "ue_gps": [2], "time": (seconds, is_time_of_day)} for the columns present.
        `default_index` is used as the index when the CSV has no index column."""
        fields: dict[str, object] = {"index": default_index}
        for field, column, position, parse in self.steps:
            if position >= len(cells):
                raise RowProblem(column, f"the row has only {len(cells)} cells")
            try:
                fields[field] = parse(cells[position])
            except BadCell as problem:
                if not (self.sensor_cells_may_fail and field in SENSOR_FIELDS):
                    raise RowProblem(column, str(problem)) from None
                fields[field] = self._failed_reading(field, cells[position])
                self.failed_cells[column] += 1
        return fields

    def _failed_reading(self, field: str, cell: str) -> object:
        """What stands for a bad sensor cell: a path that will fail to decode, or NaN coordinates."""
        if field == "ue_gps":
            return np.full(2, np.nan)
        try:
            path = self._path(cell)
        except BadCell:  # an empty cell
            path = Path(self.folder) / "(empty cell)"
        return path if field == "camera" else (path, None, None)  # radar: kind and shape unknown

    def _path(self, cell: str) -> Path:
        return resolve_cell_path(self.folder, cell)

    def _beam(self, cell: str) -> int:
        beam = parse_integer(cell, "beam index")
        if not 1 <= beam <= self.num_beams:
            raise BadCell(f"beam index {beam} is outside 1..{self.num_beams} (1-based on disk)")
        return beam - 1

    def _camera(self, cell: str) -> Path:
        path = self._path(cell)
        check_image_file(path, self.check_images)
        return path

    def _radar(self, cell: str) -> tuple[Path, str, tuple[int, ...]]:
        path = self._path(cell)
        kind, shape = check_radar_file(path, self.expected_radar_shape)
        if self.radar_kind is not None and kind != self.radar_kind:
            raise BadCell(f"radar file {path} is a {kind} file but earlier rows hold {self.radar_kind} files")
        self.radar_kind = kind
        return path, kind, shape

    def _bs_location(self, cell: str) -> np.ndarray:
        # Real scenarios point every row at the same BS file: read each distinct path once.
        key = cell.strip()
        if key not in self.bs_location_cache:
            self.bs_location_cache[key] = read_latlon_file(self._path(cell))
        return self.bs_location_cache[key]
