"""Typed configuration of the synthetic multi-AP street scenario (`kdcs data synth`).

Defaults are the default scenario: 4 APs with heterogeneous sensor kits, 120 sequences of
25-45 samples (~4,300 time steps, about 3/4 of DeepSense scenario 9) at DeepSense's ~9 Hz, a
16-element 60 GHz array with a 64-beam codebook, a 320x180 camera, and a radar cube cut to
128 samples x 16 chirps so that disk use (~0.8 GB) and synthesis time stay small.

The radar keeps DeepSense's chirp slope and sample rate, hence its 50 m maximum range and beat
frequency per metre; half its 256 fast-time samples halves the bandwidth (range resolution 0.39 m
instead of 0.2 m), which the data cache does not see: it resizes every range-angle map to 64 range
rows (0.78 m each) anyway. Fast time was cut rather than chirps: static-clutter removal subtracts
the mean over chirps, which dims a car moving 1 m/s radially by 1.9 dB over 16 chirps but by
6.8 dB over 8 (DeepSense's 128: 0.01 dB).

Also here, because they follow from the config alone: the on-disk names (ap folders, CSV columns
per kit, time-stamp format), the sequence plan (lengths, indices, seeds) and the manifest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import kdcs
from kdcs.config import ConfigError
from kdcs.config import to_dict as config_to_dict
from kdcs.phy.array import BeamCodebook, UniformLinearArray
from kdcs.phy.camera import CameraConfig
from kdcs.phy.channel import ChannelConfig
from kdcs.phy.fmcw import FmcwRadarConfig
from kdcs.phy.geodesy import east_north_to_latlon
from kdcs.phy.scene import ApPose, StaticScene
from kdcs.phy.street import StreetConfig
from kdcs.phy.traffic import GpsNoiseConfig, TrafficConfig

CAMERA_SENSOR = "camera"
RADAR_SENSOR = "radar"
GPS_SENSOR = "gps"
SENSORS = (CAMERA_SENSOR, RADAR_SENSOR, GPS_SENSOR)

# Kits of the default scenario, cycled over the APs: ap1 sees everything, the others one sensor each.
DEFAULT_KITS: tuple[tuple[str, ...], ...] = (
    (CAMERA_SENSOR, RADAR_SENSOR, GPS_SENSOR),
    (CAMERA_SENSOR,),
    (RADAR_SENSOR,),
    (GPS_SENSOR,),
)
SECONDS_PER_DAY = 86_400.0
TIME_STAMP_FORMAT = "HH-MM-SS.ffffff (UTC time of day)"
# Ground truth beside the AP folders; JSON, not CSV, so a reader never mistakes the root for a scenario.
TRUTH_FILE = "ground_truth.json"


def _default_codebook() -> BeamCodebook:
    return BeamCodebook(
        UniformLinearArray(16, 0.5, 60e9), num_beams=64, field_of_view_rad=float(np.deg2rad(90.0))
    )


def _default_radar() -> FmcwRadarConfig:
    return FmcwRadarConfig(num_samples=128, num_chirps=16)


@dataclass(frozen=True)
class SynthConfig:
    """Everything that defines a synthetic scenario; the manifest records all of it.

    Parameters
    ----------
    num_aps: number of access points K (each becomes a scenario folder ap1..apK).
    kits: sensor kits; AP k gets kits[k % len(kits)] (sensors from SENSORS). Power and beam are
        always written: every AP has the mmWave array.
    num_sequences: number of vehicle passes.
    sequence_length_range: inclusive (min, max) samples per sequence.
    sample_period_s: time between samples, seconds (DeepSense: 0.111).
    sequence_gap_s: idle time between the end of one sequence and the start of the next, seconds.
    start_time_of_day_s: UTC time of day of the first sample, seconds after midnight.
    origin_latlon_deg: (latitude, longitude) of the local frame's origin, degrees.
    seed: the one seed every random draw derives from.
    codebook: receive array and beam codebook of every AP.
    street, channel, traffic, gps: physics of the scene, the link, the vehicles, the GPS receiver.
    camera: camera intrinsics and JPEG quality; radar: FMCW waveform and cube size.
    """

    num_aps: int = 4
    kits: tuple[tuple[str, ...], ...] = DEFAULT_KITS
    num_sequences: int = 120
    sequence_length_range: tuple[int, int] = (25, 45)
    sample_period_s: float = 0.111
    sequence_gap_s: float = 20.0
    start_time_of_day_s: float = 11 * 3600.0
    origin_latlon_deg: tuple[float, float] = (33.4206, -111.9292)
    seed: int = 0
    codebook: BeamCodebook = field(default_factory=_default_codebook)
    street: StreetConfig = field(default_factory=StreetConfig)
    channel: ChannelConfig = field(default_factory=ChannelConfig)
    traffic: TrafficConfig = field(default_factory=TrafficConfig)
    gps: GpsNoiseConfig = field(default_factory=GpsNoiseConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    radar: FmcwRadarConfig = field(default_factory=_default_radar)

    @classmethod
    def tiny(cls, seed: int = 0) -> SynthConfig:
        """A scenario for tests: 2 APs, 4 sequences of 12 samples, 64x36 camera, 4x32x8 radar.

        Four sequences give a 34/33/33 split two training sequences: one the collaboration's centre
        keeps as its proxy set, one the nodes share."""
        return cls(
            num_aps=2,
            num_sequences=4,
            sequence_length_range=(12, 12),
            seed=seed,
            camera=CameraConfig(width_px=64, height_px=36),
            radar=FmcwRadarConfig(num_samples=32, num_chirps=8),
        )

    def kit(self, ap_number: int) -> tuple[str, ...]:
        """Sensors of the AP with 0-based number ap_number, in SENSORS order."""
        chosen = set(self.kits[ap_number % len(self.kits)])
        return tuple(s for s in SENSORS if s in chosen)

    def validate(self) -> None:
        """Raise ValueError naming the offending key when the config cannot make a scenario."""
        _require(self.num_aps >= 1, "num_aps", f"must be at least 1, got {self.num_aps}")
        _require(self.num_sequences >= 1, "num_sequences", f"must be at least 1, got {self.num_sequences}")
        low, high = self.sequence_length_range
        _require(
            2 <= low <= high,
            "sequence_length_range",
            f"must be (min, max) with 2 <= min <= max, got {low, high}",
        )
        _require(self.sample_period_s > 0, "sample_period_s", f"must be positive, got {self.sample_period_s}")
        _require(self.sequence_gap_s >= 0, "sequence_gap_s", f"must be >= 0, got {self.sequence_gap_s}")
        _require(len(self.kits) >= 1, "kits", "must list at least one kit")
        for k, kit in enumerate(self.kits):
            for sensor in kit:
                _require(
                    sensor in SENSORS, f"kits[{k}]", f"has unknown sensor {sensor!r}; choose from {SENSORS}"
                )
        longest = self.num_sequences * (high * self.sample_period_s + self.sequence_gap_s)
        _require(
            self.start_time_of_day_s + longest < SECONDS_PER_DAY,
            "start_time_of_day_s",
            "plus the scenario's duration must stay within one UTC day (time stamps carry no date)",
        )
        traffic = self.traffic
        _require(
            0 < traffic.speed_min_mps <= traffic.speed_max_mps,
            "traffic.speed_min_mps",
            "must be positive and at most traffic.speed_max_mps",
        )
        _require(self.street.num_lanes >= 1, "street.num_lanes", "must be at least 1")

    def to_dict(self) -> dict:
        """Plain JSON-ready dict of every field (nested configs included, tuples as lists)."""
        return _json_ready(config_to_dict(self))


def parse_kits(text: str) -> tuple[tuple[str, ...], ...]:
    """Kits from a command-line string: APs separated by ",", sensors by "+", "none" for no sensor.

    Example: "camera+radar+gps,camera,radar,gps" -> the default kits; "gps,none" -> (("gps",), ()).
    """
    kits = []
    for k, item in enumerate(text.split(",")):
        sensors = tuple(s.strip() for s in item.split("+") if s.strip() and s.strip() != "none")
        for sensor in sensors:
            _require(sensor in SENSORS, f"kits[{k}]", f"has unknown sensor {sensor!r}; choose from {SENSORS}")
        kits.append(sensors)
    return tuple(kits)


def _require(condition: bool, key: str, reason: str) -> None:
    if not condition:
        raise ConfigError(f"SynthConfig.{key} {reason}.")


def _json_ready(value: object) -> object:
    """Tuples -> lists, numpy scalars and arrays -> Python numbers and lists, recursively."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


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


