"""The manifest.json of a synthetic scenario: every parameter, the AP list and the counts.

`label_physics` names, with units, the physical causes that shape the beam labels (the argmax of
each measured sweep); every value is also under `config`, where a `--set` key changes it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import kdcs
from kdcs.config import ConfigError, from_dict, to_dict
from kdcs.data.synthetic.config import SynthConfig, json_ready
from kdcs.data.synthetic.files import TIME_STAMP_FORMAT, TRUTH_FILE, ap_name, csv_columns
from kdcs.phy.geodesy import east_north_to_latlon
from kdcs.phy.scene import ApPose, StaticScene


def build_manifest(
    config: SynthConfig, scene: StaticScene, poses: list[ApPose], sequence_lengths: list[int]
) -> dict:
    """The manifest.json of a scenario: every parameter, the AP list and the counts.

    Parameters
    ----------
    config: the scenario's config; scene, poses: the street and APs built from it.
    sequence_lengths: samples in each sequence, in seq_index order.
    Output: a JSON-ready dict. AP positions are local metres (x east, y north, z up) around
    origin_latlon_deg, boresights world azimuths (the street frame turned by street_azimuth_rad;
    `scene` stays in the street frame); angles are also given in degrees for people reading the file.
    """
    origin = np.asarray(config.origin_latlon_deg)
    aps = []
    for k, pose in enumerate(poses):
        position = np.append(config.world_east_north(pose.position_m[:2]), pose.position_m[2])
        boresight = pose.boresight_azimuth_rad
        if config.street_azimuth_rad != 0.0:
            boresight = float(np.angle(np.exp(1j * (boresight + config.street_azimuth_rad))))
        aps.append(
            {
                "name": ap_name(k),
                "kit": list(config.kit(k)),
                "columns": csv_columns(config.kit(k)),
                "position_m": position.tolist(),
                "latlon_deg": east_north_to_latlon(origin, position[:2]).tolist(),
                "boresight_azimuth_rad": boresight,
                "boresight_azimuth_deg": float(np.rad2deg(boresight)),
                "downtilt_rad": pose.downtilt_rad,
                "mirrored": config.mirrored_beams,
            }
        )
    return json_ready(
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
            "label_physics": label_physics(config),
            "config": config.to_dict(),
        }
    )


def records_config(manifest_path: Path, config: SynthConfig) -> bool:
    """Whether the manifest at `manifest_path` records `config` (a scenario written with it).

    The recorded config is read back with today's defaults, so a key added since it was written
    counts as its default instead of forcing the scenario to be written again.
    """
    try:
        recorded = json.loads(Path(manifest_path).read_text()).get("config")
        parsed = from_dict(SynthConfig, recorded) if isinstance(recorded, dict) else None
    except (OSError, json.JSONDecodeError, ConfigError):
        return False
    return parsed is not None and json_ready(to_dict(parsed)) == json_ready(to_dict(config))


def label_physics(config: SynthConfig) -> dict:
    """The causes that make the beam labels hard to extrapolate, each with its `config` keys and units.

    Output: {cause: {"what": one sentence, "config_keys": {dotted key: value}}}; key names end in
    their unit (_db, _dbm, _deg, _m, _mps, _mps2, _s) or are counts and probabilities.
    """
    channel, sweep, scattering, traffic = config.channel, config.sweep, config.scattering, config.traffic
    causes = {
        "sweep_measurement_noise": (
            "each beam's power is the mean of M noisy snapshots: near the noise floor neighbouring "
            "beams swap places from sweep to sweep",
            {
                "channel.tx_power_dbm": channel.tx_power_dbm,
                "channel.noise_figure_db": channel.noise_figure_db,
                "channel.bandwidth_hz": channel.bandwidth_hz,
                "sweep.snapshots_per_beam": sweep.snapshots_per_beam,
                "sweep.sweep_duration_s": sweep.sweep_duration_s,
            },
        ),
        "multipath": (
            "diffuse paths around the car inside the line of sight's main lobe (a fresh phase each "
            "sample), plus the street's specular ground, facade and pole paths",
            {
                "scattering.rician_k_factor_db": scattering.rician_k_factor_db,
                "scattering.angle_spread_deg": scattering.angle_spread_deg,
                "scattering.num_paths": scattering.num_paths,
                "channel.ground_reflection_coefficient": channel.ground_reflection_coefficient,
                "channel.facade_reflection_coefficient": channel.facade_reflection_coefficient,
            },
        ),
        "speed_changes": (
            "speeds drift under a correlated random acceleration",
            {
                "traffic.initial_speed_range_mps": traffic.initial_speed_range_mps,
                "traffic.acceleration_noise_std_mps2": traffic.acceleration_noise_std_mps2,
                "traffic.acceleration_correlation_s": traffic.acceleration_correlation_s,
            },
        ),
        "lateral_motion": (
            "lane-keeping wander and lane changes of the transmitting car",
            {
                "traffic.lateral_wander_std_m": traffic.lateral_wander_std_m,
                "traffic.lane_change_probability": traffic.lane_change_probability,
                "traffic.lane_change_duration_s": traffic.lane_change_duration_s,
            },
        ),
        "blockage": (
            "a taller vehicle between AP and car cuts the line of sight and its diffuse paths",
            {
                "channel.blockage_loss_db": channel.blockage_loss_db,
                "traffic.num_distractors_range": traffic.num_distractors_range,
                "traffic.distractor_probabilities": traffic.distractor_probabilities,
            },
        ),
    }
    return {name: {"what": what, "config_keys": keys} for name, (what, keys) in causes.items()}
