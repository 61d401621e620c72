"""The manifest.json of a synthetic scenario: every parameter, the AP list and the counts."""

from __future__ import annotations

import numpy as np

import kdcs
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
            "config": config.to_dict(),
        }
    )
