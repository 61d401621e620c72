"""CPU inference latency of one window (batch 1), the number a single-core edge node would see.

Wall-clock numbers depend on the machine and on its load; report them with the machine and
compare them only within one run.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn


def first_window(batch: Mapping[str, Tensor] | Tensor) -> Any:
    """The batch cut to its first window ([1, ...] for every tensor), so latency is at batch 1."""
    if isinstance(batch, Tensor):
        return batch[:1]
    return {
        name: value[:1] if isinstance(value, Tensor) and value.dim() > 0 else value
        for name, value in batch.items()
    }


def measure_latency(
    model: nn.Module,
    example_batch: Mapping[str, Tensor] | Tensor,
    repeats: int = 50,
    warmup: int = 5,
    threads: int = 1,
) -> dict[str, float]:
    """Median and 95th-percentile wall time of one eval-mode forward at batch 1, in milliseconds.

    Runs under torch.inference_mode on `threads` intra-op threads; the thread count and the
    model's train / eval mode are restored afterwards. `warmup` untimed runs come first (first
    calls allocate memory and pick kernels).

    Output: {"median_ms", "p95_ms"}.
    """
    if repeats < 1 or warmup < 0 or threads < 1:
        raise ValueError(f"need repeats >= 1, warmup >= 0, threads >= 1; got {repeats}, {warmup}, {threads}")
    inputs = first_window(example_batch)
    previous_threads = torch.get_num_threads()
    was_training = model.training
    model.eval()
    torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            for _ in range(warmup):
                model(inputs)
            times_ns = np.empty(repeats, dtype=np.int64)
            for index in range(repeats):
                start = time.perf_counter_ns()
                model(inputs)
                times_ns[index] = time.perf_counter_ns() - start
    finally:
        torch.set_num_threads(previous_threads)
        model.train(was_training)
    times_ms = times_ns / 1e6
    return {"median_ms": float(np.median(times_ms)), "p95_ms": float(np.percentile(times_ms, 95))}
