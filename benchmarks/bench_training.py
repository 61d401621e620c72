"""Training throughput: kdcs's fast path against the authors' way of running the same model.

Run: .venv/bin/python benchmarks/bench_training.py [--threads 2] [--steps 10] [--sizes 64 224]
                                                    [--others] [--json out.json]

Each cell: forward + backward + Adam step on random inputs in the WindowBatcher layout (L=8, J=3,
batch 32, camera motion masks), median sequences/s over interleaved repeats (one step of every
variant in turn, so the machine's load hits all alike). Variants, all of ONE model (shared weights):

- reference loop: the authors' way. 8 frames give 7 motion masks; J=3 blank frames are appended and
  all 10 frames go through the CNN one slot at a time in a Python loop ([B, 1, H, W] per call,
  float32, NCHW); the GRU runs over the 10 slots and the last J+1 outputs are read.
- folded fp32: kdcs's forward (8 masks, time folded into the batch: one CNN call on [B*L, 1, H, W],
  the J future slots appended after the CNN), float32, NCHW.
- fast path: the same forward as the trainer runs it with its defaults (`train.precision`,
  `train.channels_last`; `kdcs.distill.fast_path`).

The ratio column is fast path / reference loop, the issue's target (>= 2x). `--others` adds the
remaining architectures at 64x64 (folded fp32 vs fast path).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from kdcs.distill.fast_path import (  # noqa: E402
    float32_output,
    resolve_precision,
    training_precision,
    use_memory_format,
)
from kdcs.distill.train_config import TrainConfig  # noqa: E402
from kdcs.eval.complexity import example_batch  # noqa: E402
from kdcs.models import ModelConfig, build_model  # noqa: E402
from kdcs.models.beam_tracking_model import BeamTrackingModel  # noqa: E402

TARGET_ROWS = ("paper-teacher", "paper-student")
OTHER_ROWS = ("multimodal-teacher", "ds-student", "radar-student", "gps-beam-student")
BATCH = 32
# wall clock by default; --cpu-time switches to the process's CPU time (see main)
CLOCK = {"now": time.perf_counter}


class ReferenceLoop(nn.Module):
    """The authors' way of running `model`: 7 masks + J blank frames, one CNN call per frame.

    Input: a batch with "camera_motion" [B, 8, H, W] (kdcs's L=8 masks; the first is dropped, as
    8 frames give the reference 7). Output: logits [B, J+1, num_beams] (float32).
    """

    def __init__(self, model: BeamTrackingModel) -> None:
        super().__init__()
        if model.modalities != ("camera_motion",):
            raise ValueError("the reference loop runs camera-motion-only models")
        self.model = model

    def forward(self, batch):
        model = self.model
        masks = batch["camera_motion"][:, 1:]  # [B, 7, H, W]
        blanks = masks.new_zeros(masks.shape[0], model.config.horizon, *masks.shape[2:])
        frames = torch.cat([masks, blanks], dim=1)  # [B, 10, H, W]
        encoder = model.encoders["camera_motion"]
        embeddings = torch.stack([encoder(frames[:, s]) for s in range(frames.shape[1])], dim=1)
        fused, _ = model.fusion([embeddings])  # [B, 10, D]
        _, attended = model.temporal(model.frame_norm(fused))  # [B, 10, H]
        return model.classifier(attended[:, -model.config.num_slots :])  # [B, J+1, C]


class Variant:
    """One way of running a model: how to build it and how to run a step's forward."""

    def __init__(self, model: nn.Module, precision: str = "fp32", reference: bool = False) -> None:
        self.model, self.precision, self.reference = model, precision, reference
        self.optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step_seconds(self, batch: dict) -> float:
        start = CLOCK["now"]()
        with training_precision(self.precision, "cpu"):
            output = self.model(batch)
        logits = output.float() if self.reference else float32_output(output).logits
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), batch["target"].flatten())
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return CLOCK["now"]() - start


def fresh_model(architecture: str, size: int) -> BeamTrackingModel:
    torch.manual_seed(0)
    return build_model(
        ModelConfig(architecture=architecture, image_size=(size, size), radar_size=(size, size))
    )


def variants_for(architecture: str, size: int, reference: bool) -> dict[str, Variant]:
    defaults = TrainConfig()
    folded = fresh_model(architecture, size)
    fast = use_memory_format(fresh_model(architecture, size), defaults.channels_last)
    variants = {}
    if reference:
        variants["reference loop"] = Variant(ReferenceLoop(fresh_model(architecture, size)), reference=True)
    variants["folded fp32"] = Variant(folded)
    variants["fast path"] = Variant(fast, precision=resolve_precision(defaults.precision, fast, "cpu"))
    return variants


def throughput(variants: dict[str, Variant], batch: dict, steps: int) -> dict[str, float]:
    """Median sequences/s per variant, steps interleaved so machine noise hits all alike."""
    for variant in variants.values():  # warm-up (oneDNN picks its kernels on the first call)
        variant.step_seconds(batch)
    times = {name: [] for name in variants}
    for _ in range(steps):
        for name, variant in variants.items():
            times[name].append(variant.step_seconds(batch))
    return {name: BATCH / statistics.median(t) for name, t in times.items()}


def measure(architecture: str, size: int, steps: int, reference: bool) -> dict:
    variants = variants_for(architecture, size, reference)
    config = variants["folded fp32"].model.config
    batch = example_batch(config, batch_size=BATCH)
    batch["target"] = torch.randint(0, config.num_beams, (BATCH, config.num_slots))
    speeds = throughput(variants, batch, steps)
    base = speeds.get("reference loop", speeds["folded fp32"])
    row = {"architecture": architecture, "size": size, "modalities": list(config.modalities), **speeds}
    row["ratio"] = speeds["fast path"] / base
    cells = " ".join(
        f"{speeds.get(name, float('nan')):9.1f}" for name in ("reference loop", "folded fp32", "fast path")
    )
    print(f"{architecture:20s} {size:4d} {cells} {row['ratio']:7.2f}x", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 224])
    parser.add_argument("--others", action="store_true", help="also the other architectures at 64x64")
    parser.add_argument(
        "--cpu-time",
        action="store_true",
        help="time steps by process CPU time: with --threads 1, robust to other jobs on the machine",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.cpu_time:
        CLOCK["now"] = time.process_time
    defaults = TrainConfig()
    print(
        f"threads {args.threads}, batch {BATCH}, L=8, J=3; fast path = precision {defaults.precision}, "
        f"channels_last {defaults.channels_last}; {'CPU' if args.cpu_time else 'wall'} time; load average {os.getloadavg()[0]:.1f} at the start"
    )
    print(f"{'architecture':20s} {'size':>4s} {'ref loop':>9s} {'folded':>9s} {'fast':>9s}  fast/ref")
    rows = [measure(a, size, args.steps, reference=True) for size in args.sizes for a in TARGET_ROWS]
    if args.others:
        print("(other architectures: ratio = fast / folded fp32)")
        rows += [measure(a, 64, args.steps, reference=False) for a in OTHER_ROWS]
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    if args.json:
        args.json.write_text(json.dumps({"threads": args.threads, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
