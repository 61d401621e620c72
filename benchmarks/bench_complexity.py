"""Complexity of every zoo architecture: parameters, MACs, bytes, CPU latency (batch 1, one thread).

Run: .venv/bin/python benchmarks/bench_complexity.py [--json out.json]
Counts include the GRU, attention and classifier (the reference code left them out).
Rows at 224x224 reproduce the paper's reference counts (teacher 1,762,458 params, ~18 M MACs per
frame in its CNN; student 172,992 params, ~63 M).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from kdcs.eval.complexity import complexity_report, example_batch  # noqa: E402
from kdcs.models import ModelConfig, build_model  # noqa: E402

ROWS = [
    ("paper-teacher", ("camera_motion",), 64),
    ("multimodal-teacher", None, 64),
    ("paper-student", ("camera_motion",), 64),
    ("ds-student", ("camera_motion",), 64),
    ("radar-student", None, 64),
    ("gps-beam-student", None, 64),
    ("paper-teacher", ("camera_motion",), 224),
    ("paper-student", ("camera_motion",), 224),
    ("ds-student", ("camera_motion",), 224),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.manual_seed(0)
    rows = []
    print(
        f"{'model':28s} {'params':>10s} {'MACs/frame':>11s} {'MACs/inf':>11s} {'fp32 B':>10s} {'int8 B':>10s} {'ms':>7s}"
    )
    for architecture, modalities, size in ROWS:
        model = build_model(
            ModelConfig(architecture=architecture, modalities=modalities, image_size=(size, size))
        ).eval()
        report = complexity_report(model, example_batch(model.config), latency=True)
        row = {"architecture": architecture, "image_size": size, **report}
        rows.append(row)
        macs, sizes = report["macs"], report["bytes"]
        print(
            f"{architecture + f' @{size}':28s} {report['parameters']['deployable']:>10,} {macs['macs_per_frame']:>11,.0f} "
            f"{macs['macs_per_inference']:>11,} {sizes['fp32']:>10,} {sizes['int8']:>10,} {report['latency']['median_ms']:>7.2f}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