@dataclass(frozen=True)
class SequencePlan:
    """What one worker synthesises: sequence seq_index (1-based), rows first_index.. (1-based)."""

    seq_index: int
    first_index: int
    num_samples: int
    start_time_s: float  # seconds after the scenario's first sample
    seed: np.random.SeedSequence


def format_time_stamp(seconds_of_day: float) -> str:
    """UTC time of day as HH-MM-SS.ffffff, e.g. 39600.5 -> "11-00-00.500000"."""
    micros = int(round(seconds_of_day * 1e6))
    seconds, micro = divmod(micros, 1_000_000)
    return f"{seconds // 3600:02d}-{seconds // 60 % 60:02d}-{seconds % 60:02d}.{micro:06d}"


def plan_sequences(config: SynthConfig) -> list[SequencePlan]:
    """Lengths, first indices, start times and seeds of every sequence (cheap, in the main process)."""
    plan_seed, sequences_seed = np.random.SeedSequence(config.seed).spawn(2)
    low, high = config.sequence_length_range
    lengths = np.random.default_rng(plan_seed).integers(low, high + 1, size=config.num_sequences)
    plans, first_index, start = [], 1, 0.0
    for s, (length, seed) in enumerate(zip(lengths, sequences_seed.spawn(config.num_sequences), strict=True)):
        plans.append(SequencePlan(s + 1, first_index, int(length), start, seed))
        first_index += int(length)
        start += int(length) * config.sample_period_s + config.sequence_gap_s
    return plans


