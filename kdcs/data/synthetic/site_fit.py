"""A recorded site's street, AP pose and traffic fitted from its own samples: what its twin is made of.

A synthetic scenario's manifest records every parameter its twin copies. A DeepSense download
records the AP's position (`unit1_loc`), the vehicle's GPS (`unit2_loc`) and the best beams, but no
street. `fit_site` fits what the generator needs from the rows it is given (the centre's own training
sequences, nothing else), in a street frame: x along the road, y across it, origin on the centre
line beside the AP.

- street axis: the axial mean of each pass's net displacement (a road's two directions are one axis);
- lanes: the median across-road offset of each direction's passes. One lane per direction, the
  centre line midway, the lane width their distance; traffic keeps right, as the generator's does;
- AP: at `unit1_loc`; its boresight and beam order from `kdcs.data.ap_geometry.fit_orientation`
  (the GPS bearing against the best beam); its height is not recorded (the generator's default);
- passes: each pass's position along the road at mid-sequence, its length in samples, its speed over
  its first second, the spread of its one-second speed changes and of its across-road wander.

Not observable from one vehicle's GPS and the beams (kept at the generator's defaults): other
vehicles (blockers), the AP's height, the channel and sweep noise. `SiteFit.report` holds each
fitted value and its error against the rows it was fitted on.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kdcs.config import ConfigError
from kdcs.data.ap_geometry import CodebookSpec, GeometryError, fit_orientation, fit_quality
from kdcs.data.prepared import PreparedData
from kdcs.data.synthetic.config import CAMERA_SENSOR, GPS_SENSOR, RADAR_SENSOR, SynthConfig
from kdcs.data.synthetic.files import TRUTH_FILE
from kdcs.phy.ap_geometry import wrap_angle
from kdcs.phy.geodesy import east_north_to_latlon
from kdcs.phy.street import StreetConfig
from kdcs.phy.traffic import TrafficConfig

DEEPSENSE_PERIOD_S = 0.111  # when a download has no time stamps
SPEED_WINDOW_S = 1.0  # speeds are measured over this long: GPS noise over one 0.1 s step is metres/s
MIN_PASS_SAMPLES = 4
STREET_MARGIN_M = 20.0  # street modelled beyond the farthest fix


@dataclass(frozen=True)
class SiteFit:
    """A fitted site: the synthetic config that reproduces it, and what was fitted with its errors.

    span_m: (first, last) position along the street (street frame x, metres) where the fitted passes
    were recorded. A recording is cut to the stretch the AP sees; the generator's passes are not (their
    length does not follow their speed), so a twin keeps only its samples inside this span
    (`inside_span`).
    """

    config: SynthConfig
    span_m: tuple[float, float] = (-np.inf, np.inf)
    report: dict = field(default_factory=dict)


def inside_span(twin_root: Path, site: SynthConfig, span_m: tuple[float, float], index: np.ndarray) -> np.ndarray:
    """[N] bool: whether the twin's vehicle at each sample `index` was inside the recorded span along
    the street, read from the twin's own ground truth (positions around the street frame's origin)."""
    truth = json.loads((Path(twin_root) / TRUTH_FILE).read_text())["columns"]
    world = np.stack([truth["tx_x_m"], truth["tx_y_m"]], axis=-1)  # [N, 2] east, north
    along = world @ np.array([np.cos(site.street_azimuth_rad), np.sin(site.street_azimuth_rad)])
    position = dict(zip(np.asarray(truth["index"], dtype=np.int64).tolist(), along.tolist(), strict=True))
    values = np.array([position[int(i)] for i in np.asarray(index)], dtype=np.float64)
    return (values >= span_m[0]) & (values <= span_m[1])


@dataclass(frozen=True)
class _Pass:
    """One recorded pass in the street frame: along (x) and across (y) positions [T], metres."""

    along: np.ndarray
    across: np.ndarray

    @property
    def direction(self) -> float:
        return 1.0 if self.along[-1] >= self.along[0] else -1.0


def site_rows(data: PreparedData, sequences: np.ndarray) -> np.ndarray:
    """The cache rows of the training split's windows in `sequences` (every row of those passes)."""
    train = data.windows["train"]
    chosen = np.isin(train.seq_ids, np.asarray(sequences))
    seq_index = np.asarray(data.cache.arrays["seq_index"])
    return np.flatnonzero(np.isin(seq_index, np.unique(train.seq_ids[chosen])))


