"""Training throughput of teachers and students, and folding time into the batch vs a per-frame loop.

Run: .venv/bin/python benchmarks/bench_training.py [--threads 2] [--steps 20] [--json out.json]
Each row: forward + backward + AdamW step on random inputs in the WindowBatcher layout (64x64, L=8,
J=3, batch 32), median sequences/s over interleaved repeats. The loop variant calls each encoder once
per slot in a Python loop (what the reference code did); everything else is the same model.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from kdcs.eval.complexity import example_batch  # noqa: E402
from kdcs.models import ModelConfig, build_model  # noqa: E402
from kdcs.models.beam_tracking_model import BeamTrackingModel  # noqa: E402

ROWS = {
    "paper-teacher": ("camera_motion",),
    "multimodal-teacher": None,
    "paper-student": ("camera_motion",),
    "ds-student": ("camera_motion",),
    "radar-student": None,
    "gps-beam-student": None,
}


class PerFrameLoop(BeamTrackingModel):
    """The same model with its encoders called slot by slot (the reference's Python loop)."""

    def encode(self, batch):
        embeddings = {}
        for modality, encoder in self.encoders.items():
            inputs = batch[modality]
            slots = [encoder(inputs[:, s]) for s in range(inputs.shape[1])]  # L calls on [B, ...]
            embeddings[modality] = torch.stack(slots, dim=1)  # [B, L, D_m]
        return embeddings


def as_loop(model: BeamTrackingModel) -> PerFrameLoop:
    looped = PerFrameLoop(
        model.config, model.encoders, model.fusion, model.temporal, model.readout, model.classifier
    )
    looped.load_state_dict(model.state_dict())
    return looped


def make(architecture: str, modalities) -> tuple[torch.nn.Module, dict]:
    torch.manual_seed(0)
    config = ModelConfig(architecture=architecture, modalities=modalities)
    model = build_model(config)
    return model, example_batch(model.config, batch_size=32)


def step_seconds(model, batch, optimizer) -> float:
    start = time.perf_counter()
    output = model(batch)
    loss = torch.nn.functional.cross_entropy(output.logits.flatten(0, 1), batch["target"].flatten())
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return time.perf_counter() - start


def throughput(models: dict, batch: dict, steps: int) -> dict[str, float]:
    """Median sequences/s per variant, steps interleaved so machine noise hits all alike."""
    optimizers = {name: torch.optim.AdamW(m.parameters(), lr=1e-3) for name, m in models.items()}
    for name, model in models.items():  # warm-up
        step_seconds(model, batch, optimizers[name])
    times = {name: [] for name in models}
    for _ in range(steps):
        for name, model in models.items():
            times[name].append(step_seconds(model, batch, optimizers[name]))
    size = batch["target"].shape[0]
    return {name: size / statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = []
    for architecture, modalities in ROWS.items():
        model, batch = make(architecture, modalities)
        batch["target"] = torch.randint(0, 64, (32, model.config.horizon + 1))
        variants = (
            {"folded": model, "loop": as_loop(model)}
            if architecture == "paper-teacher"
            else {"folded": model}
        )
        speeds = throughput(variants, batch, args.steps)
        row = {"architecture": architecture, "modalities": list(model.modalities), **speeds}
        results.append(row)
        loop = f"{speeds['loop']:8.0f}   {speeds['folded'] / speeds['loop']:.2f}x" if "loop" in speeds else ""
        print(
            f"{architecture:20s} {'+'.join(model.modalities):38s} {speeds['folded']:8.0f} {loop}", flush=True
        )
    if args.json:
        args.json.write_text(json.dumps({"threads": args.threads, "rows": results}, indent=2))


if __name__ == "__main__":
    print(f"{'architecture':20s} {'inputs':38s} {'seq/s':>8s} {'loop seq/s':>9s} speed-up")
    main()
