"""Write a synthetic multi-AP street scenario in the DeepSense 6G on-disk layout.

One root holds manifest.json, ground_truth.json (per sample: vehicle position and speed, and per
AP the line-of-sight angle and blockage; JSON so the CSV reader never takes it for a scenario), and
one scenario folder per access point (ap1 .. apK), each with its own CSV, all sharing `index`,
`seq_index` and time stamps:

    <root>/apK/apK.csv
    <root>/apK/unit1/camera_data/image_<index>.jpg
    <root>/apK/unit1/radar_data/radar_data_<index>.mat        variable `data`, complex64 [rx, samples, chirps]
    <root>/apK/unit1/mmWave_data/mmWave_power_<index>.txt     64 received powers, mW, one per line
    <root>/apK/unit1/GPS_data/gps_location.txt                AP latitude, longitude (degrees), one per line
    <root>/apK/unit2/GPS_data/gps_location_<index>.txt        vehicle latitude, longitude (raw GPS)
    <root>/apK/unit2/GPS_data/gps_location_cal_<index>.txt    vehicle latitude, longitude (calibrated)

CSV cells are paths relative to the AP folder starting with "./"; `unit1_beam_index` is 1-based;
`time_stamp[UTC]` is the UTC time of day as HH-MM-SS.ffffff (DeepSense style, no date).
Sequences are synthesised in parallel; every random draw comes from a SeedSequence child of the
sequence (and of the AP within it), so the files are identical whatever the worker count.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import multiprocessing
import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image

from kdcs.data.synthetic_config import (
    CAMERA_SENSOR,
    GPS_SENSOR,
    RADAR_SENSOR,
    TRUTH_FILE,
    SequencePlan,
    SynthConfig,
    ap_name,
    build_manifest,
    csv_columns,
    format_time_stamp,
    plan_sequences,
)
from kdcs.phy.camera import render_frame
from kdcs.phy.channel import beam_powers, channel_from_paths, propagation_paths
from kdcs.phy.geodesy import east_north_to_latlon
from kdcs.phy.radar_synthesis import synthesize_radar_cube
from kdcs.phy.scene import ApPose, Snapshot, StaticScene
from kdcs.phy.street import access_point_poses, build_static_scene
from kdcs.phy.traffic import gps_error_track, simulate_sequence

BS_GPS_PATH = "./unit1/GPS_data/gps_location.txt"
# MAT headers carry a creation date; a fixed text keeps the files byte-identical across runs.
_MAT_HEADER = b"MATLAB 5.0 MAT-file, written by kdcs.data.synthetic"


def _mat_bytes(cube: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, {"data": cube})
    raw = bytearray(buffer.getvalue())
    raw[:116] = _MAT_HEADER.ljust(116)  # the 116-byte descriptive text of the MAT-5 header
    return bytes(raw)


def _write_latlon(path: Path, latlon: np.ndarray) -> None:
    path.write_text(f"{latlon[0]:.9f}\n{latlon[1]:.9f}\n")


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


def _synthesize_sequence(config: SynthConfig, build: Path, plan: SequencePlan) -> dict:
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
    truth = [_truth_row(int(i), plan.seq_index, snap) for i, snap in zip(indices, snapshots, strict=True)]
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
    truth = np.array([snap.transmitter.position_m[:2] for snap in snapshots])  # [T, 2] east, north
    gps, period, count = config.gps, config.sample_period_s, len(snapshots)
    raw = truth + gps_error_track(gps.raw_std_m, gps.raw_correlation_s, gps.white_std_m, count, period, rng)
    cal = truth + gps_error_track(
        gps.calibrated_std_m, gps.calibrated_correlation_s, gps.white_std_m, count, period, rng
    )
    origin = np.asarray(config.origin_latlon_deg)
    return {"raw": east_north_to_latlon(origin, raw), "cal": east_north_to_latlon(origin, cal)}


def _truth_row(index: int, seq_index: int, snap: Snapshot) -> dict:
    tx = snap.transmitter
    return {
        "index": index,
        "seq_index": seq_index,
        "time_s": round(snap.time_s, 6),
        "tx_x_m": round(float(tx.position_m[0]), 4),
        "tx_y_m": round(float(tx.position_m[1]), 4),
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
    noise_rng, camera_rng, radar_rng = (np.random.default_rng(s) for s in seed.spawn(3))
    config = context.config
    kit = config.kit(ap_number)
    folder = context.build / ap_name(ap_number)
    noise_mw = config.channel.noise_power_mw if config.channel.include_noise else 0.0
    array = config.codebook.array
    rows, los = [], []
    for t, (snap, index) in enumerate(zip(context.snapshots, context.indices, strict=True)):
        paths = propagation_paths(pose, snap, context.scene, config.channel, array.carrier_frequency_hz)
        los.append((float(paths.azimuth_rad[0]), bool(paths.blocked[0])))
        power = beam_powers(
            config.codebook, channel_from_paths(array, paths, config.channel), noise_mw, noise_rng
        )
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
            (folder / row["unit1_radar"]).write_bytes(_mat_bytes(cube.astype(np.complex64)))
        if GPS_SENSOR in kit:
            row.update(
                _write_gps_files(
                    folder, int(index), context.gps_latlon["raw"][t], context.gps_latlon["cal"][t]
                )
            )
        row["unit1_beam_index"] = int(np.argmax(power)) + 1
        row["seq_index"] = context.seq_index
        row["time_stamp[UTC]"] = format_time_stamp(config.start_time_of_day_s + snap.time_s)
        rows.append(row)
    return rows, los


def _write_gps_files(
    folder: Path, index: int, raw_latlon: np.ndarray, cal_latlon: np.ndarray
) -> dict[str, str]:
    """Write the vehicle's raw and calibrated fixes of one sample; return the three GPS CSV cells."""
    cells = {
        "unit1_loc": BS_GPS_PATH,
        "unit2_loc": f"./unit2/GPS_data/gps_location_{index}.txt",
        "unit2_loc_cal": f"./unit2/GPS_data/gps_location_cal_{index}.txt",
    }
    _write_latlon(folder / cells["unit2_loc"], raw_latlon)
    _write_latlon(folder / cells["unit2_loc_cal"], cal_latlon)
    return cells


