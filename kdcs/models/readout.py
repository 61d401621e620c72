"""Read-outs: how the J+1 predicted slots (t, t+1, ..., t+J) come out of the temporal block.

A read-out has two steps around the temporal block: `extend` the per-slot input sequence
before it, and `read` J+1 states out of its outputs.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class ZeroAppendReadout(nn.Module):
    """The paper's read-out: append J all-zero slots, read the last J+1 outputs.

    The reference appends J all-zero *frames* and runs them through the CNN, so the GRU sees
    the CNN's response to a blank frame at the future slots. Here the zeros are appended to the
    fused embedding before the LayerNorm, so the GRU sees LayerNorm(0) = its learned bias: the
    same kind of constant, learned "future slot" input, without encoding J blank frames (J/L
    more CNN work) and without blank frames in the BatchNorm statistics. No parameters.

    Parameters: horizon J.
    extend: [B, L, D] -> [B, L+J, D]. read: [B, L+J, H] -> [B, J+1, H].
    """

    def __init__(self, horizon: int) -> None:
        super().__init__()
        self.horizon = horizon

    def extend(self, sequence: Tensor) -> Tensor:
        batch, _, width = sequence.shape
        blanks = sequence.new_zeros(batch, self.horizon, width)  # [B, J, D]
        return torch.cat([sequence, blanks], dim=1)

    def read(self, states: Tensor, observed: int) -> Tensor:
        return states[:, observed - 1 :]  # [B, J+1, H]: slots t..t+J


class MultiHeadReadout(nn.Module):
    """J+1 heads on the state after the last observed slot.

    slot_j = final + W_j final + b_j: a residual map per slot, so slot 0 can stay the final
    state and each future slot learns how far to move from it. One Linear(H, (J+1)*H) holds
    the J+1 maps: (J+1)*(H*H + H) parameters (16,640 for J = 3, H = 64).

    Parameters: horizon J, hidden H.
    extend: identity. read: [B, L, H] -> [B, J+1, H].
    """

    def __init__(self, horizon: int, hidden_size: int) -> None:
        super().__init__()
        self.horizon = horizon
        self.slot_maps = nn.Linear(hidden_size, (horizon + 1) * hidden_size)

    def extend(self, sequence: Tensor) -> Tensor:
        return sequence

    def read(self, states: Tensor, observed: int) -> Tensor:
        final = states[:, observed - 1]  # [B, H]
        offsets = self.slot_maps(final).view(final.shape[0], self.horizon + 1, -1)  # [B, J+1, H]
        return final.unsqueeze(1) + offsets


def build_readout(kind: str, horizon: int, hidden_size: int) -> nn.Module:
    """ "zero-append" -> ZeroAppendReadout, "multi-head" -> MultiHeadReadout."""
    if kind == "zero-append":
        return ZeroAppendReadout(horizon)
    if kind == "multi-head":
        return MultiHeadReadout(horizon, hidden_size)
    raise ValueError(f"unknown readout {kind!r}; known: ('zero-append', 'multi-head')")