def fit_site(data: PreparedData, rows: np.ndarray, held_out_rows: np.ndarray | None = None) -> SiteFit:
    """The street, AP pose and traffic of the site behind `data`, fitted on cache `rows` only.

    Input: a DeepSense scenario's PreparedData (vehicle GPS and `unit1_loc` needed); rows [N] of its
    cache (whole passes, e.g. `site_rows`); held_out_rows: rows to report the orientation's error
    on as well (not fitted on). GeometryError naming what is missing or unusable.
    """
    table = data.table
    if table.bs_latlon is None or "gps" not in data.cache.arrays:
        raise GeometryError(
            f"{table.root}: a twin of this site needs the AP's and the vehicle's GPS ('unit1_loc', 'unit2_loc')"
        )
    rows = np.asarray(rows, dtype=np.int64)
    gps = np.asarray(data.cache.arrays["gps"], dtype=np.float64)  # east, north from the AP, range, bearing
    seq_index = np.asarray(data.cache.arrays["seq_index"])
    period = _sample_period(table.time_s, seq_index)
    passes = [rows[seq_index[rows] == s] for s in np.unique(seq_index[rows])]
    passes = [r for r in passes if len(r) >= MIN_PASS_SAMPLES]
    if len(passes) < 2:
        raise GeometryError(f"{table.root}: fitting a twin needs at least 2 passes of {MIN_PASS_SAMPLES}+ samples")
    axis, axis_error = _street_axis([gps[r, :2] for r in passes])
    along_axis = np.array([np.cos(axis), np.sin(axis)])
    across_axis = np.array([-np.sin(axis), np.cos(axis)])
    tracks = [_Pass(gps[r, :2] @ along_axis, gps[r, :2] @ across_axis) for r in passes]
    centre, lane_width, lanes = _lanes(tracks, str(table.root))
    codebook = CodebookSpec(num_beams=table.num_beams)
    beams = np.asarray(data.cache.arrays["beam"], dtype=np.int64)
    geometry, orientation = fit_orientation(table.name, np.zeros(3), codebook.build(), gps[rows, 3], beams[rows])
    traffic, motion = _traffic(tracks, period)
    boresight = float(wrap_angle(orientation.boresight_azimuth_rad - axis))
    street = _street(tracks, centre, lane_width, boresight)
    origin = east_north_to_latlon(np.asarray(table.bs_latlon[0], dtype=np.float64), centre * across_axis)
    config = SynthConfig(
        num_aps=1,
        kits=(_kit(data),),
        num_sequences=len(tracks),
        sequence_length_range=(min(len(t.along) for t in tracks), max(len(t.along) for t in tracks)),
        sample_period_s=period,
        origin_latlon_deg=(float(origin[0]), float(origin[1])),
        codebook=codebook.build(),
        street=street,
        traffic=traffic,
        street_azimuth_rad=axis,
        mirrored_beams=orientation.mirrored,
    )
    held_out = {} if held_out_rows is None else fit_quality(geometry, gps[held_out_rows, 3], beams[held_out_rows])
    span = (min(float(t.along.min()) for t in tracks), max(float(t.along.max()) for t in tracks))
    report = {
        "passes": len(tracks),
        "span_m": list(span),
        "samples": int(sum(len(t.along) for t in tracks)),
        "sample_period_s": period,
        "street_azimuth_deg": float(np.rad2deg(axis)),
        "street_axis_rms_error_deg": axis_error,
        "ap_across_road_m": float(-centre),
        "lanes": lanes,
        "orientation": {**orientation.to_dict(), "val": held_out},
        **motion,
    }
    return SiteFit(config, span, report)


def _sample_period(time_s: np.ndarray | None, seq_index: np.ndarray) -> float:
    """The median step between samples of one pass, or DeepSense's 0.111 s without time stamps."""
    if time_s is None:
        return DEEPSENSE_PERIOD_S
    steps = np.diff(np.asarray(time_s, dtype=np.float64))[np.diff(seq_index) == 0]
    return float(np.median(steps)) if steps.size else DEEPSENSE_PERIOD_S


def _street_axis(positions: list[np.ndarray]) -> tuple[float, float]:
    """The road's world azimuth (rad, in (-pi/2, pi/2]) from each pass's net displacement, and the
    RMS angle (degrees) between the passes' displacements and that axis."""
    moves = np.array([p[-1] - p[0] for p in positions])  # [P, 2]
    angles = np.arctan2(moves[:, 1], moves[:, 0])
    lengths = np.linalg.norm(moves, axis=1)
    axis = float(0.5 * np.angle(np.sum(lengths * np.exp(2j * angles))))  # axial mean: a road has no sign
    deviation = 0.5 * wrap_angle(2.0 * (angles - axis))
    return axis, float(np.rad2deg(np.sqrt(np.mean(deviation**2))))


