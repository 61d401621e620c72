"""Synthesise one sequence (one vehicle pass) for every AP and write its per-sample files.

Runs in a worker process. Every random draw comes from a SeedSequence child of the sequence (and
of the AP within it), so the files are identical whatever the worker count.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from kdcs.data.synthetic.config import CAMERA_SENSOR, GPS_SENSOR, RADAR_SENSOR, SynthConfig
from kdcs.data.synthetic.files import ap_name, format_time_stamp, mat_bytes, write_gps_files
from kdcs.data.synthetic.plan import SequencePlan
from kdcs.phy.beam_sweep import measure_beam_sweep
from kdcs.phy.camera import render_frame
from kdcs.phy.channel import propagation_paths
from kdcs.phy.geodesy import east_north_to_latlon
from kdcs.phy.local_scattering import add_local_scattering, draw_cluster
from kdcs.phy.radar_synthesis import synthesize_radar_cube
from kdcs.phy.scene import ApPose, Snapshot, StaticScene
from kdcs.phy.street import access_point_poses, build_static_scene
from kdcs.phy.traffic import gps_error_track, simulate_sequence


@dataclass(frozen=True)
class _SequenceContext:
    """What every AP of one sequence shares while its files are written."""

    config: SynthConfig
    build: Path
    scene: StaticScene
    snapshots: list[Snapshot]
    indices: np.ndarray  # [T] global 1-based sample indices
    seq_index: int
    gps_latlon: dict[str, np.ndarray]  # {"raw", "cal"}: [T, 2] vehicle latitude, longitude


def synthesize_sequence(config: SynthConfig, build: Path, plan: SequencePlan) -> dict:
    """Synthesise and write one sequence for every AP. Runs in a worker process.

    Output: {"rows": {ap name: [CSV row dicts]}, "truth": [truth row dicts]}.
    """
    scene = build_static_scene(config.street)
    poses = access_point_poses(config.num_aps, config.street)
    traffic_seed, *ap_seeds = plan.seed.spawn(1 + config.num_aps)
    motion_seed, gps_seed = traffic_seed.spawn(2)
    snapshots = simulate_sequence(
        config.traffic, scene, plan.num_samples, config.sample_period_s, plan.start_time_s,
        np.random.default_rng(motion_seed),
    )  # fmt: skip
    gps_latlon = _gps_fixes(config, snapshots, np.random.default_rng(gps_seed))
    indices = plan.first_index + np.arange(plan.num_samples)
    context = _SequenceContext(config, build, scene, snapshots, indices, plan.seq_index, gps_latlon)
    truth = [
        _truth_row(int(i), plan.seq_index, snap, config) for i, snap in zip(indices, snapshots, strict=True)
    ]
    rows: dict[str, list[dict]] = {}
    for k, (pose, seed) in enumerate(zip(poses, ap_seeds, strict=True)):
        rows[ap_name(k)], los = _write_ap_sequence(context, k, pose, seed)
        for t, (azimuth, blocked) in enumerate(los):
            truth[t][f"{ap_name(k)}_los_azimuth_rad"] = round(azimuth, 7)
            truth[t][f"{ap_name(k)}_los_blocked"] = int(blocked)
    return {"rows": rows, "truth": truth}


def _gps_fixes(
    config: SynthConfig, snapshots: list[Snapshot], rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Raw and calibrated GPS fixes of the transmitter: {"raw": [T, 2], "cal": [T, 2]} lat, lon degrees.

    The vehicle has one GPS receiver, so every AP that logs GPS writes the same fixes.
    """
    street = np.array([snap.transmitter.position_m[:2] for snap in snapshots])  # [T, 2] street frame
    truth = config.world_east_north(street)  # [T, 2] east, north
    gps, period, count = config.gps, config.sample_period_s, len(snapshots)
    raw = truth + gps_error_track(gps.raw_std_m, gps.raw_correlation_s, gps.white_std_m, count, period, rng)
    cal = truth + gps_error_track(
        gps.calibrated_std_m, gps.calibrated_correlation_s, gps.white_std_m, count, period, rng
    )
    origin = np.asarray(config.origin_latlon_deg)
    return {"raw": east_north_to_latlon(origin, raw), "cal": east_north_to_latlon(origin, cal)}


def _truth_row(index: int, seq_index: int, snap: Snapshot, config: SynthConfig) -> dict:
    tx = snap.transmitter
    east, north = config.world_east_north(tx.position_m[:2])
    return {
        "index": index,
        "seq_index": seq_index,
        "time_s": round(snap.time_s, 6),
        "tx_x_m": round(float(east), 4),
        "tx_y_m": round(float(north), 4),
        "tx_speed_mps": round(float(tx.speed_mps), 4),
        "num_distractors": len(snap.vehicles) - 1,
    }


def _write_ap_sequence(
    context: _SequenceContext, ap_number: int, pose: ApPose, seed: np.random.SeedSequence
) -> tuple[list[dict], list[tuple[float, bool]]]:
    """Write one AP's files for one sequence.

    Output: its CSV rows, and per sample (line-of-sight azimuth rad, line of sight blocked).
    """
    # Every AP draws all three streams whatever its kit, so an AP's power files do not change
    # when its sensors are switched on or off.
    noise_rng, camera_rng, radar_rng, scattering_rng = (np.random.default_rng(s) for s in seed.spawn(4))
    config = context.config
    kit = config.kit(ap_number)
    folder = context.build / ap_name(ap_number)
    array = config.codebook.array
    cluster = draw_cluster(config.scattering, scattering_rng)
    rows, los = [], []
    for t, (snap, index) in enumerate(zip(context.snapshots, context.indices, strict=True)):
        paths = add_local_scattering(
            propagation_paths(pose, snap, context.scene, config.channel, array.carrier_frequency_hz),
            cluster, config.scattering, snap.transmitter.speed_mps, array.wavelength_m, scattering_rng,
        )  # fmt: skip
        los.append((float(paths.azimuth_rad[0]), bool(paths.blocked[0])))
        power = measure_beam_sweep(config.codebook, paths, config.channel, config.sweep, noise_rng)
        if config.mirrored_beams:
            power = power[::-1]
        power_path = f"./unit1/mmWave_data/mmWave_power_{index}.txt"
        # [B] mW, one per line; one %-format of the whole file is ~5x faster than a per-value join
        (folder / power_path).write_text(("%.9e\n" * len(power)) % tuple(power.tolist()))
        row = {"index": int(index), "unit1_pwr_60ghz": power_path}
        if CAMERA_SENSOR in kit:
            frame = render_frame(config.camera, pose, snap, context.scene, camera_rng)
            row["unit1_rgb"] = f"./unit1/camera_data/image_{index}.jpg"
            Image.fromarray(frame).save(
                folder / row["unit1_rgb"], format="JPEG", quality=config.camera.jpeg_quality
            )
        if RADAR_SENSOR in kit:
            cube = synthesize_radar_cube(config.radar, pose, snap, context.scene, radar_rng)
            row["unit1_radar"] = f"./unit1/radar_data/radar_data_{index}.mat"
            (folder / row["unit1_radar"]).write_bytes(mat_bytes(cube.astype(np.complex64)))
        if GPS_SENSOR in kit:
            row.update(
                write_gps_files(
                    folder, int(index), context.gps_latlon["raw"][t], context.gps_latlon["cal"][t]
                )
            )
        row["unit1_beam_index"] = int(np.argmax(power)) + 1
        row["seq_index"] = context.seq_index
        row["time_stamp[UTC]"] = format_time_stamp(config.start_time_of_day_s + snap.time_s)
        rows.append(row)
    return rows, los
