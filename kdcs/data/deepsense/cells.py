"""Readers and checks for single cells of a DeepSense CSV and the small files they point to.

Each function raises `BadCell` with a reason phrase; the scenario reader adds the CSV file, line and
column to turn it into a `DataError` (or a `SkippedRow` under skip-bad-rows). They are cheap on
purpose: text files are parsed with `str.split` (np.loadtxt is ~20x slower for thousands of tiny
files), images and radar files are only opened far enough to prove they are whole.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image

RAW_CUBE = "raw_cube"  # .mat, variable `data`, [rx, samples, chirps]
RANGE_ANGLE = "range_angle"  # .npy, [range bins, angle bins]
JPEG_END_OF_IMAGE = b"\xff\xd9"
SECONDS_PER_DAY = 86400.0

# DeepSense writes "hh-mm-ss.ffffff" (time of day, UTC), often wrapped as "['...']".
_TIME_OF_DAY = re.compile(r"^(\d{1,2})[-:](\d{1,2})[-:](\d{1,2}(?:\.\d*)?)$")


class BadCell(ValueError):
    """One cell (or the file it names) is unusable; the message is the reason, without location."""


def resolve_cell_path(folder: str, cell: str) -> Path:
    """Absolute path of a path cell such as "./unit1/GPS_data/gps_location.txt".

    Parameters: folder: absolute scenario folder; cell: the CSV cell, relative to that folder.
    """
    text = cell.strip()
    if not text:
        raise BadCell("the cell is empty")
    return Path(os.path.normpath(os.path.join(folder, text)))


def parse_integer(cell: str, what: str) -> int:
    """An integer cell ("12", also "12.0"); `what` names it in the error."""
    text = cell.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise BadCell(f"{what} {cell!r} is not a number") from None
    if not value.is_integer():
        raise BadCell(f"{what} {cell!r} is not a whole number")
    return int(value)


def _read_numbers(path: Path, what: str) -> np.ndarray:
    """[K] float64 numbers of a whitespace-separated text file."""
    try:
        with open(path, "rb") as handle:
            tokens = handle.read().split()
    except FileNotFoundError:
        raise BadCell(f"{what} file {path} does not exist") from None
    except OSError as error:
        raise BadCell(f"{what} file {path} cannot be read ({error.strerror})") from None
    try:
        return np.array([float(token) for token in tokens], dtype=np.float64)
    except ValueError:
        raise BadCell(f"{what} file {path} holds text that is not a number") from None


def read_power_file(path: Path, num_beams: int) -> np.ndarray:
    """Output: [num_beams] float64 received power per beam (linear), checked finite."""
    values = _read_numbers(path, "power")
    if values.shape[0] != num_beams:
        raise BadCell(f"power file {path} holds {values.shape[0]} values, expected {num_beams}")
    if not np.all(np.isfinite(values)):
        bad = int(np.flatnonzero(~np.isfinite(values))[0])
        raise BadCell(f"power file {path} holds a NaN or infinite value (line {bad + 1})")
    return values


def read_latlon_file(path: Path) -> np.ndarray:
    """Output: [2] (latitude, longitude) degrees, from a file of two numbers, one per line."""
    values = _read_numbers(path, "GPS")
    if values.shape[0] != 2:
        raise BadCell(f"GPS file {path} holds {values.shape[0]} numbers, expected latitude and longitude")
    latitude, longitude = values
    if not (abs(latitude) <= 90.0 and abs(longitude) <= 180.0):
        raise BadCell(f"GPS file {path} holds ({latitude}, {longitude}), outside |lat| <= 90, |lon| <= 180")
    return values


def _ends_with_jpeg_end_of_image(path: Path) -> bool:
    """True when the JPEG's last bytes (ignoring zero padding) are the FF D9 marker."""
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        handle.seek(max(handle.tell() - 64, 0))
        tail = handle.read()
    return tail.rstrip(b"\x00\r\n ").endswith(JPEG_END_OF_IMAGE)


def check_image_file(path: Path, open_image: bool) -> None:
    """Check the image exists and, with `open_image`, that PIL opens it and a JPEG is not truncated.

    A full decode is left to the cache: header parsing plus the end marker catch the usual damage
    (zero-length, cut-off downloads, non-image files) at a fraction of the cost.
    """
    if not path.is_file():
        raise BadCell(f"image file {path} does not exist")
    if not open_image:
        return
    try:
        with Image.open(path) as image:
            image_format = image.format
            image.verify()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise BadCell(f"image file {path} cannot be opened as an image ({error})") from None
    if image_format == "JPEG" and not _ends_with_jpeg_end_of_image(path):
        raise BadCell(f"image file {path} is truncated (no JPEG end-of-image marker)")


