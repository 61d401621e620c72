"""Encoder for the beam history: the best beam of the previous slot, by its position on the codebook axis.

Beams are ordered (beam b and b+1 point in neighbouring directions). A per-beam embedding table treats
them as unrelated tokens and must learn "the beam moves two steps per slot" separately for every beam
from a few examples each: on the default synthetic AP (about 1,000 training windows) it overfits and
the GPS + beam student stayed below the line-fit floor. A single scalar position generalises motion but
is too coarse to name one of 64 classes. Fourier features of the position (sin/cos at octave
frequencies, as in positional encodings) give both: low frequencies carry the smooth geometry, high
ones resolve individual beams. An MLP maps them to the embedding width.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

NUM_OCTAVES = 6  # frequencies pi * 2^k, k = 0..5: the finest period spans ~2 beams of 64


class BeamHistoryEncoder(nn.Module):
    """MLP over Fourier features of the beam position plus a pad flag.

    The pad token `num_beams` marks the first slot of a sequence (no previous beam).
    Input: [N] int64 in 0..num_beams (time folded into N = B*L). Output: [N, embedding_dim].
    """

    def __init__(self, num_beams: int = 64, embedding_dim: int = 32) -> None:
        super().__init__()
        self.modality = "beam_history"
        self.num_beams = num_beams
        self.register_buffer("frequencies", torch.pi * 2.0 ** torch.arange(NUM_OCTAVES), persistent=False)
        self.mlp = nn.Sequential(
            nn.Linear(2 * NUM_OCTAVES + 2, embedding_dim), nn.ReLU(), nn.Linear(embedding_dim, embedding_dim)
        )
        self.out_features = embedding_dim

    def ordinal_features(self, beams: Tensor) -> Tensor:
        """[N] beams -> [N, 2 * NUM_OCTAVES + 2]: sin/cos of the position in [0, 1], position, pad flag.

        The pad's features are all zero but its flag, so it never aliases a real beam.
        """
        beams = beams.long()
        is_pad = (beams == self.num_beams).float()[:, None]  # [N, 1]
        position = (beams.float() / (self.num_beams - 1))[:, None]  # [N, 1] in [0, 1]
        angles = position * self.frequencies  # [N, K]
        features = torch.cat([torch.sin(angles), torch.cos(angles), 2.0 * position - 1.0], dim=-1)
        return torch.cat([features * (1.0 - is_pad), is_pad], dim=-1)

    def forward(self, beams: Tensor) -> Tensor:
        # Checked eagerly on CPU only: on a GPU the check would stall every forward on a device sync,
        # and an exported graph cannot hold a data-dependent Python branch.
        if (
            not torch.compiler.is_exporting()
            and not beams.is_cuda
            and beams.numel()
            and (int(beams.min()) < 0 or int(beams.max()) > self.num_beams)
        ):
            raise ValueError(
                f"beam_history holds values outside 0..{self.num_beams} (the pad token is {self.num_beams})"
            )
        return self.mlp(self.ordinal_features(beams))  # [N, embedding_dim]