def _make_folders(build: Path, config: SynthConfig, poses: list[ApPose]) -> None:
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
            _write_latlon(build / ap_name(k) / BS_GPS_PATH, east_north_to_latlon(origin, pose.position_m[:2]))


# Workers fill the cores one process each, so BLAS threads inside a worker only oversubscribe them:
# on a busy host a tiny complex matmul then costs milliseconds of thread hand-offs instead of
# microseconds. The variables are read when a worker's numpy loads, i.e. while the pool spawns.
_WORKER_THREAD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@contextlib.contextmanager
def _environment(overrides: dict[str, str]) -> Iterator[None]:
    """Set environment variables (inherited by processes started meanwhile), then restore them."""
    saved = {key: os.environ.get(key) for key in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _run_sequences(
    config: SynthConfig,
    build: Path,
    plans: list[SequencePlan],
    workers: int,
    progress: Callable[[int, int], None] | None,
) -> list[dict]:
    """Synthesise every sequence, in this process (workers == 1) or a spawn process pool."""
    results: list[dict | None] = [None] * len(plans)
    if workers == 1:
        for s, plan in enumerate(plans):
            results[s] = _synthesize_sequence(config, build, plan)
            if progress is not None:
                progress(s + 1, len(plans))
        return results  # type: ignore[return-value]
    context = multiprocessing.get_context("spawn")  # safe with threads and torch in the parent
    with (
        _environment(_WORKER_THREAD_ENV),
        ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool,
    ):
        futures = {pool.submit(_synthesize_sequence, config, build, plan): s for s, plan in enumerate(plans)}
        try:
            for done, future in enumerate(as_completed(futures), start=1):
                results[futures[future]] = future.result()
                if progress is not None:
                    progress(done, len(plans))
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)  # fail fast: drop the queued sequences
            raise
    return results  # type: ignore[return-value]


def _write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _check_destination(out_root: Path, overwrite: bool) -> None:
    if out_root.exists() and not out_root.is_dir():
        raise FileExistsError(f"Synthetic scenario root {out_root} exists and is not a folder.")
    if out_root.is_dir() and any(out_root.iterdir()) and not overwrite:
        raise FileExistsError(
            f"Synthetic scenario root {out_root} is not empty; pass overwrite=True to replace it."
        )


def _publish(build: Path, out_root: Path) -> None:
    """Move the finished build into place; an existing root is swapped out, then deleted."""
    if out_root.exists():
        old = out_root.parent / f"{out_root.name}.old-{os.getpid()}"
        os.replace(out_root, old)
        os.replace(build, out_root)
        shutil.rmtree(old)
    else:
        os.replace(build, out_root)


