"""Typed configuration of the synthetic multi-AP street scenario (`kdcs data synth`).

Defaults are the default scenario: 4 APs with heterogeneous sensor kits, 120 sequences of
25-45 samples (~4,300 time steps, about 3/4 of DeepSense scenario 9) at DeepSense's ~9 Hz, a
16-element 60 GHz array with a 64-beam codebook, a 320x180 camera, and a radar cube cut to
128 samples x 16 chirps so that disk use (~0.8 GB) and synthesis time stay small.

The beam labels are calibrated to real DeepSense data through physical causes only (the label is
always the argmax of the measured sweep): a low-SNR, noisy 64-beam sweep as in scenario 5's power
files, diffuse multipath around the car, faster traffic with lane changes, and fewer tall vehicles
to block the line of sight. On the default scenario the line through the last 8 beams then scores
top-1 0.24-0.27 and top-5 0.83-0.87 per AP (scenario 9: 0.197 and 0.795), the best beam changes on
78-81% of steps (74.6%) by 1.7-2.0 beams on average (1.73); README "Data" has the table.

The radar keeps DeepSense's chirp slope and sample rate, hence its 50 m maximum range and beat
frequency per metre; half its 256 fast-time samples halves the bandwidth (range resolution 0.39 m
instead of 0.2 m), which the data cache does not see: it resizes every range-angle map to 64 range
rows (0.78 m each) anyway. Fast time was cut rather than chirps: static-clutter removal subtracts
the mean over chirps, which dims a car moving 1 m/s radially by 1.9 dB over 16 chirps but by
6.8 dB over 8 (DeepSense's 128: 0.01 dB).

"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kdcs.config import ConfigError
from kdcs.config import to_dict as config_to_dict
from kdcs.phy.array import BeamCodebook, UniformLinearArray
from kdcs.phy.beam_sweep import BeamSweepConfig
from kdcs.phy.camera import CameraConfig
from kdcs.phy.channel import ChannelConfig
from kdcs.phy.fmcw import FmcwRadarConfig
from kdcs.phy.local_scattering import LocalScatteringConfig
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
    sweep: how an AP measures its 64-beam power sweep (noise averaging, sweep duration).
    scattering: the diffuse multipath around the transmitting car.
    camera: camera intrinsics and JPEG quality; radar: FMCW waveform and cube size.
    street_azimuth_rad: world azimuth (CCW from east) of the street's x axis. The street is built
        along x; GPS fixes, AP positions and the manifest's poses are turned by this into east /
        north (0: the street runs east, as in the default scenario; a fitted site: the real road).
    mirrored_beams: the APs number their beams left to right (as a real AP may): beam b is written
        where kdcs's codebook has beam B-1-b (its power vector reversed).
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
    sweep: BeamSweepConfig = field(default_factory=BeamSweepConfig)
    scattering: LocalScatteringConfig = field(default_factory=LocalScatteringConfig)
    traffic: TrafficConfig = field(default_factory=TrafficConfig)
    gps: GpsNoiseConfig = field(default_factory=GpsNoiseConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    radar: FmcwRadarConfig = field(default_factory=_default_radar)
    street_azimuth_rad: float = 0.0
    mirrored_beams: bool = False

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

    def world_east_north(self, street_xy: np.ndarray) -> np.ndarray:
        """[..., 2] east, north metres of street-frame points [..., 2] (x along the street, y across)."""
        xy = np.asarray(street_xy, dtype=np.float64)
        if self.street_azimuth_rad == 0.0:
            return xy.copy()
        cos, sin = np.cos(self.street_azimuth_rad), np.sin(self.street_azimuth_rad)
        return np.stack([cos * xy[..., 0] - sin * xy[..., 1], sin * xy[..., 0] + cos * xy[..., 1]], axis=-1)

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
        return json_ready(config_to_dict(self))


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


def json_ready(value: object) -> object:
    """Tuples -> lists, numpy scalars and arrays -> Python numbers and lists, recursively."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
