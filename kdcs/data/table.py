"""The sample table: one validated, in-memory view of a scenario folder.

The DeepSense reader (`kdcs.data.deepsense.reader`) fills it from real downloads and from our
synthetic scenarios alike; the cache (`kdcs.data.cache.build`) turns it into arrays on disk.
Every modality is optional; `beam` and `seq_index` always exist.
Rows are sorted by (seq_index, time or CSV index), so each sequence is one contiguous run.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

NUM_BEAMS_DEFAULT = 64

# Names of the modalities a table may carry (also the cache's array names).
CAMERA = "camera"
RADAR = "radar"
POWER = "power"
GPS = "gps"
MODALITIES = (CAMERA, RADAR, POWER, GPS)


@dataclass(frozen=True)
class SkippedRow:
    """A CSV row left out under skip-bad-rows, with the reason."""

    csv_row: int  # 1-based line number in the CSV file (header is line 1)
    index: str  # the row's `index` cell as written
    column: str
    reason: str


@dataclass
class SampleTable:
    """All samples of one scenario folder (one access point).

    Attributes (N = number of samples):
        root: the scenario folder; name: its name (e.g. "scenario5", "ap1").
        index: [N] int64, the CSV `index` column.
        seq_index: [N] int64.
        beam: [N] int64, 0-based optimal beam.
        beam_source: "unit1_beam_index" or "unit1_pwr_60ghz argmax".
        time_s: [N] float64 seconds since the first sample, or None without time stamps.
        power: [N, num_beams] float32 received power per beam, or None.
        camera_paths: N absolute JPEG paths, or None.
        radar_paths: N absolute paths (.mat raw cubes or .npy range-angle maps), or None.
        radar_kind: "raw_cube" (.mat) or "range_angle" (.npy), or None.
        bs_latlon: [N, 2] base-station latitude, longitude in degrees, or None.
        ue_latlon: [N, 2] vehicle latitude, longitude in degrees, or None.
        ue_latlon_column: which CSV column `ue_latlon` came from (unit2_loc_cal preferred).
        skipped: rows dropped under skip_bad_rows, each with its reason.
        notes: facts the user should know (beam/power mismatches, LiDAR ignored, ...).
    """

    root: Path
    name: str
    index: np.ndarray
    seq_index: np.ndarray
    beam: np.ndarray
    beam_source: str
    num_beams: int = NUM_BEAMS_DEFAULT
    time_s: np.ndarray | None = None
    power: np.ndarray | None = None
    camera_paths: list[Path] | None = None
    radar_paths: list[Path] | None = None
    radar_kind: str | None = None
    bs_latlon: np.ndarray | None = None
    ue_latlon: np.ndarray | None = None
    ue_latlon_column: str | None = None
    skipped: list[SkippedRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.index.shape[0])

    @property
    def modalities(self) -> tuple[str, ...]:
        """Modalities present, in the fixed order of MODALITIES."""
        present = {
            CAMERA: self.camera_paths is not None,
            RADAR: self.radar_paths is not None,
            POWER: self.power is not None,
            GPS: self.ue_latlon is not None and self.bs_latlon is not None,
        }
        return tuple(m for m in MODALITIES if present[m])

    @property
    def sequences(self) -> np.ndarray:
        """Distinct seq_index values in table order."""
        _, first = np.unique(self.seq_index, return_index=True)
        return self.seq_index[np.sort(first)]

    def sequence_bounds(self) -> list[tuple[int, int, int]]:
        """(seq_index, start_row, stop_row) of each contiguous sequence, in table order."""
        return sequence_runs(self.seq_index)

    def without_rows(self, skipped: list[SkippedRow]) -> SampleTable:
        """A copy without the rows whose `index` the skipped rows name, which join `skipped`."""
        keep = ~np.isin(self.index, [int(row.index) for row in skipped])

        def cut(values: np.ndarray | None) -> np.ndarray | None:
            return None if values is None else values[keep]

        def cut_paths(paths: list[Path] | None) -> list[Path] | None:
            return None if paths is None else [p for p, kept in zip(paths, keep, strict=True) if kept]

        return replace(
            self,
            index=self.index[keep],
            seq_index=self.seq_index[keep],
            beam=self.beam[keep],
            time_s=cut(self.time_s),
            power=cut(self.power),
            camera_paths=cut_paths(self.camera_paths),
            radar_paths=cut_paths(self.radar_paths),
            bs_latlon=cut(self.bs_latlon),
            ue_latlon=cut(self.ue_latlon),
            skipped=sorted([*self.skipped, *skipped], key=lambda row: row.csv_row),
            notes=[*self.notes, f"{len(skipped)} rows left out: a file of theirs could not be decoded"],
        )


def sequence_runs(seq_index: np.ndarray) -> list[tuple[int, int, int]]:
    """(seq_id, start_row, stop_row) of each contiguous run of equal seq_index values."""
    seq = np.asarray(seq_index)
    if seq.size == 0:
        return []
    cuts = np.flatnonzero(np.diff(seq) != 0) + 1
    starts = np.concatenate([[0], cuts])
    stops = np.concatenate([cuts, [seq.size]])
    return [(int(seq[a]), int(a), int(b)) for a, b in zip(starts, stops, strict=True)]
