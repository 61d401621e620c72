"""Modality dropout: in training, whole modalities of a window go missing at random.

Why: on the default scenario the multi-modal teacher (camera motion + radar + GPS + beam history)
fitted its training windows through the image branches and validated below a GPS + beam-history
student (val top-1 0.32 against 0.37): the CNNs memorise the few training passes. Dropping a
modality's embeddings for a whole window makes every subset of modalities a model the network
must also be, so no branch can carry the prediction alone (Neverova et al., "ModDrop", 2016).
At evaluation every modality is present and nothing is scaled.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class ModalityDropout(nn.Module):
    """Zero each modality's embeddings of a window with probability p, keeping at least one.

    Input and output: a list of M embeddings [B, L, D_m]. Identity in eval mode, for p = 0 or M = 1.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"modality dropout must be in [0, 1), got {p}")
        self.p = p

    def forward(self, embeddings: list[Tensor]) -> list[Tensor]:
        if not self.training or self.p == 0.0 or len(embeddings) < 2:
            return embeddings
        batch, device = embeddings[0].shape[0], embeddings[0].device
        keep = torch.rand(batch, len(embeddings), device=device) >= self.p  # [B, M]
        # a window that lost every modality keeps one, chosen uniformly
        rescued = torch.randint(len(embeddings), (batch,), device=device)
        keep |= ~keep.any(dim=1, keepdim=True) & (
            torch.arange(len(embeddings), device=device) == rescued[:, None]
        )
        return [e * keep[:, m, None, None].to(e.dtype) for m, e in enumerate(embeddings)]
