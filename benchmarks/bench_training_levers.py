"""What each training-speed lever buys: paper-teacher and paper-student, levers added one at a time.

Run: .venv/bin/python benchmarks/bench_training_levers.py [--threads 2] [--steps 8] [--sizes 64 224]
                                                           [--cpu-time] [--compile] [--json out.json]

Same step and layout as bench_training.py (forward + backward + Adam, batch 32, L=8, J=3, camera
motion masks, median of interleaved steps). Rows, cumulative down to "fast path":

  folded fp32             kdcs's forward with the reference's layer order (ReLU before max-pool)
  + max-pool before ReLU  the same function, ReLU on 4x fewer elements
  + channels-last         NHWC weights and activations
  + bf16 autocast         as autocast leaves it (spatial gate in bf16, plain strided convs)
  + spatial gate fp32     the 1-output-channel 7x7 conv of the teacher's attention in float32 NCHW
  + fp32 weight grads     the student's strided convs take their weight gradient in float32
  + masks straight to bf16  = the fast path the trainer runs by default
Then variants that were measured and not kept: the fast path on 1 thread (when --threads > 1), the encoder
run in tiles of B frames (one slot at a time; changes the BatchNorm statistics), and with
--compile, torch.compile on top (first-step compile time reported apart).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
import types
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import torch  # noqa: E402
from bench_training import BATCH, CLOCK, TARGET_ROWS, Variant, fresh_model, throughput  # noqa: E402
from torch import nn  # noqa: E402

from kdcs.distill.fast_path import use_memory_format  # noqa: E402
from kdcs.eval.complexity import example_batch  # noqa: E402
from kdcs.models.encoders.conv_attention import SpatialAttention  # noqa: E402
from kdcs.models.encoders.float32_grad_conv import Float32GradConv2d  # noqa: E402
from kdcs.models.encoders.image import ImageEncoder  # noqa: E402

LEVERS = (
    "folded fp32",
    "+ max-pool before ReLU",
    "+ channels-last",
    "+ bf16 autocast",
    "+ spatial gate fp32",
    "+ fp32 weight grads",
    "+ masks straight to bf16",
)


def relu_before_pool(model: nn.Module) -> None:
    """Put every (MaxPool2d, ReLU) pair back into the reference's order (same function)."""
    for sequential in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
        for index in range(len(sequential) - 1):
            if isinstance(sequential[index], nn.MaxPool2d) and isinstance(sequential[index + 1], nn.ReLU):
                sequential[index], sequential[index + 1] = sequential[index + 1], sequential[index]


def _plain_spatial_gate(self, feature_map):
    return feature_map * self.gate(feature_map)


def _plain_scale(self, frames):
    return frames.float() / 255.0 if self.modality == "camera" else frames.float()


def undo_levers(model: nn.Module, kept: int) -> nn.Module:
    """The model with the levers after the first `kept` rows of LEVERS switched off."""
    if kept < 2:
        relu_before_pool(model)
    use_memory_format(model, channels_last=kept >= 3)
    for module in model.modules():
        if kept < 5 and isinstance(module, SpatialAttention):
            module.forward = types.MethodType(_plain_spatial_gate, module)
        if kept < 6 and isinstance(module, Float32GradConv2d):
            module.forward = types.MethodType(nn.Conv2d.forward, module)
        if kept < 7 and isinstance(module, ImageEncoder):
            module.scale = types.MethodType(_plain_scale, module)
    return model


class OneThread(Variant):
    def step_seconds(self, batch):
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return super().step_seconds(batch)
        finally:
            torch.set_num_threads(threads)


def tiled(model: nn.Module) -> nn.Module:
    """The model with its encoders called once per slot on [B, ...] (BatchNorm sees B frames)."""

    def encode(self, batch):
        return {
            m: torch.stack([enc(batch[m][:, s]) for s in range(batch[m].shape[1])], dim=1)
            for m, enc in self.encoders.items()
        }

    model.encode = types.MethodType(encode, model)
    return model


def variants_for(architecture: str, size: int, compile_too: bool) -> dict[str, Variant]:
    variants = {}
    for kept, name in enumerate(LEVERS, start=1):
        precision = "bf16" if kept >= 4 else "fp32"
        variants[name] = Variant(undo_levers(fresh_model(architecture, size), kept), precision)
    fast = undo_levers(fresh_model(architecture, size), len(LEVERS))
    if torch.get_num_threads() > 1:
        variants["fast path, 1 thread"] = OneThread(copy.deepcopy(fast), "bf16")
    variants["fast path, encoder in tiles"] = Variant(tiled(copy.deepcopy(fast)), "bf16")
    if compile_too:
        variants["fast path + torch.compile"] = Variant(torch.compile(copy.deepcopy(fast)), "bf16")
    return variants


def measure(architecture: str, size: int, steps: int, compile_too: bool) -> dict:
    variants = variants_for(architecture, size, compile_too)
    config = fresh_model(architecture, size).config
    batch = example_batch(config, batch_size=BATCH)
    batch["target"] = torch.randint(0, config.num_beams, (BATCH, config.num_slots))
    compile_seconds = None
    if compile_too:  # the first call compiles: timed apart, then the warm-up in throughput()
        start = time.perf_counter()
        variants["fast path + torch.compile"].step_seconds(batch)
        compile_seconds = time.perf_counter() - start
    speeds = throughput(variants, batch, steps)
    base = speeds["folded fp32"]
    print(f"\n{architecture} at {size}x{size} (sequences/s, x folded fp32)")
    for name, speed in speeds.items():
        print(f"  {name:30s} {speed:8.1f}  {speed / base:5.2f}x")
    if compile_seconds is not None:
        print(f"  (torch.compile: first step {compile_seconds:.0f} s)")
    return {"architecture": architecture, "size": size, "speeds": speeds, "compile_seconds": compile_seconds}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 224])
    parser.add_argument("--compile", action="store_true", help="also torch.compile (minutes of compiling)")
    parser.add_argument(
        "--cpu-time", action="store_true", help="time by process CPU time (use with --threads 1)"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.cpu_time:
        CLOCK["now"] = time.process_time
    print(
        f"threads {args.threads}, {'CPU' if args.cpu_time else 'wall'} time; load average {os.getloadavg()[0]:.1f} at the start"
    )
    rows = [measure(a, size, args.steps, args.compile) for size in args.sizes for a in TARGET_ROWS]
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    if args.json:
        args.json.write_text(json.dumps({"threads": args.threads, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
