"""Write a synthetic multi-AP street scenario in the DeepSense 6G on-disk layout, atomically.

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

Sequences are synthesised in parallel (`kdcs.data.synthetic.sequence`).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from kdcs.data.synthetic.config import SynthConfig
from kdcs.data.synthetic.files import TRUTH_FILE, ap_name, csv_columns, make_folders, write_csv
from kdcs.data.synthetic.manifest import build_manifest
from kdcs.data.synthetic.plan import SequencePlan, plan_sequences
from kdcs.data.synthetic.sequence import synthesize_sequence
from kdcs.phy.street import access_point_poses, build_static_scene

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
            results[s] = synthesize_sequence(config, build, plan)
            if progress is not None:
                progress(s + 1, len(plans))
        return results  # type: ignore[return-value]
    context = multiprocessing.get_context("spawn")  # safe with threads and torch in the parent
    with (
        _environment(_WORKER_THREAD_ENV),
        ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool,
    ):
        futures = {pool.submit(synthesize_sequence, config, build, plan): s for s, plan in enumerate(plans)}
        try:
            for done, future in enumerate(as_completed(futures), start=1):
                results[futures[future]] = future.result()
                if progress is not None:
                    progress(done, len(plans))
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)  # fail fast: drop the queued sequences
            raise
    return results  # type: ignore[return-value]


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
        make_folders(build, config, poses)
        results = _run_sequences(config, build, plans, workers, progress)
        for k in range(config.num_aps):
            rows = [row for result in results for row in result["rows"][ap_name(k)]]
            write_csv(build / ap_name(k) / f"{ap_name(k)}.csv", csv_columns(config.kit(k)), rows)
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