def synthesize(
    config: SynthConfig,
    out_root: Path,
    *,
    workers: int | None = None,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Synthesise the scenario into out_root, atomically (build in <root>.tmp-<pid>, then rename).

    Parameters
    ----------
    config: the scenario; validated before anything is written.
    out_root: destination folder; must be absent or empty unless overwrite is True.
    workers: processes (None = one per CPU, at most one per sequence; 1 = in this process).
    progress: called as progress(sequences_done, num_sequences).
    Output: the manifest (also written as out_root/manifest.json).
    """
    config.validate()
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    out_root = Path(out_root)
    _check_destination(out_root, overwrite)
    workers = min(workers or os.cpu_count() or 1, config.num_sequences)
    scene = build_static_scene(config.street)
    poses = access_point_poses(config.num_aps, config.street)
    plans = plan_sequences(config)
    out_root.parent.mkdir(parents=True, exist_ok=True)
    build = out_root.parent / f"{out_root.name}.tmp-{os.getpid()}"
    shutil.rmtree(build, ignore_errors=True)
    try:
        _make_folders(build, config, poses)
        results = _run_sequences(config, build, plans, workers, progress)
        for k in range(config.num_aps):
            rows = [row for result in results for row in result["rows"][ap_name(k)]]
            _write_csv(build / ap_name(k) / f"{ap_name(k)}.csv", csv_columns(config.kit(k)), rows)
        truth = [row for result in results for row in result["truth"]]
        columns = {key: [row[key] for row in truth] for key in truth[0]}
        (build / TRUTH_FILE).write_text(json.dumps({"columns": columns}) + "\n")
        manifest = build_manifest(config, scene, poses, [plan.num_samples for plan in plans])
        (build / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        _publish(build, out_root)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    return manifest


def _read_csv(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _line_extrapolation(
    beams: np.ndarray, seq: np.ndarray, history: int, num_beams: int
) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares line through the last `history` beams (same sequence), evaluated one step ahead.

    Input: beams [N] 0-based, seq [N] seq_index (contiguous runs).
    Output: predicted beams [M] (rounded, clipped to 0..num_beams-1) and the true next beams [M].
    """
    predictions, targets = [], []
    cuts = np.flatnonzero(np.diff(seq) != 0) + 1
    for start, stop in zip(np.concatenate([[0], cuts]), np.concatenate([cuts, [len(seq)]]), strict=True):
        for t in range(start, stop - 1):
            past = beams[max(start, t - history + 1) : t + 1].astype(np.float64)
            if len(past) == 1:
                predictions.append(past[0])
            else:
                slope, intercept = np.polyfit(np.arange(len(past)), past, 1)
                predictions.append(intercept + slope * len(past))
            targets.append(beams[t + 1])
    return np.clip(np.rint(predictions), 0, num_beams - 1).astype(np.int64), np.asarray(
        targets, dtype=np.int64
    )


def beam_statistics(beams: np.ndarray, seq_index: np.ndarray, num_beams: int = 64) -> dict[str, float]:
    """Difficulty of one beam sequence set for the simplest trackers.

    Input: beams [N] 0-based optimal beams, seq_index [N] (each sequence one contiguous run).
    Output: beam_change_rate (fraction of consecutive pairs within a sequence whose beam differs),
    repeat_last_top1 / repeat_last_top5 (predict beam t+1 = beam t; "top-5" = within 2 beams),
    mean_abs_beam_step (beams), line_fit_top1 (least-squares line through the last 8 beams).
    """
    same = seq_index[1:] == seq_index[:-1]
    step = np.abs(np.diff(beams))[same]
    line_pred, line_true = _line_extrapolation(beams, seq_index, 8, num_beams)
    return {
        "beam_change_rate": float(np.mean(step != 0)),
        "repeat_last_top1": float(np.mean(step == 0)),
        "repeat_last_top5": float(np.mean(step <= 2)),
        "mean_abs_beam_step": float(np.mean(step)),
        "line_fit_top1": float(np.mean(line_pred == line_true)),
    }


def realism_report(root: Path) -> dict:
    """How hard a written scenario is, per AP, computed from the power files on disk.

    Per AP: the `beam_statistics` of the power-file argmax beams, plus, from the ground truth,
    los_blocked_fraction and geometric_top1 / geometric_top5 (the beam nearest the true
    line-of-sight angle equals the label / is within 2 beams of it: how much geometry alone explains).
    Output: {"num_samples": N, "aps": {name: {statistic: value}}}.
    """
    root = Path(root)
    manifest = json.loads((root / "manifest.json").read_text())
    truth = json.loads((root / manifest["ground_truth_file"]).read_text())["columns"]
    truth_row = {index: row for row, index in enumerate(truth["index"])}
    beam_sines = np.sin(np.asarray(manifest["codebook"]["beam_angles_rad"]))
    report: dict = {"num_samples": manifest["counts"]["num_samples"], "aps": {}}
    for ap in manifest["aps"]:
        folder = root / ap["name"]
        rows = _read_csv(folder / f"{ap['name']}.csv")
        beams = np.array(
            [np.argmax(np.loadtxt(folder / row["unit1_pwr_60ghz"])) for row in rows], dtype=np.int64
        )
        seq = np.array([int(row["seq_index"]) for row in rows])
        order = np.array([truth_row[int(row["index"])] for row in rows])
        los_azimuth = np.asarray(truth[f"{ap['name']}_los_azimuth_rad"])[order]
        geometric = np.abs(np.sin(los_azimuth)[:, None] - beam_sines).argmin(axis=1)
        report["aps"][ap["name"]] = {
            **beam_statistics(beams, seq, len(beam_sines)),
            "los_blocked_fraction": float(np.mean(np.asarray(truth[f"{ap['name']}_los_blocked"])[order])),
            "geometric_top1": float(np.mean(geometric == beams)),
            "geometric_top5": float(np.mean(np.abs(geometric - beams) <= 2)),
        }
    return report
