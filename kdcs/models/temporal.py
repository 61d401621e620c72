"""Temporal block: a GRU over the slot sequence, optionally followed by temporal attention."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class AdditiveTemporalAttention(nn.Module):
    """The paper teacher's temporal attention: one context vector added back to every step.

    score_t = w2 . tanh(W1 h_t + b1) + b2; a = softmax_t(score); c = sum_t a_t h_t;
    output_t = h_t + c. Parameters: H*hidden + hidden + hidden + 1 (8,449 for H = 64,
    hidden = 128). The last bias b2 is kept for the reference's parameter count, but a softmax
    ignores a shift shared by all steps, so it never receives a gradient.
    Input: [B, T, H]. Output: [B, T, H].
    """

    def __init__(self, hidden_size: int, scorer_hidden: int = 128) -> None:
        super().__init__()
        self.scorer = nn.Sequential(
            nn.Linear(hidden_size, scorer_hidden), nn.Tanh(), nn.Linear(scorer_hidden, 1)
        )

    def forward(self, states: Tensor) -> Tensor:
        weights = torch.softmax(self.scorer(states), dim=1)  # [B, T, 1]
        context = (states * weights).sum(dim=1, keepdim=True)  # [B, 1, H]
        return states + context  # [B, T, H]


class SelfTemporalAttention(nn.Module):
    """Multi-head self-attention over the steps, added to its input (the long-term student's).

    Parameters: 4*H*H + 4*H (16,640 for H = 64).
    Input: [B, T, H]. Output: [B, T, H].
    """

    def __init__(self, hidden_size: int, heads: int = 8, dropout: float = 0.1) -> None:
        super().__init__()
        if hidden_size % heads:
            raise ValueError(f"self-attention needs hidden ({hidden_size}) divisible by heads ({heads})")
        self.attention = nn.MultiheadAttention(hidden_size, heads, dropout=dropout, batch_first=True)

    def forward(self, states: Tensor) -> Tensor:
        attended, _ = self.attention(states, states, states, need_weights=False)  # [B, T, H]
        return states + attended


class TemporalBlock(nn.Module):
    """1-layer GRU, then "none" | "additive" | "self" attention over its outputs.

    Input: [B, T, D]. Output: (gru outputs [B, T, H], attended outputs [B, T, H]).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        attention: str = "none",
        heads: int = 8,
        scorer_hidden: int = 128,
    ) -> None:
        super().__init__()
        self.gru = nn.GRU(input_size, hidden_size, num_layers=1, batch_first=True)
        if attention == "none":
            self.attention: nn.Module = nn.Identity()
        elif attention == "additive":
            self.attention = AdditiveTemporalAttention(hidden_size, scorer_hidden)
        elif attention == "self":
            self.attention = SelfTemporalAttention(hidden_size, heads)
        else:
            raise ValueError(f"unknown temporal attention {attention!r}; known: ('none', 'additive', 'self')")

    def forward(self, sequence: Tensor) -> tuple[Tensor, Tensor]:
        states, _ = self.gru(sequence)  # [B, T, H]
        return states, self.attention(states)
