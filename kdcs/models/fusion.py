"""Fusion of per-modality embeddings into one per-slot embedding.

Both fusions are pointwise in time: they see [B, L, D_m] per modality and return [B, L, D].
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn


class ConcatFusion(nn.Module):
    """Concatenate the embeddings, then a linear map to `out_features`.

    With one modality already `out_features` wide the map is skipped (identity, no parameters),
    which keeps the single-camera paper models at their published parameter counts.

    Parameters: widths (modality -> D_m, in input order), out_features D.
    Input: list of [B, L, D_m] in the order of `widths`. Output: ([B, L, D], None).
    """

    def __init__(self, widths: Mapping[str, int], out_features: int) -> None:
        super().__init__()
        total = sum(widths.values())
        needs_map = len(widths) > 1 or total != out_features
        self.project = nn.Linear(total, out_features) if needs_map else nn.Identity()

    def forward(self, embeddings: list[Tensor]) -> tuple[Tensor, Tensor | None]:
        return self.project(torch.cat(embeddings, dim=-1)), None  # [B, L, D]


class AttentionFusion(nn.Module):
    """Softmax-weighted sum over modalities, weights computed per window and slot.

    Each modality is first mapped to D (identity when already D wide); a shared scorer
    Linear(D, hidden) -> tanh -> Linear(hidden, 1, no bias) rates each one; the weights sum to 1 over
    modalities, so a node can lean on radar at night and on the camera by day.

    Parameters: widths (modality -> D_m), out_features D, hidden scorer width.
    Input: list of [B, L, D_m]. Output: ([B, L, D], weights [B, L, M]).
    """

    def __init__(self, widths: Mapping[str, int], out_features: int, hidden: int = 64) -> None:
        super().__init__()
        self.projections = nn.ModuleList(
            nn.Identity() if width == out_features else nn.Linear(width, out_features)
            for width in widths.values()
        )
        # No bias on the last layer: softmax over modalities ignores a shared shift.
        self.scorer = nn.Sequential(
            nn.Linear(out_features, hidden), nn.Tanh(), nn.Linear(hidden, 1, bias=False)
        )

    def forward(self, embeddings: list[Tensor]) -> tuple[Tensor, Tensor | None]:
        projected = torch.stack(
            [project(e) for project, e in zip(self.projections, embeddings, strict=True)], dim=2
        )  # [B, L, M, D]
        weights = torch.softmax(self.scorer(projected).squeeze(-1), dim=-1)  # [B, L, M]
        fused = (projected * weights.unsqueeze(-1)).sum(dim=2)  # [B, L, D]
        return fused, weights


def build_fusion(kind: str, widths: Mapping[str, int], out_features: int) -> nn.Module:
    """ "concat" -> ConcatFusion, "attention" -> AttentionFusion."""
    if kind == "concat":
        return ConcatFusion(widths, out_features)
    if kind == "attention":
        return AttentionFusion(widths, out_features)
    raise ValueError(f"unknown fusion {kind!r}; known: ('concat', 'attention')")
