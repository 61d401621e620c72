"""Per-sample transforms that turn raw DeepSense files into model-ready arrays.

Pure functions, one per modality, so each is tested on its own and the cache
(`kdcs.data.cache.build`) only orchestrates them:

- camera: JPEG -> grayscale -> resized [H, W] uint8 (DCT-domain downscaling first, which makes
  decoding a 960x540 frame several times faster than a full decode);
- motion masks (the paper's camera preprocessing): blur, absolute difference of consecutive frames,
  threshold at a fraction of that difference image's maximum;
- radar: raw FMCW cube (.mat) or stored range-angle map (.npy) -> resized, median-normalised
  [R, A] float32 map in dB;
- GPS: latitude/longitude of vehicle and base station -> east, north, range, bearing in metres/radians.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io
from PIL import Image
from scipy.ndimage import gaussian_filter

from kdcs.phy.fmcw import range_angle_map
from kdcs.phy.geodesy import latlon_to_east_north

RADAR_KINDS = ("raw_cube", "range_angle")
RADAR_DTYPES = ("float16", "float32")


@dataclass(frozen=True)
class PreprocessConfig:
    """How raw samples become cached arrays. Saved in the cache manifest: any change rebuilds the cache.

    Parameters
    ----------
    camera_size: (H, W) pixels of the cached grayscale frames.
    motion_masks: also cache the paper's binary motion masks beside the raw frames.
    mask_blur_sigma: Gaussian blur sigma in pixels (of the resized frame) applied before differencing.
    mask_threshold: a pixel is "moving" when its blurred absolute difference exceeds this fraction
        of the difference image's maximum (the paper uses 0.1).
    radar_size: (R, A) range bins x angle bins of the cached range-angle map.
    radar_angle_bins: angle-FFT length (zero-padded from the 4 receive antennas) for raw cubes.
    radar_max_range_bins: keep only the first this many range bins before resizing (None = all).
    radar_dtype: "float16" (half the disk and memory) or "float32".
    """

    camera_size: tuple[int, int] = (64, 64)
    motion_masks: bool = True
    mask_blur_sigma: float = 1.0
    mask_threshold: float = 0.1
    radar_size: tuple[int, int] = (64, 64)
    radar_angle_bins: int = 64
    radar_max_range_bins: int | None = None
    radar_dtype: str = "float16"

    def __post_init__(self) -> None:
        # Tuples survive a JSON round trip as lists; normalise so equality works on reload.
        object.__setattr__(self, "camera_size", tuple(int(v) for v in self.camera_size))
        object.__setattr__(self, "radar_size", tuple(int(v) for v in self.radar_size))
        for key in ("camera_size", "radar_size"):
            size = getattr(self, key)
            if len(size) != 2 or min(size) < 1:
                raise ValueError(f"PreprocessConfig.{key} must be two positive integers (H, W), got {size}")
        if not 0.0 < self.mask_threshold < 1.0:
            raise ValueError(f"PreprocessConfig.mask_threshold must lie in (0, 1), got {self.mask_threshold}")
        if self.mask_blur_sigma < 0:
            raise ValueError(f"PreprocessConfig.mask_blur_sigma must be >= 0, got {self.mask_blur_sigma}")
        if self.radar_angle_bins < 1:
            raise ValueError(f"PreprocessConfig.radar_angle_bins must be >= 1, got {self.radar_angle_bins}")
        if self.radar_max_range_bins is not None and self.radar_max_range_bins < 1:
            raise ValueError(
                f"PreprocessConfig.radar_max_range_bins must be >= 1 or None, got {self.radar_max_range_bins}"
            )
        if self.radar_dtype not in RADAR_DTYPES:
            raise ValueError(
                f"PreprocessConfig.radar_dtype must be one of {RADAR_DTYPES}, got {self.radar_dtype!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        out = asdict(self)
        out["camera_size"] = list(self.camera_size)
        out["radar_size"] = list(self.radar_size)
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> PreprocessConfig:
        """Inverse of to_dict; an unknown key is an error naming the key."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown PreprocessConfig key {unknown[0]!r} (known: {sorted(known)})")
        return cls(**values)


# ----------------------------------------------------------------------------------------------- camera


def load_camera_gray(path: str | Path, size: tuple[int, int]) -> np.ndarray:
    """Decode one image to a resized grayscale frame.

    JPEGs are first downscaled in the DCT domain (`Image.draft`) to the smallest power-of-two
    reduction still at least `size`, then resized with PIL's antialiased bilinear filter; the
    aspect ratio is not kept (as in the paper, which squashes 960x540 frames to 224x224).

    Parameters
    ----------
    path: image file (JPEG, or anything PIL reads).
    size: (H, W) of the output in pixels.

    Output: [H, W] uint8 grayscale (ITU-R 601 luma).
    Raises OSError / PIL.UnidentifiedImageError for unreadable or truncated files.
    """
    height, width = size
    with Image.open(path) as image:
        image.draft("L", (width, height))  # no-op for non-JPEG formats
        gray = image.convert("L")  # forces the full decode, so truncated files raise here
        if gray.size != (width, height):
            gray = gray.resize((width, height), Image.Resampling.BILINEAR)
        return np.asarray(gray, dtype=np.uint8).copy()


