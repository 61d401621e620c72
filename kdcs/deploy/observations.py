"""Raw DeepSense samples -> one slot's model inputs, on the fly, exactly as the cache builds them.

The functions are the cache's own (`kdcs.data.preprocess`): the same decode, resize, blur and
threshold, and radar maps rounded to the cache's dtype, so a replayed slot feeds the model the
same numbers a cached window does. Motion masks need the previous frame of the sequence; the
reader keeps it (after a dropped frame, the last decoded one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kdcs.data.preprocess import (
    PreprocessConfig,
    gps_to_local,
    load_camera_gray,
    load_radar_map,
    motion_masks,
)
from kdcs.data.table import SampleTable

# Errors a damaged or missing file may raise while decoding; each becomes a missing observation.
DECODE_ERRORS = (OSError, ValueError, KeyError, IndexError, TypeError, RuntimeError)
NEEDS_TABLE_COLUMN = {
    "camera": "camera_paths",
    "camera_motion": "camera_paths",
    "radar": "radar_paths",
    "gps": "ue_latlon",
}


def _unreadable() -> None:
    raise ValueError("the reading's file could not be read")


@dataclass
class SlotObservationReader:
    """Reads row after row of one table into observations for `modalities`.

    Call `start_sequence()` at every sequence start. `read(row, dropped)` returns modality ->
    per-slot input, with None for a modality in `dropped` or whose file failed to decode
    (counted in `decode_failures`).
    """

    table: SampleTable
    modalities: tuple[str, ...]
    preprocess: PreprocessConfig
    num_beams: int
    decode_failures: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for modality in self.modalities:
            column = NEEDS_TABLE_COLUMN.get(modality)
            if column is not None and getattr(self.table, column) is None:
                raise ValueError(
                    f"scenario {self.table.root} has no {modality!r} data, which the model reads"
                )
        self.decode_failures = {m: 0 for m in self.modalities}
        self.start_sequence()

    def start_sequence(self) -> None:
        self._previous_frame: np.ndarray | None = None
        self._previous_row: int | None = None

    def read(self, row: int, dropped: frozenset[str] = frozenset()) -> dict[str, Any]:
        frame = None
        if "camera" in self.modalities or "camera_motion" in self.modalities:
            if "camera" not in dropped or "camera_motion" not in dropped:
                frame = self._decode(
                    "camera",
                    lambda: load_camera_gray(self.table.camera_paths[row], self.preprocess.camera_size),
                )
        observation: dict[str, Any] = {}
        for modality in self.modalities:
            if modality in dropped:
                observation[modality] = None
            elif modality == "camera":
                observation[modality] = frame
            elif modality == "camera_motion":
                observation[modality] = self._motion_mask(frame)
            else:
                observation[modality] = self._read_other(modality, row)
        if frame is not None:
            self._previous_frame = frame
        self._previous_row = row
        return observation

    def _decode(self, modality: str, load) -> Any:
        try:
            return load()
        except DECODE_ERRORS:
            self.decode_failures[modality] = self.decode_failures.get(modality, 0) + 1
            return None

    def _motion_mask(self, frame: np.ndarray | None) -> np.ndarray | None:
        if frame is None:
            return None
        if self._previous_frame is None:
            return np.zeros_like(frame)  # a sequence's first slot: no predecessor, as in the cache
        pair = np.stack([self._previous_frame, frame])  # [2, H, W]
        return motion_masks(pair, self.preprocess.mask_blur_sigma, self.preprocess.mask_threshold)[1]

    def _read_other(self, modality: str, row: int) -> Any:
        table = self.table
        if modality == "gps":
            if not np.all(np.isfinite(table.ue_latlon[row])):  # its file was unreadable (NaN in the table)
                return self._decode("gps", _unreadable)
            return gps_to_local(table.bs_latlon[row : row + 1], table.ue_latlon[row : row + 1])[0]  # [4]
        if modality == "beam_history":
            first_of_sequence = self._previous_row is None
            return np.int64(self.num_beams if first_of_sequence else table.beam[row - 1])
        config = self.preprocess

        def load_radar() -> np.ndarray:
            radar = load_radar_map(
                table.radar_paths[row],
                table.radar_kind,
                config.radar_size,
                angle_bins=config.radar_angle_bins,
                max_range_bins=config.radar_max_range_bins,
            )
            return radar.astype(config.radar_dtype).astype(np.float32)  # the cache's rounding

        return self._decode("radar", load_radar)
