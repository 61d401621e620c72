"""Classifier head: a small MLP applied to every read-out slot."""

from __future__ import annotations

from torch import Tensor, nn


class SlotClassifier(nn.Module):
    """MLP H -> hidden -> ... -> num_beams with ReLU + dropout between layers.

    The paper teacher uses 3 layers (64-64-64-64: 12,480 parameters), the students 2 layers
    (64-64-64: 8,320).
    Input: [B, S, H]. Output: [B, S, num_beams].
    """

    def __init__(
        self, in_features: int, num_beams: int, num_layers: int = 2, hidden: int = 64, dropout: float = 0.3
    ):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"SlotClassifier needs at least 1 layer, got {num_layers}")
        widths = [in_features] + [hidden] * (num_layers - 1) + [num_beams]
        layers: list[nn.Module] = []
        for index in range(num_layers):
            layers.append(nn.Linear(widths[index], widths[index + 1]))
            if index < num_layers - 1:
                layers += [nn.ReLU(), nn.Dropout(dropout)]
        self.mlp = nn.Sequential(*layers)

    def forward(self, slots: Tensor) -> Tensor:
        return self.mlp(slots)  # [B, S, num_beams]
