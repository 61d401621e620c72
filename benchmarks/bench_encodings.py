"""Soft-label encodings judged on logits that nodes really exchange: bytes and KL divergence at T.

Run: .venv/bin/python benchmarks/bench_encodings.py [--work runs/bench-encodings] [--json out.json]
     [--temperature 4] [--proxy-windows 256]

Two students of the default synthetic scenario (AP1) are trained as nodes train them: a GPS +
beam-history student (gps-beam-student) and a camera student (ds-student on camera motion + beam
history), each once for a single epoch (the logits a node uploads after its first round) and once
until validation stops improving (early stopping). Their logits on proxy-like windows (the test
split, which neither training nor model selection saw, thinned evenly to `--proxy-windows` as the
centre thins its proxy set: [P, J+1, 64]) go through every encoding as a real reply payload would.
Per encoding: the bytes of the serialised payload (what the ledger counts), how many times fewer
than fp32's, and the mean KL divergence per slot between the sent and the decoded distributions at
T (the distillation temperature, 4 by default) and at T=1 (payloads encoded for T). The target:
mean KL <= 0.02 nats at T=4 with at most 1/8 of fp32's bytes. Last, the honest bytes arithmetic:
P x (J+1) x 64 dense fp32 logits per exchange against the fp32 weights of three students.
Finished training runs (metrics.json) are reused.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_kd import run, study_data  # noqa: E402

from kdcs.collab.encodings import EncodingOptions, mean_kl  # noqa: E402
from kdcs.collab.payload import Payload  # noqa: E402
from kdcs.config import load_config  # noqa: E402
from kdcs.distill.prediction import predict  # noqa: E402
from kdcs.distill.run_config import RunConfig  # noqa: E402
from kdcs.distill.trained_model import load_trained_model  # noqa: E402
from kdcs.models import ModelConfig, build_model  # noqa: E402

TARGET_KL, TARGET_SHRINK = 0.02, 8.0
STUDENTS = {
    "gps-beam-student": ["model.architecture=gps-beam-student", "train.optim.lr=3e-3", "train.num_threads=1"],
    "camera ds-student": [
        "model.architecture=ds-student",
        "model.modalities=[camera_motion,beam_history]",
        "train.optim.lr=3e-3",
        "train.num_threads=1",
    ],
}
STAGES = {"1 epoch": ["train.epochs=1"], "trained": ["train.epochs=40", "train.patience=5"]}
VARIANTS = [  # (encoding, settings): every encoding, lossy ones at a few sizes
    ("fp32", {}),
    ("fp16", {}),
    ("int8", {}),
    ("topk", {"topk": 8}),
    ("topk", {"topk": 16}),
    ("topk-tail", {"topk": 8}),
    ("topk-tail", {"topk": 16}),
    ("beam-dct", {"dct_coefficients": 8}),
    ("beam-dct", {"dct_coefficients": 12}),
    ("beam-dct", {"dct_coefficients": 24}),
    ("sqrt-lzma", {"sqrt_levels": 16}),
    ("sqrt-lzma", {"sqrt_levels": 24}),
    ("sqrt-lzma", {"sqrt_levels": 32}),
]
WEIGHT_STUDENTS = ("gps-beam-student", "ds-student", "paper-student")


def proxy_logits(folder: Path, data, windows: int) -> np.ndarray:
    """[P, S, C] logits of the run's selected model on the test split, thinned evenly to `windows`."""
    model = load_trained_model(folder)
    logits = predict(model, data.batcher("test", tuple(model.modalities), 256)).logits
    keep = np.unique(np.linspace(0, len(logits) - 1, min(windows, len(logits))).round().astype(np.int64))
    return logits[keep]


def measure(logits: np.ndarray, encoding: str, settings: dict, temperature: float) -> dict:
    """Bytes of a reply payload carrying `logits`, and the KL at T and at 1 of what is decoded."""
    payload = Payload("logits", {"logits": logits}, logit_keys=("logits",))
    options = EncodingOptions(temperature=temperature, **settings)
    start = time.perf_counter()
    data = payload.encode(encoding, options=options)
    encode_ms = (time.perf_counter() - start) * 1e3
    start = time.perf_counter()
    decoded = Payload.decode(data).tensors["logits"]
    decode_ms = (time.perf_counter() - start) * 1e3
    return {
        "encoding": encoding,
        "settings": settings,
        "bytes": len(data),
        "kl_t": mean_kl(logits, decoded, temperature),
        "kl_1": mean_kl(logits, decoded, 1.0),
        "encode_ms": encode_ms,
        "decode_ms": decode_ms,
    }


