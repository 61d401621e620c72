"""CPU latency at batch 1: positive numbers, and the caller's thread count and model mode restored."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from kdcs.eval.latency import first_window, measure_latency


class RecordingLinear(nn.Linear):
    """Remembers the batch size of every call."""

    def __init__(self) -> None:
        super().__init__(4, 2)
        self.batch_sizes: list[int] = []

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        self.batch_sizes.append(inputs.shape[0])
        return super().forward(inputs)


def test_latency_is_positive_and_p95_not_below_median():
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))

    latency = measure_latency(model, torch.randn(1, 16), repeats=10, warmup=1)

    assert set(latency) == {"median_ms", "p95_ms"}
    assert latency["median_ms"] > 0
    assert latency["p95_ms"] >= latency["median_ms"]


def test_runs_at_batch_one_with_warmup_plus_repeats_calls():
    model = RecordingLinear()

    measure_latency(model, torch.randn(5, 4), repeats=4, warmup=2)

    assert model.batch_sizes == [1] * 6


def test_thread_count_and_training_mode_are_restored():
    previous = torch.get_num_threads()
    model = nn.Linear(4, 2).train()

    measure_latency(model, torch.randn(1, 4), repeats=2, warmup=0, threads=1)

    assert torch.get_num_threads() == previous
    assert model.training


def test_first_window_cuts_every_tensor_of_a_batch_dict():
    batch = {"gps": torch.zeros(3, 8, 4), "beam_history": torch.zeros(3, 8, dtype=torch.int64)}

    window = first_window(batch)

    assert window["gps"].shape == (1, 8, 4)
    assert window["beam_history"].shape == (1, 8)


def test_rejects_zero_repeats():
    with pytest.raises(ValueError, match="repeats"):
        measure_latency(nn.Linear(4, 2), torch.randn(1, 4), repeats=0)
