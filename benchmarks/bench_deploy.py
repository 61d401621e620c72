"""Deployment benchmarks: per-slot latency of window vs streaming inference, PyTorch vs ONNX Runtime
fp32 vs int8, at batch 1 on one thread; tracker memory; model bytes.

Run: .venv/bin/python benchmarks/bench_deploy.py [--repeats 300] [--json out.json]
Targets (issue 6): a deployable student runs a slot in <= 1 ms on one core with ONNX Runtime, and
streaming is >= 5x faster than recomputing the window. Models are randomly initialised (latency
does not depend on the weights); int8 agreement is therefore measured on random inputs only.
Wall-clock numbers depend on the machine and its load: compare them within one run.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from kdcs.deploy import BeamTracker, TorchStreamingBackend, export_onnx, load_exported  # noqa: E402
from kdcs.eval.complexity import example_batch  # noqa: E402
from kdcs.models import ModelConfig, build_model, count_parameters  # noqa: E402
from kdcs.models.weights import save_model_weights  # noqa: E402

STUDENTS = {
    "ds-student": ModelConfig(architecture="ds-student", image_size=(64, 64)),
    "paper-student": ModelConfig(architecture="paper-student", image_size=(64, 64)),
    "gps-beam-student": ModelConfig(architecture="gps-beam-student"),
    # the paper's input size: per-frame encoding dominates, so streaming pays more than at 64x64
    "ds-student@224": ModelConfig(architecture="ds-student", image_size=(224, 224)),
    "paper-student@224": ModelConfig(architecture="paper-student", image_size=(224, 224)),
}


def timed(call: Callable[[], object], repeats: int, warmup: int = 20) -> dict[str, float]:
    for _ in range(warmup):
        call()
    times = np.empty(repeats)
    for index in range(repeats):
        start = time.perf_counter_ns()
        call()
        times[index] = (time.perf_counter_ns() - start) / 1e6
    return {"median_ms": float(np.median(times)), "p95_ms": float(np.percentile(times, 95))}


def slot_stream(config: ModelConfig, slots: int = 64) -> list[dict[str, np.ndarray]]:
    """`slots` random per-slot observations (numpy, no batch axis)."""
    batch = example_batch(config.__class__(**{**config.__dict__, "history": slots}), 1, seed=7)
    return [{m: x[0, t].numpy() for m, x in batch.items()} for t in range(slots)]


def stepper(tracker: BeamTracker, observations: list) -> Callable[[], object]:
    """A call that feeds the next observation (cycling), the tracker kept full after warm-up."""
    position = [0]

    def step() -> object:
        position[0] = (position[0] + 1) % len(observations)
        return tracker.step(observations[position[0]])

    return step


def tracker_memory(tracker: BeamTracker, observations: list) -> dict[str, float]:
    """Peak Python-heap bytes of 64 steps (tracemalloc; native ONNX Runtime buffers are not seen)."""
    tracemalloc.start()
    for observation in observations:
        tracker.step(observation)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"python_peak_kib": peak / 1024}


def bench_student(name: str, config: ModelConfig, work: Path, repeats: int) -> dict:
    torch.manual_seed(0)
    model = build_model(config).eval()
    save_model_weights(work / f"{name}.safetensors", model)
    metadata = export_onnx(work / f"{name}.safetensors", work / name)
    onnx_model = load_exported(work / name, threads=1)
    window = {m: x.numpy() for m, x in example_batch(model.config, 1).items()}
    window_torch = {m: torch.from_numpy(x) for m, x in window.items()}
    observations = slot_stream(model.config)
    rows = {}
    with torch.inference_mode():
        rows["torch window"] = timed(lambda: model(window_torch), repeats)
    rows["torch stream"] = timed(stepper(BeamTracker(TorchStreamingBackend(model)), observations), repeats)
    for precision in ("fp32", "int8"):
        rows[f"onnx {precision} window"] = timed(lambda p=precision: onnx_model.predict(window, p), repeats)
        tracker = BeamTracker.from_export(work / name, precision=precision, threads=1)
        rows[f"onnx {precision} stream"] = timed(stepper(tracker, observations), repeats)
    memory = tracker_memory(BeamTracker.from_export(work / name, threads=1), observations)
    return {
        "parameters": count_parameters(model),
        "latency": rows,
        "stream_speedup": {
            backend: rows[f"{backend} window"]["median_ms"] / rows[f"{backend} stream"]["median_ms"]
            for backend in ("torch", "onnx fp32", "onnx int8")
        },
        "bytes": metadata["bytes"],
        "parity": metadata["parity"],
        "tracker_memory": memory,
    }


def print_table(results: dict) -> None:
    print(f"{'student':18} {'path':18} {'median ms':>10} {'p95 ms':>9}")
    for name, result in results.items():
        for path, numbers in result["latency"].items():
            print(f"{name:18} {path:18} {numbers['median_ms']:10.3f} {numbers['p95_ms']:9.3f}")
        speedups = ", ".join(f"{k} {v:.1f}x" for k, v in result["stream_speedup"].items())
        sizes = result["bytes"]
        print(f"{name:18} stream speed-up: {speedups}")
        print(
            f"{name:18} bytes fp32 window {sizes['model.onnx']:,} / int8 {sizes['model.int8.onnx']:,}; "
            f"streaming fp32 {sizes['slot_encoder.onnx'] + sizes['window_head.onnx']:,} / int8 "
            f"{sizes['slot_encoder.int8.onnx'] + sizes['window_head.int8.onnx']:,}; "
            f"params {result['parameters']:,}"
        )
        parity = result["parity"]
        print(
            f"{name:18} fp32 max|diff| {parity['fp32_max_abs_diff']:.2e}, int8 top-1 agreement "
            f"{parity['int8_top1_agreement_with_fp32']:.3f} (random inputs); tracker Python peak "
            f"{result['tracker_memory']['python_peak_kib']:.0f} KiB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--students", nargs="*", default=list(STUDENTS))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = {}
    with tempfile.TemporaryDirectory(prefix="kdcs-bench-deploy-") as work:
        for name in args.students:
            results[name] = bench_student(name, STUDENTS[name], Path(work), args.repeats)
    results_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print_table(results)
    print(f"process peak RSS {results_rss:.0f} MiB (torch + onnxruntime + every student above)")
    if args.json is not None:
        args.json.write_text(json.dumps({"students": results, "peak_rss_mib": results_rss}, indent=1))


if __name__ == "__main__":
    main()