def logit_sets(work: Path, windows: int) -> dict[str, np.ndarray]:
    """Logits of each student at each stage on the proxy-like windows (training them when needed)."""
    base, data = study_data(work)
    sets = {}
    for student, overrides in STUDENTS.items():
        for stage, schedule in STAGES.items():
            name = f"{student.split()[0]}-{stage.replace(' ', '')}"
            config = load_config(RunConfig(), overrides=[*base, *overrides, *schedule, f"name={name}"])
            metrics = run(config, work / name, data)
            sets[f"{student}, {stage}"] = proxy_logits(work / name, data, windows)
            top1 = metrics.get("test", {}).get("top1", {}).get("mean")
            print(f"{student}, {stage}: test top-1 mean {top1:.3f}, epochs {metrics.get('epochs_run', '?')}")
    return sets


def weights_bytes(architecture: str) -> int:
    """Bytes of a fedavg-style fp32 weights payload of the student (64x64 camera input)."""
    model = build_model(ModelConfig(architecture=architecture))
    state = {key: value.detach().numpy() for key, value in model.state_dict().items()}
    return len(Payload("weights", state).encode("fp32"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, default=Path("runs/bench-encodings"))
    parser.add_argument("--temperature", type=float, default=4.0)
    parser.add_argument("--proxy-windows", type=int, default=256)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = {"temperature": args.temperature, "sets": {}, "weights_bytes": {}}
    for label, logits in logit_sets(args.work, args.proxy_windows).items():
        rows = [measure(logits, encoding, settings, args.temperature) for encoding, settings in VARIANTS]
        results["sets"][label] = {"shape": list(logits.shape), "rows": rows}
        print_set(label, logits, rows, args.temperature)
    results["weights_bytes"] = {name: weights_bytes(name) for name in WEIGHT_STUDENTS}
    print_bytes_arithmetic(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


def print_set(label: str, logits: np.ndarray, rows: list[dict], temperature: float) -> None:
    dense = rows[0]["bytes"]
    p = np.exp(logits / temperature - logits.max(-1, keepdims=True) / temperature)
    p /= p.sum(-1, keepdims=True)
    top8 = np.sort(p, axis=-1)[..., -8:].sum(-1).mean()
    print(
        f"\n{label}: logits {list(logits.shape)}; the top 8 beams hold {top8:.0%} of the mass at T={temperature:g}"
    )
    print(
        f"| encoding | bytes | x fewer than fp32 | mean KL at T={temperature:g} | at T=1 | target met | encode / decode ms |"
    )
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        settings = ", ".join(f"{k.split('_')[-1]}={v}" for k, v in row["settings"].items())
        met = row["kl_t"] <= TARGET_KL and row["bytes"] * TARGET_SHRINK <= dense
        print(
            f"| {row['encoding']}{f' ({settings})' if settings else ''} | {row['bytes']:,} | "
            f"{dense / row['bytes']:.1f} | {row['kl_t']:.4f} | {row['kl_1']:.4f} | {'yes' if met else 'no'} | "
            f"{row['encode_ms']:.1f} / {row['decode_ms']:.1f} |"
        )


def print_bytes_arithmetic(results: dict) -> None:
    label, first = next(iter(results["sets"].items()))
    windows, slots, beams = first["shape"]
    dense = next(row["bytes"] for row in first["rows"] if row["encoding"] == "fp32")
    print(
        f"\nOne exchange of dense fp32 logits: {windows} proxy windows x {slots} slots x {beams} beams x 4 bytes "
        f"= {windows * slots * beams * 4:,} bytes ({dense:,} with the payload header)."
    )
    for name, size in results["weights_bytes"].items():
        print(f"  fp32 weights of {name}: {size:,} bytes ({size / dense:.2f}x the dense logits)")
    for label, entry in results["sets"].items():
        chosen = [
            r for r in entry["rows"] if r["encoding"] == "sqrt-lzma" and r["settings"]["sqrt_levels"] == 24
        ]
        print(f"  sqrt-lzma (L=24) logits of {label}: {chosen[0]['bytes']:,} bytes")


if __name__ == "__main__":
    main()