def build_manifest(
    config: SynthConfig, scene: StaticScene, poses: list[ApPose], sequence_lengths: list[int]
) -> dict:
    """The manifest.json of a scenario: every parameter, the AP list and the counts.

    Parameters
    ----------
    config: the scenario's config; scene, poses: the street and APs built from it.
    sequence_lengths: samples in each sequence, in seq_index order.
    Output: a JSON-ready dict. Positions are local metres (x east, y north, z up) around
    origin_latlon_deg; angles are also given in degrees for people reading the file.
    """
    origin = np.asarray(config.origin_latlon_deg)
    aps = []
    for k, pose in enumerate(poses):
        aps.append(
            {
                "name": ap_name(k),
                "kit": list(config.kit(k)),
                "columns": csv_columns(config.kit(k)),
                "position_m": pose.position_m.tolist(),
                "latlon_deg": east_north_to_latlon(origin, pose.position_m[:2]).tolist(),
                "boresight_azimuth_rad": pose.boresight_azimuth_rad,
                "boresight_azimuth_deg": float(np.rad2deg(pose.boresight_azimuth_rad)),
                "downtilt_rad": pose.downtilt_rad,
            }
        )
    return _json_ready(
        {
            "format": "kdcs synthetic street (DeepSense 6G layout)",
            "kdcs_version": kdcs.__version__,
            "seed": config.seed,
            "time_stamp_format": TIME_STAMP_FORMAT,
            "beam_index_base": 1,
            "power_unit": "mW",
            "ground_truth_file": TRUTH_FILE,
            "counts": {
                "num_aps": config.num_aps,
                "num_sequences": len(sequence_lengths),
                "num_samples": int(sum(sequence_lengths)),
                "sequence_lengths": list(sequence_lengths),
            },
            "aps": aps,
            "codebook": {
                "beam_angles_rad": config.codebook.beam_angles_rad.tolist(),
                "wavelength_m": config.codebook.array.wavelength_m,
            },
            "noise_power_dbm": float(10.0 * np.log10(config.channel.noise_power_mw)),
            "radar": {
                "range_resolution_m": config.radar.range_resolution_m,
                "max_range_m": config.radar.max_range_m,
                "cube_shape": list(config.radar.cube_shape),
            },
            "scene": {
                "road_half_width_m": scene.road_half_width_m,
                "lane_centers_y_m": list(scene.lane_centers_y_m),
                "scatterers": [[*s.position_m.tolist(), s.reflection_coefficient] for s in scene.scatterers],
                "background_boxes": scene.background_boxes.tolist(),
            },
            "config": config.to_dict(),
        }
    )
