"""An auxiliary output: where the vehicle is at t..t+J in the shared metric frame, with uncertainty.

Positions mean the same thing at every AP, so nodes at different APs can exchange them where beam
indices cannot (`kdcs.collab` world-frame knowledge). The head reads the read-out states the beam
classifier reads and predicts, per slot, a Gaussian over (east, north) in metres: a mean and a log
standard deviation per axis. It only trains the shared layers through its loss; the deployed beam
tracker does not need it (a KD-side output, counted apart like an adapter).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

# Means are predicted in units of POSITION_SCALE_M (a street is ~100 m long), so the linear map's
# outputs stay near 1. An untrained head says "somewhere within ~INITIAL_STD_M": its guesses weigh
# nothing next to a head trained on positions.
POSITION_SCALE_M = 20.0
INITIAL_STD_M = 50.0
LOG_STD_RANGE = (math.log(0.05), math.log(500.0))


class PositionHead(nn.Module):
    """Per slot: east, north (m) and log std east, log std north (log m).

    Input: slots [B, J+1, H]. Output: [B, J+1, 4].
    """

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.linear = nn.Linear(hidden, 4)
        with torch.no_grad():
            self.linear.weight[2:].zero_()  # the spread starts the same everywhere
            self.linear.bias[:2].zero_()
            self.linear.bias[2:].fill_(math.log(INITIAL_STD_M))

    def forward(self, slots: Tensor) -> Tensor:
        raw = self.linear(slots)  # [B, J+1, 4]
        mean = raw[..., :2] * POSITION_SCALE_M
        log_std = raw[..., 2:].clamp(*LOG_STD_RANGE)
        return torch.cat([mean, log_std], dim=-1)
