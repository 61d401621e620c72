"""Data-layer benchmarks: synthesis time, prepare throughput and peak memory, batch loading speed.

Run: .venv/bin/python benchmarks/bench_data.py [--quick] [--json out.json]
Prints one table; README quotes it. Targets (issue 2): synth default <= 60 s on 2 cores;
prepare >= 300 samples/s; batches >= 20,000 windows/s; prepare peak memory on a scenario-9-sized
set (6,000 samples of 960x540 JPEGs) < 2 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from kdcs.data.cache.build import prepare  # noqa: E402
from kdcs.data.deepsense.reader import read_scenario, read_scenario_set  # noqa: E402
from kdcs.data.preprocess import PreprocessConfig  # noqa: E402
from kdcs.data.synthetic import SynthConfig, synthesize  # noqa: E402
from kdcs.data.windows import WindowBatcher, WindowSpec, build_windows  # noqa: E402

REAL_FRAMES = REPO.parent / "shared" / "data" / "deepsense" / "scenario5-camera-samples"


def bench_synth(work: Path, quick: bool) -> tuple[dict, Path]:
    config = SynthConfig.tiny() if quick else SynthConfig()
    start = time.perf_counter()
    synthesize(config, work / "synth", workers=2)
    seconds = time.perf_counter() - start
    size = sum(f.stat().st_size for f in (work / "synth").rglob("*") if f.is_file())
    return {"synth_seconds": seconds, "synth_disk_mb": size / 1e6}, work / "synth"


def bench_prepare(root: Path, work: Path) -> tuple[dict, dict]:
    tables = read_scenario_set(root)
    handles, total, seconds = {}, 0, 0.0
    for name, table in tables.items():
        start = time.perf_counter()
        handles[name] = prepare(table, work / "cache" / name, PreprocessConfig(), workers=2)
        seconds += time.perf_counter() - start
        total += len(table)
    return {"prepare_samples": total, "prepare_samples_per_s": total / seconds}, handles


def bench_batches(handle, batch_size: int = 256, repeats: int = 3) -> dict:
    spec = WindowSpec()
    windows = build_windows(np.asarray(handle.arrays["seq_index"]), spec)
    modalities = [m for m in ("camera", "radar", "gps") if m in handle.arrays] + ["beam_history"]
    batcher = WindowBatcher(
        handle, windows, spec, modalities, batch_size, shuffle=True, rng=np.random.default_rng(0)
    )
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        count = sum(batch["target"].shape[0] for batch in batcher)
        best = max(best, count / (time.perf_counter() - start))
    return {"batch_windows_per_s": best, "batch_modalities": "+".join(modalities), "batch_size": batch_size}


def write_frame_scenario(folder: Path, num_samples: int) -> Path:
    """A camera-only DeepSense folder whose rows link to the 8 real 960x540 frames in turn."""
    frames = sorted(REAL_FRAMES.glob("*.jpg"))
    if not frames:
        raise SystemExit(f"real camera samples not found at {REAL_FRAMES}")
    (folder / "unit1" / "camera_data").mkdir(parents=True)
    lines = ["index,unit1_rgb,unit1_beam_index,seq_index"]
    for i in range(num_samples):
        link = folder / "unit1" / "camera_data" / f"image_{i}.jpg"
        link.symlink_to(frames[i % len(frames)])
        lines.append(f"{i + 1},./unit1/camera_data/image_{i}.jpg,{1 + i % 64},{1 + i // 45}")
    (folder / f"{folder.name}.csv").write_text("\n".join(lines) + "\n")
    return folder


def _prepare_child(folder: str, cache_dir: str) -> None:
    """Run in a subprocess so its peak memory (and its workers') is measured alone."""
    table = read_scenario(Path(folder), check_images=False)
    start = time.perf_counter()
    prepare(table, Path(cache_dir), PreprocessConfig(), workers=2)
    seconds = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "parent_peak_mb": own, "largest_worker_peak_mb": children}))


def bench_prepare_memory(work: Path, num_samples: int) -> dict:
    folder = write_frame_scenario(work / "frames960", num_samples)
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(folder), str(work / "frames-cache")],
        check=True,
        capture_output=True,
        text=True,
    )
    child = json.loads(out.stdout.strip().splitlines()[-1])
    return {
        "big_prepare_samples": num_samples,
        "big_prepare_samples_per_s": num_samples / child["seconds"],
        "big_prepare_parent_peak_mb": child["parent_peak_mb"],
        "big_prepare_worker_peak_mb": child["largest_worker_peak_mb"],
        # parent + 2 workers, each at its own peak: an upper bound of the whole job's peak
        "big_prepare_total_peak_mb_bound": child["parent_peak_mb"] + 2 * child["largest_worker_peak_mb"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="tiny scenario, 600 big frames")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _prepare_child(*args.child)
        return
    results: dict = {"cpu_count": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="kdcs-bench-") as tmp:
        work = Path(tmp)
        synth_numbers, root = bench_synth(work, args.quick)
        results.update(synth_numbers)
        prepare_numbers, handles = bench_prepare(root, work)
        results.update(prepare_numbers)
        results.update(bench_batches(handles[sorted(handles)[0]]))
        results.update(bench_prepare_memory(work, 600 if args.quick else 6000))
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def print_table(results: dict) -> None:
    print(f"{'measure':<36} {'value':>12}")
    for key, value in results.items():
        shown = f"{value:,.1f}" if isinstance(value, float) else str(value)
        print(f"{key:<36} {shown:>12}")


if __name__ == "__main__":
    main()
