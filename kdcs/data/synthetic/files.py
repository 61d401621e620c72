"""The synthetic scenario's on-disk names and small file writers (DeepSense 6G layout).

CSV cells are paths relative to the AP folder starting with "./"; `unit1_beam_index` is 1-based;
`time_stamp[UTC]` is the UTC time of day as HH-MM-SS.ffffff (DeepSense style, no date).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import scipy.io

from kdcs.data.synthetic.config import CAMERA_SENSOR, GPS_SENSOR, RADAR_SENSOR, SynthConfig
from kdcs.phy.geodesy import east_north_to_latlon
from kdcs.phy.scene import ApPose

TIME_STAMP_FORMAT = "HH-MM-SS.ffffff (UTC time of day)"
# Ground truth beside the AP folders; JSON, not CSV, so a reader never mistakes the root for a scenario.
TRUTH_FILE = "ground_truth.json"
BS_GPS_PATH = "./unit1/GPS_data/gps_location.txt"
# MAT headers carry a creation date; a fixed text keeps the files byte-identical across runs.
_MAT_HEADER = b"MATLAB 5.0 MAT-file, written by kdcs.data.synthetic"


def ap_name(ap_number: int) -> str:
    """Folder name of the AP with 0-based number ap_number: ap1, ap2, ..."""
    return f"ap{ap_number + 1}"


def csv_columns(kit: tuple[str, ...]) -> list[str]:
    """The CSV columns an AP with this sensor kit writes, in DeepSense order."""
    columns = ["index"]
    columns += ["unit1_rgb"] if CAMERA_SENSOR in kit else []
    columns += ["unit1_radar"] if RADAR_SENSOR in kit else []
    columns += ["unit1_pwr_60ghz"]
    columns += ["unit1_loc", "unit2_loc", "unit2_loc_cal"] if GPS_SENSOR in kit else []
    return columns + ["unit1_beam_index", "seq_index", "time_stamp[UTC]"]


def format_time_stamp(seconds_of_day: float) -> str:
    """UTC time of day as HH-MM-SS.ffffff, e.g. 39600.5 -> "11-00-00.500000"."""
    micros = int(round(seconds_of_day * 1e6))
    seconds, micro = divmod(micros, 1_000_000)
    return f"{seconds // 3600:02d}-{seconds // 60 % 60:02d}-{seconds % 60:02d}.{micro:06d}"


def mat_bytes(cube: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, {"data": cube})
    raw = bytearray(buffer.getvalue())
    raw[:116] = _MAT_HEADER.ljust(116)  # the 116-byte descriptive text of the MAT-5 header
    return bytes(raw)


def write_latlon(path: Path, latlon: np.ndarray) -> None:
    path.write_text(f"{latlon[0]:.9f}\n{latlon[1]:.9f}\n")


def write_gps_files(
    folder: Path, index: int, raw_latlon: np.ndarray, cal_latlon: np.ndarray
) -> dict[str, str]:
    """Write the vehicle's raw and calibrated fixes of one sample; return the three GPS CSV cells."""
    cells = {
        "unit1_loc": BS_GPS_PATH,
        "unit2_loc": f"./unit2/GPS_data/gps_location_{index}.txt",
        "unit2_loc_cal": f"./unit2/GPS_data/gps_location_cal_{index}.txt",
    }
    write_latlon(folder / cells["unit2_loc"], raw_latlon)
    write_latlon(folder / cells["unit2_loc_cal"], cal_latlon)
    return cells


def make_folders(build: Path, config: SynthConfig, poses: list[ApPose]) -> None:
    """Create every AP folder and write the per-AP constant files (the AP's own GPS position)."""
    origin = np.asarray(config.origin_latlon_deg)
    for k, pose in enumerate(poses):
        kit = config.kit(k)
        unit1 = build / ap_name(k) / "unit1"
        (unit1 / "mmWave_data").mkdir(parents=True)
        if CAMERA_SENSOR in kit:
            (unit1 / "camera_data").mkdir()
        if RADAR_SENSOR in kit:
            (unit1 / "radar_data").mkdir()
        if GPS_SENSOR in kit:
            (unit1 / "GPS_data").mkdir()
            (build / ap_name(k) / "unit2" / "GPS_data").mkdir(parents=True)
            position = config.world_east_north(pose.position_m[:2])
            write_latlon(build / ap_name(k) / BS_GPS_PATH, east_north_to_latlon(origin, position))


def write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))