def motion_masks(frames: np.ndarray, sigma: float = 1.0, threshold: float = 0.1) -> np.ndarray:
    """The paper's binary motion masks for ONE sequence of frames.

    Each frame is blurred (Gaussian, `sigma` pixels, spatial axes only), consecutive blurred frames
    are differenced (absolute value), and a pixel is 1 where that difference exceeds
    `threshold` x the maximum of its own difference image. A difference image that is zero
    everywhere (no motion at all) gives an all-zero mask.

    Call it once per sequence: mask[0] is all zero because the first frame has no predecessor,
    and no difference is ever taken across a sequence boundary.

    Input: frames [T, H, W] uint8 (or any real dtype). Output: [T, H, W] uint8 of 0/1.
    """
    frames = np.asarray(frames)
    if frames.ndim != 3:
        raise ValueError(f"motion_masks expects frames [T, H, W], got shape {frames.shape}")
    masks = np.zeros(frames.shape, dtype=np.uint8)
    if frames.shape[0] < 2:
        return masks
    blurred = gaussian_filter(frames.astype(np.float32), sigma=(0.0, sigma, sigma))  # [T, H, W]
    difference = np.abs(np.diff(blurred, axis=0))  # [T-1, H, W]
    peak = difference.reshape(difference.shape[0], -1).max(axis=1)  # [T-1]
    # Strict '>' keeps an all-zero difference image (peak 0) from becoming an all-ones mask.
    masks[1:] = difference > (threshold * peak)[:, None, None]
    return masks


# ------------------------------------------------------------------------------------------------ radar


def resize_map(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a 2-D float map with PIL's antialiased bilinear filter (area-like when shrinking).

    Input: [R0, A0] real. Output: [R, A] float32 with (R, A) = size.
    """
    values = np.ascontiguousarray(values, dtype=np.float32)
    if values.shape == tuple(size):
        return values.copy()
    image = Image.fromarray(values)  # float32 2-D -> mode "F"
    resized = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.float32).copy()


def read_radar_file(path: str | Path, kind: str, angle_bins: int = 64) -> np.ndarray:
    """Read one radar file and return its range-angle map in dB before resizing.

    kind "raw_cube": MATLAB file with variable `data`, complex cube [rx, samples, chirps]
    (a .npy cube is accepted too), processed by `kdcs.phy.fmcw.range_angle_map`.
    kind "range_angle": .npy holding an already computed [range, angle] dB map.

    Output: [R0, A0] float32 dB, rows = range bins, columns = angle bins.
    """
    path = Path(path)
    if kind not in RADAR_KINDS:
        raise ValueError(f"unknown radar kind {kind!r}; expected one of {RADAR_KINDS}")
    if kind == "raw_cube":
        if path.suffix.lower() == ".npy":
            cube = np.load(path, allow_pickle=False)
        else:
            contents = scipy.io.loadmat(path)
            if "data" not in contents:
                raise ValueError("MATLAB file has no variable 'data'")
            cube = contents["data"]
        return range_angle_map(cube, num_angle_bins=angle_bins)
    values = np.load(path, allow_pickle=False)
    if values.ndim != 2 or not np.issubdtype(values.dtype, np.floating):
        raise ValueError(f"range-angle map must be a 2-D float array, got {values.dtype} {values.shape}")
    return values.astype(np.float32)


def load_radar_map(
    path: str | Path,
    kind: str,
    size: tuple[int, int],
    *,
    angle_bins: int = 64,
    max_range_bins: int | None = None,
) -> np.ndarray:
    """One radar sample as a cached range-angle map.

    Steps: read (see `read_radar_file`), keep the first `max_range_bins` range rows, resize to
    `size`, then subtract the map's median. The median of a range-angle map is its noise floor
    (targets fill few cells), so after this step 0 dB = noise floor and values are comparable
    across frames whatever the receiver gain.

    Output: [R, A] float32, dB relative to the map's median.
    """
    values = read_radar_file(path, kind, angle_bins)
    if not np.all(np.isfinite(values)):
        raise ValueError("radar map holds NaN or infinite values")
    if max_range_bins is not None:
        values = values[:max_range_bins]
    resized = resize_map(values, size)
    return resized - np.float32(np.median(resized))


# -------------------------------------------------------------------------------------------------- GPS


def gps_to_local(bs_latlon: np.ndarray, ue_latlon: np.ndarray) -> np.ndarray:
    """Vehicle position relative to its base station in local metric coordinates.

    Each row uses its own base station as the origin (a scenario usually has one), through
    `kdcs.phy.geodesy.latlon_to_east_north`.

    Input: bs_latlon [N, 2], ue_latlon [N, 2] latitude, longitude in degrees.
    Output: [N, 4] float32: east (m), north (m), range (m, horizontal distance),
        bearing (rad, atan2(north, east): 0 = due east, +pi/2 = due north, counter-clockwise).
    """
    bs = np.asarray(bs_latlon, dtype=np.float64).reshape(-1, 2)
    ue = np.asarray(ue_latlon, dtype=np.float64).reshape(-1, 2)
    if bs.shape != ue.shape:
        raise ValueError(f"bs_latlon {bs.shape} and ue_latlon {ue.shape} must have the same shape")
    east_north = np.zeros_like(ue)
    origins, origin_of_row = np.unique(bs, axis=0, return_inverse=True)
    origin_of_row = origin_of_row.reshape(-1)
    for k, origin in enumerate(origins):
        rows = origin_of_row == k
        east_north[rows] = latlon_to_east_north(origin, ue[rows])
    east, north = east_north[:, 0], east_north[:, 1]
    return np.stack([east, north, np.hypot(east, north), np.arctan2(north, east)], axis=-1).astype(np.float32)