def _mat_data_shape(path: Path) -> tuple[int, ...]:
    """Shape of variable `data` in a MATLAB file, read from its header without loading it."""
    try:
        variables = scipy.io.whosmat(str(path))
    # scipy raises several unrelated types (ValueError, MatReadError, NotImplementedError for
    # v7.3/HDF5, TypeError) for files it cannot parse; all mean "not a readable .mat file" here.
    except Exception as error:  # noqa: BLE001
        raise BadCell(f"radar file {path} is not a readable MATLAB file ({error})") from None
    shapes = {name: shape for name, shape, _ in variables}
    if "data" not in shapes:
        raise BadCell(f"radar file {path} has no variable 'data' (found {sorted(shapes)})")
    return tuple(int(n) for n in shapes["data"])


def _npy_shape(path: Path) -> tuple[int, ...]:
    """Shape of a .npy array, read through a memory map (no data loaded; pickles refused)."""
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise BadCell(f"radar file {path} is not a readable .npy array ({error})") from None
    if not isinstance(array, np.ndarray):
        raise BadCell(f"radar file {path} is not a single .npy array")
    return tuple(array.shape)


def check_radar_file(path: Path, expected_shape: tuple[int, ...] | None) -> tuple[str, tuple[int, ...]]:
    """Check a radar file's shape; return its kind, RAW_CUBE (.mat) or RANGE_ANGLE (.npy), and its shape.

    Parameters: expected_shape: the exact shape required, or None to accept any 3-D cube
    [rx, samples, chirps] or 2-D map [range, angle].
    """
    suffix = path.suffix.lower()
    if suffix not in (".mat", ".npy"):
        raise BadCell(f"radar file {path} is neither a .mat cube nor a .npy range-angle map")
    if not path.is_file():
        raise BadCell(f"radar file {path} does not exist")
    kind, shape = (RAW_CUBE, _mat_data_shape(path)) if suffix == ".mat" else (RANGE_ANGLE, _npy_shape(path))
    wanted_ndim = 3 if kind == RAW_CUBE else 2
    if len(shape) != wanted_ndim:
        layout = "[rx, samples, chirps]" if kind == RAW_CUBE else "[range, angle]"
        raise BadCell(f"radar file {path} holds shape {shape}, expected a {wanted_ndim}-D {layout} array")
    if expected_shape is not None and shape != tuple(expected_shape):
        raise BadCell(f"radar file {path} holds shape {shape}, expected {tuple(expected_shape)}")
    return kind, shape


def parse_time_stamp(cell: str) -> tuple[float, bool]:
    """Seconds of a time-stamp cell, and whether they are a time of day (True) or absolute (False).

    Accepts DeepSense's "['11-46-20.123456']" / "11-46-20.123456" (also with ':'), giving seconds
    since midnight, and ISO date-times ("2021-07-05T11:46:20.1", naive = UTC), giving Unix seconds.
    """
    text = cell.strip().strip("[]").strip().strip("'\"").strip()
    match = _TIME_OF_DAY.match(text)
    if match:
        hours, minutes, seconds = int(match[1]), int(match[2]), float(match[3])
        if hours < 24 and minutes < 60 and seconds < 61:
            return hours * 3600.0 + minutes * 60.0 + seconds, True
    else:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
            return moment.timestamp(), False
    raise BadCell(f"time stamp {cell!r} is neither hh-mm-ss.ffffff nor an ISO date-time")


def seconds_since_first(seconds: np.ndarray, time_of_day: np.ndarray) -> np.ndarray:
    """[N] seconds since the earliest sample, unwrapping midnight roll-overs of times of day.

    Input: seconds [N] and time_of_day [N] bool, in CSV (recording) order. A time of day that falls
    more than 12 h below its predecessor is taken as the next day.
    """
    seconds = np.asarray(seconds, dtype=np.float64).copy()
    if seconds.size == 0:
        return seconds
    if np.all(time_of_day):
        drops = np.diff(seconds) < -SECONDS_PER_DAY / 2
        seconds[1:] += SECONDS_PER_DAY * np.cumsum(drops)
    return seconds - seconds.min()
