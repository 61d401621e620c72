"""Encoder for the beam history: the best beam of the previous slot, as a learned embedding."""

from __future__ import annotations

from torch import Tensor, nn


class BeamHistoryEncoder(nn.Module):
    """nn.Embedding over num_beams + 1 tokens; token `num_beams` is the pad at sequence starts.

    Input: [N] int64 in 0..num_beams (time folded into N = B*L). Output: [N, embedding_dim].
    """

    def __init__(self, num_beams: int = 64, embedding_dim: int = 32) -> None:
        super().__init__()
        self.modality = "beam_history"
        self.num_beams = num_beams
        self.embedding = nn.Embedding(num_beams + 1, embedding_dim)
        self.out_features = embedding_dim

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
        return self.embedding(beams.long())  # [N, embedding_dim]
