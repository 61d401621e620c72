"""Encoder for the beam history: the best beam of the previous slot, by its position on the codebook axis.

Beams are ordered (beam b and b+1 point in neighbouring directions), so the encoder reads the beam's
normalised position (and a pad flag) through a small MLP instead of a per-beam embedding table. A
table treats beams as unrelated tokens and must learn "the beam moves two steps per slot" separately
for every beam from a few examples each: on the default synthetic AP (about 1,000 training windows)
a 65-entry embedding overfits and its student stays below the line-fit floor; the ordinal encoding
generalises the motion (measured in the commit that introduced it).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class BeamHistoryEncoder(nn.Module):
    """MLP over (position in [-1, 1], pad flag); the pad token `num_beams` marks sequence starts.

    Input: [N] int64 in 0..num_beams (time folded into N = B*L). Output: [N, embedding_dim].
    """

    def __init__(self, num_beams: int = 64, embedding_dim: int = 32) -> None:
        super().__init__()
        self.modality = "beam_history"
        self.num_beams = num_beams
        self.mlp = nn.Sequential(
            nn.Linear(2, embedding_dim), nn.ReLU(), nn.Linear(embedding_dim, embedding_dim)
        )
        self.out_features = embedding_dim

    def ordinal_features(self, beams: Tensor) -> Tensor:
        """[N] beams -> [N, 2]: position scaled to [-1, 1] (0 for the pad) and the pad flag."""
        beams = beams.long()
        is_pad = (beams == self.num_beams).float()
        position = (2.0 * beams.float() / (self.num_beams - 1) - 1.0) * (1.0 - is_pad)
        return torch.stack([position, is_pad], dim=-1)

    def forward(self, beams: Tensor) -> Tensor:
        # Checked on CPU only: on a GPU the check would stall every forward on a device sync.
        if (
            not beams.is_cuda
            and beams.numel()
            and (int(beams.min()) < 0 or int(beams.max()) > self.num_beams)
        ):
            raise ValueError(
                f"beam_history holds values outside 0..{self.num_beams} (the pad token is {self.num_beams})"
            )
        return self.mlp(self.ordinal_features(beams))  # [N, embedding_dim]
