"""Each AP's geometry and the shared metric frame, from what a scenario folder holds.

A synthetic scenario's manifest.json records every AP's pose, the codebook and the frame's origin.
A DeepSense scenario records the AP's position (`unit1_loc`) but not where its array looks: the
orientation (world azimuth of the boresight, and whether beam indices run left to right) is fitted
on the training split, by matching the vehicle's GPS bearing against the best beam
(`fit_orientation`), and the fit's error is reported with it.

The world frame is east / north / up in metres around one origin (latitude, longitude): the
synthetic manifest's origin, or for DeepSense the first AP's `unit1_loc`. A vehicle's GPS position,
cached relative to its own AP (`gps` array: east, north, range, bearing), moves into the world frame
by adding that AP's position.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kdcs.config import ConfigError
from kdcs.data.prepared import PreparedData
from kdcs.data.table import SampleTable
from kdcs.phy.ap_geometry import ApGeometry, wrap_angle
from kdcs.phy.array import BeamCodebook, UniformLinearArray
from kdcs.phy.geodesy import latlon_to_east_north
from kdcs.phy.scene import ApPose

MANIFEST = "manifest.json"
# Beam errors above this count as this much in the orientation fit's score: a blocked or reflected
# best beam says nothing about the orientation and must not pull the fit.
FIT_ERROR_CAP_BEAMS = 8
COARSE_STEP_DEG, FINE_STEP_DEG = 1.0, 0.01
# Angles between a GPS bearing and its labelled beam's direction above this count as this much in
# the refinement (a blocked or reflected best beam), degrees: about three beams at the boresight.
FIT_ANGLE_CAP_DEG = 4.0


class GeometryError(ConfigError):
    """A piece of AP geometry needed to map positions to beams is missing or unusable."""


@dataclass(frozen=True)
class CodebookSpec:
    """The codebook assumed for a DeepSense AP (a download does not record it)."""

    num_antennas: int = 16
    spacing_wavelengths: float = 0.5
    carrier_frequency_hz: float = 60e9
    num_beams: int = 64
    field_of_view_deg: float = 90.0

    def build(self) -> BeamCodebook:
        array = UniformLinearArray(self.num_antennas, self.spacing_wavelengths, self.carrier_frequency_hz)
        return BeamCodebook(array, self.num_beams, float(np.deg2rad(self.field_of_view_deg)))


@dataclass(frozen=True)
class OrientationFit:
    """A fitted AP orientation and how well it explains the beams it was fitted on.

    boresight_azimuth_rad: world azimuth of the boresight (CCW from east); mirrored: beam indices
    run left to right; train / val: {"mean_abs_beam_error", "top1", "within1", "median_abs_angle_deg",
    "samples"}, the nearest beam to the GPS bearing against the labelled beam, per split.
    """

    boresight_azimuth_rad: float
    mirrored: bool
    train: dict[str, float]
    val: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "boresight_azimuth_deg": float(np.rad2deg(self.boresight_azimuth_rad)),
            "mirrored": self.mirrored,
            "train": self.train,
            "val": self.val,
        }


def _beam_errors(geometry: ApGeometry, bearing_rad: np.ndarray, beams: np.ndarray) -> np.ndarray:
    return np.abs(geometry.beam_of_world_azimuth(bearing_rad) - beams)


def fit_quality(geometry: ApGeometry, bearing_rad: np.ndarray, beams: np.ndarray) -> dict[str, float]:
    """How well the beam nearest each GPS bearing matches the labelled beams [N] (0-based)."""
    bearing, beams = np.asarray(bearing_rad, dtype=np.float64), np.asarray(beams, dtype=np.int64)
    if bearing.size == 0:
        return {}
    errors = _beam_errors(geometry, bearing, beams)
    pointing = geometry.beam_world_azimuths_rad()[beams]
    return {
        "mean_abs_beam_error": float(errors.mean()),
        "top1": float(np.mean(errors == 0)),
        "within1": float(np.mean(errors <= 1)),
        "median_abs_angle_deg": float(np.rad2deg(np.median(np.abs(wrap_angle(bearing - pointing))))),
        "samples": int(bearing.size),
    }


def fit_orientation(
    name: str,
    position_m: np.ndarray,
    codebook: BeamCodebook,
    bearing_rad: np.ndarray,
    beams: np.ndarray,
    *,
    target_height_m: float = 0.0,
) -> tuple[ApGeometry, OrientationFit]:
    """The boresight azimuth and beam direction that best explain labelled beams from GPS bearings.

    Input: bearing_rad [N] world azimuth of the vehicle seen from the AP (the cached GPS `bearing`),
    beams [N] 0-based best beams of the same samples (training split only).
    First a 1-degree grid over the boresight within 90 degrees of the vehicles' mean bearing, both
    beam orders, scored by mean |nearest beam - label| (each error capped at FIT_ERROR_CAP_BEAMS):
    it picks the beam order and the rough boresight. That score moves in whole beams, so the
    boresight is then refined (0.01 degree steps, +-1 degree) on a continuous one: the mean angle
    between each GPS bearing and its labelled beam's pointing direction, capped at FIT_ANGLE_CAP_DEG.
    Output: the fitted ApGeometry, and its OrientationFit (train quality; val left empty).
    """
    bearing, beams = np.asarray(bearing_rad, dtype=np.float64), np.asarray(beams, dtype=np.int64)
    if bearing.size < 2:
        raise GeometryError(f"{name}: fitting the array orientation needs GPS on at least 2 training samples")
    position = np.asarray(position_m, dtype=np.float64)

    def geometry_at(azimuth: float, mirrored: bool) -> ApGeometry:
        return ApGeometry(name, ApPose(position, float(azimuth)), codebook, mirrored, target_height_m)

    def score(azimuth: float, mirrored: bool) -> float:
        errors = _beam_errors(geometry_at(azimuth, mirrored), bearing, beams)
        return float(np.minimum(errors, FIT_ERROR_CAP_BEAMS).mean())

    # A linear array cannot tell front from back: (azimuth, plain) and (azimuth + pi, mirrored) give
    # the same beams. The AP looks at the street it serves, so the boresight stays within 90 degrees
    # of the vehicles' mean bearing.
    facing = float(np.angle(np.mean(np.exp(1j * bearing))))
    coarse = facing + np.deg2rad(np.arange(-90.0, 90.0 + 1e-9, COARSE_STEP_DEG))
    _, rough, mirrored = min((score(a, m), float(a), m) for m in (False, True) for a in coarse)

    def angle_error(azimuth: float) -> float:
        pointing = geometry_at(azimuth, mirrored).beam_world_azimuths_rad()[beams]
        return float(np.minimum(np.abs(wrap_angle(bearing - pointing)), np.deg2rad(FIT_ANGLE_CAP_DEG)).mean())

    fine = rough + np.deg2rad(np.arange(-COARSE_STEP_DEG, COARSE_STEP_DEG + 1e-9, FINE_STEP_DEG))
    azimuth = float(wrap_angle(fine[int(np.argmin([angle_error(a) for a in fine]))]))
    geometry = geometry_at(azimuth, mirrored)
    return geometry, OrientationFit(azimuth, mirrored, fit_quality(geometry, bearing, beams))


@dataclass(frozen=True)
class WorldFrame:
    """The shared metric frame: east, north (metres) around origin_latlon_deg."""

    origin_latlon_deg: tuple[float, float]

    def position_of(self, latlon_deg: np.ndarray) -> np.ndarray:
        """[..., 2] east, north metres of [..., 2] latitude, longitude degrees."""
        return latlon_to_east_north(np.asarray(self.origin_latlon_deg), latlon_deg)


def read_manifest(scenario_root: Path) -> dict | None:
    """The synthetic manifest beside an AP folder (its parent's manifest.json), or None."""
    for folder in (Path(scenario_root).parent, Path(scenario_root)):
        path = folder / MANIFEST
        if path.is_file():
            return json.loads(path.read_text())
    return None


def manifest_frame(manifest: dict, path: Path) -> WorldFrame:
    origin = manifest.get("config", {}).get("origin_latlon_deg")
    if origin is None:
        raise GeometryError(
            f"{path}: the manifest has no 'config.origin_latlon_deg' (the world frame's origin)"
        )
    return WorldFrame((float(origin[0]), float(origin[1])))


def manifest_geometry(manifest: dict, ap: str, path: Path) -> ApGeometry:
    """ApGeometry of AP `ap` from a synthetic manifest; GeometryError naming what is missing."""
    entries = {entry.get("name"): entry for entry in manifest.get("aps", [])}
    if ap not in entries:
        raise GeometryError(f"{path}: the manifest lists no AP named {ap!r} (has {sorted(entries)})")
    entry = entries[ap]
    for key in ("position_m", "boresight_azimuth_rad"):
        if key not in entry:
            raise GeometryError(
                f"{path}: AP {ap!r} has no '{key}' in the manifest, so its beams cannot be placed"
            )
    config = manifest.get("config", {})
    spec = config.get("codebook")
    if not spec or "array" not in spec:
        raise GeometryError(f"{path}: the manifest has no 'config.codebook' (array and codebook of the APs)")
    array = UniformLinearArray(**spec["array"])
    codebook = BeamCodebook(array, int(spec["num_beams"]), float(spec["field_of_view_rad"]))
    recorded = manifest.get("codebook", {}).get("beam_angles_rad")
    if recorded is not None and not np.allclose(recorded, codebook.beam_angles_rad, atol=1e-9):
        raise GeometryError(f"{path}: 'codebook.beam_angles_rad' disagrees with 'config.codebook'")
    height = float(config.get("traffic", {}).get("transmitter_antenna_height_m", entry["position_m"][2]))
    pose = ApPose(np.asarray(entry["position_m"], dtype=np.float64), float(entry["boresight_azimuth_rad"]))
    return ApGeometry(ap, pose, codebook, mirrored=bool(entry.get("mirrored", False)), target_height_m=height)


def table_frame(table: SampleTable) -> WorldFrame:
    """The world frame of a scenario: its synthetic manifest's origin, else its AP's `unit1_loc`."""
    manifest = read_manifest(table.root)
    if manifest is not None:
        return manifest_frame(manifest, Path(table.root))
    if table.bs_latlon is None:
        raise GeometryError(f"{table.root}: no manifest.json and no 'unit1_loc' column, so no world frame")
    origin = np.asarray(table.bs_latlon[0], dtype=np.float64)
    return WorldFrame((float(origin[0]), float(origin[1])))


def vehicle_world_positions(data: PreparedData, frame: WorldFrame) -> np.ndarray:
    """[N, 2] the vehicle's GPS position per cached row in the world frame (east, north metres).

    The cache holds it relative to the row's own AP (`unit1_loc`); GeometryError without GPS.
    """
    table = data.table
    if "gps" not in data.cache.arrays or table.bs_latlon is None:
        raise GeometryError(f"{table.root}: no vehicle GPS ('unit2_loc' / 'unit1_loc'), so no positions")
    relative = np.asarray(data.cache.arrays["gps"][:, :2], dtype=np.float64)  # [N, 2] east, north from the AP
    return frame.position_of(np.asarray(table.bs_latlon, dtype=np.float64)) + relative


def data_geometry(
    data: PreparedData, frame: WorldFrame | None = None, codebook: CodebookSpec | None = None
) -> tuple[ApGeometry, OrientationFit | None]:
    """The geometry of the AP behind `data`: from its synthetic manifest, or fitted (DeepSense).

    DeepSense: the AP stands at `unit1_loc` in `frame` (default: the table's own); its orientation
    is fitted on the training split's GPS bearings and beams and checked on validation.
    Output: (ApGeometry, the OrientationFit, or None when the manifest gave the orientation).
    """
    table = data.table
    manifest = read_manifest(table.root)
    if manifest is not None:
        return manifest_geometry(manifest, table.name, Path(table.root)), None
    if table.bs_latlon is None:
        raise GeometryError(
            f"{table.root}: no manifest.json and no 'unit1_loc' column: the AP's position is unknown"
        )
    if "gps" not in data.cache.arrays:
        raise GeometryError(
            f"{table.root}: no vehicle GPS ('unit2_loc'), so the array orientation cannot be fitted"
        )
    frame = frame or table_frame(table)
    position = np.append(frame.position_of(np.asarray(table.bs_latlon[0], dtype=np.float64)), 0.0)
    bearing = np.asarray(data.cache.arrays["gps"][:, 3], dtype=np.float64)
    beams = np.asarray(data.cache.arrays["beam"], dtype=np.int64)
    train_rows, val_rows = (np.unique(data.windows[s].target_rows) for s in ("train", "val"))
    geometry, fit = fit_orientation(
        table.name, position, (codebook or CodebookSpec()).build(), bearing[train_rows], beams[train_rows]
    )
    fit = OrientationFit(fit.boresight_azimuth_rad, fit.mirrored, fit.train,
                         fit_quality(geometry, bearing[val_rows], beams[val_rows]))  # fmt: skip
    return geometry, fit