def _lanes(tracks: list[_Pass], where: str) -> tuple[float, float, dict]:
    """The centre line's across-road offset from the AP, the lane width, and the lanes' report.

    One lane per direction of travel, at the median of its passes' median offsets; with one
    direction seen, the other lane is put a default lane width to its left (as traffic keeps right).
    """
    offsets = {sign: [float(np.median(t.across)) for t in tracks if t.direction == sign] for sign in (1.0, -1.0)}
    default_width = StreetConfig().lane_width_m
    lane = {sign: float(np.median(values)) for sign, values in offsets.items() if values}
    forward = lane.get(1.0, lane.get(-1.0, 0.0) - default_width)
    backward = lane.get(-1.0, forward + default_width)
    width = backward - forward
    if width <= 0:
        raise GeometryError(
            f"{where}: the passes drive on the left (the lane of +x traffic lies {-width:.1f} m left of the "
            "other); the twin's street keeps right"
        )
    residuals = [v - lane[sign] for sign, values in offsets.items() for v in values if sign in lane]
    report = {
        "width_m": width,
        "passes_per_direction": {"+x": len(offsets[1.0]), "-x": len(offsets[-1.0])},
        "pass_offset_rms_m": float(np.sqrt(np.mean(np.square(residuals)))),
        "directions_seen": len(lane),
    }
    return (forward + backward) / 2.0, width, report


def _traffic(tracks: list[_Pass], period: float) -> tuple[TrafficConfig, dict]:
    """Speeds, their changes, the wander and where passes are, as the generator's traffic config."""
    step = max(int(round(SPEED_WINDOW_S / period)), 1)
    window_s = step * period
    speeds, changes, starts = [], [], []
    for track in tracks:
        along = track.along
        if len(along) <= step:
            continue
        speed = np.abs(along[step:] - along[:-step]) / window_s  # [T - step] mean speeds over one window
        speeds.append(speed)
        starts.append(float(speed[0]))
        changes.append((speed[step:] - speed[:-step]) / window_s)
    if not speeds:
        raise GeometryError(f"every pass is shorter than {SPEED_WINDOW_S} s: no speed to fit a twin's traffic")
    every = np.concatenate(speeds)
    acceleration = float(np.std(np.concatenate(changes))) if any(c.size for c in changes) else 0.0
    wander = float(np.sqrt(np.mean(np.concatenate([np.square(t.across - np.median(t.across)) for t in tracks]))))
    centres = [float(t.along[len(t.along) // 2]) for t in tracks]
    low, high = float(np.min(every)), float(np.max(every))
    traffic = dataclasses.replace(
        TrafficConfig(),
        speed_min_mps=max(low, 0.1),
        speed_max_mps=max(high, low + 0.1),
        initial_speed_range_mps=(min(starts), max(starts)),
        acceleration_noise_std_mps2=acceleration,
        lateral_wander_std_m=wander,
        lane_change_probability=0.0,  # one lane per direction: nowhere to change to
        pass_center_range_m=(min(centres), max(centres)),
        distractor_speed_range_mps=(min(starts), max(starts)),
    )
    report = {
        "speed_mps": {"min": low, "median": float(np.median(every)), "max": high},
        "initial_speed_range_mps": [min(starts), max(starts)],
        "acceleration_std_mps2": acceleration,
        "lateral_wander_std_m": wander,
        "pass_center_range_m": [min(centres), max(centres)],
    }
    return traffic, report


def _street(tracks: list[_Pass], centre: float, lane_width: float, boresight: float) -> StreetConfig:
    """Two lanes around the centre line, the AP at (0, -centre) looking along `boresight`, the
    buildings just behind it, the street long enough for every fix."""
    default = StreetConfig()
    half_road = lane_width  # two lanes of lane_width
    setback = max(abs(centre) - half_road - default.sidewalk_width_m, 0.0)
    reach = max(float(np.max(np.abs(t.along))) for t in tracks) + STREET_MARGIN_M
    return dataclasses.replace(
        default,
        num_lanes=2,
        lane_width_m=lane_width,
        street_half_length_m=max(default.street_half_length_m, reach),
        ap_setbacks_m=(setback,),
        ap_poses=((0.0, -centre, default.ap_heights_m[0], boresight),),
    )


def _kit(data: PreparedData) -> tuple[str, ...]:
    """The sensors the recorded AP has (its twin renders the same ones)."""
    arrays = data.cache.arrays
    present = {CAMERA_SENSOR: "camera" in arrays, RADAR_SENSOR: "radar" in arrays, GPS_SENSOR: "gps" in arrays}
    kit = tuple(sensor for sensor, here in present.items() if here)
    if not kit:
        raise ConfigError(f"{data.table.root}: the site records no camera, radar or GPS for a twin to render")
    return kit
