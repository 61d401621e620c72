"""Encoder for the vehicle's GPS position in local coordinates around its base station."""

from __future__ import annotations

import torch
from torch import Tensor, nn

# Metres per unit: positions in scenario 9 lie within about 50 m of the base station.
GPS_METRES_PER_UNIT = 50.0
GPS_SCALED_FEATURES = 5


def scale_gps(positions: Tensor) -> Tensor:
    """Fixed scaling of (east m, north m, range m, bearing rad).

    Metres are divided by GPS_METRES_PER_UNIT; the bearing becomes (sin, cos) so that -pi and
    +pi, the same direction, map to the same input.
    Input: [N, 4]. Output: [N, 5] = east, north, range (scaled), sin(bearing), cos(bearing).
    """
    metres = positions[..., :3] / GPS_METRES_PER_UNIT  # [N, 3]
    bearing = positions[..., 3:4]  # [N, 1]
    return torch.cat([metres, torch.sin(bearing), torch.cos(bearing)], dim=-1)


class GpsEncoder(nn.Module):
    """Scaled position -> MLP 5 -> hidden -> D.

    Input: [N, 4] float (time folded into N = B*L). Output: [N, D].
    """

    def __init__(self, hidden: int = 64, out_features: int = 64) -> None:
        super().__init__()
        self.modality = "gps"
        self.mlp = nn.Sequential(
            nn.Linear(GPS_SCALED_FEATURES, hidden), nn.ReLU(), nn.Linear(hidden, out_features), nn.ReLU()
        )
        self.out_features = out_features

    def forward(self, positions: Tensor) -> Tensor:
        return self.mlp(scale_gps(positions.float()))  # [N, D]
