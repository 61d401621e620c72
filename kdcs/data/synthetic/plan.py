"""The sequence plan of a synthetic scenario: lengths, first indices, start times and seeds.

Cheap and computed in the main process, so every worker gets its own SeedSequence child and the
files are identical whatever the worker count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kdcs.data.synthetic.config import SynthConfig


@dataclass(frozen=True)
class SequencePlan:
    """What one worker synthesises: sequence seq_index (1-based), rows first_index.. (1-based)."""

    seq_index: int
    first_index: int
    num_samples: int
    start_time_s: float  # seconds after the scenario's first sample
    seed: np.random.SeedSequence


def plan_sequences(config: SynthConfig) -> list[SequencePlan]:
    """Lengths, first indices, start times and seeds of every sequence (cheap, in the main process)."""
    plan_seed, sequences_seed = np.random.SeedSequence(config.seed).spawn(2)
    low, high = config.sequence_length_range
    lengths = np.random.default_rng(plan_seed).integers(low, high + 1, size=config.num_sequences)
    plans, first_index, start = [], 1, 0.0
    for s, (length, seed) in enumerate(zip(lengths, sequences_seed.spawn(config.num_sequences), strict=True)):
        plans.append(SequencePlan(s + 1, first_index, int(length), start, seed))
        first_index += int(length)
        start += int(length) * config.sample_period_s + config.sequence_gap_s
    return plans
