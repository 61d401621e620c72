"""Synthetic GPS inputs: vehicle tracks around the AP, optimised through the teacher.

A GPS input slot holds (east m, north m, range m, bearing rad) of the vehicle around its AP
(`kdcs.data.preprocess`): range and bearing are functions of east and north. Optimising the four
numbers freely would give inputs no receiver can produce, so a window's track is parametrised by
what a vehicle has: its position at the current slot, a velocity and a constant acceleration, and the
four columns are computed from the positions. The parameters are stored in units of the prior
(`GpsPrior`: radius_m, max_speed_m_per_slot), so one learning rate suits all three, and the prior keeps
the vehicle within radius_m of the AP and below max_speed_m_per_slot as soft penalties.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn

from kdcs.distill.data_free.config import GpsPrior


class GpsTrack(nn.Module):
    """B tracks over L slots ending at the current slot t, as learnable parameters.

    Initialised from `rng`: positions uniform over the disc of radius_m, headings uniform, speeds
    uniform up to the prior's maximum, no acceleration. forward() -> [B, L, 4] float32.
    """

    def __init__(self, count: int, history: int, prior: GpsPrior, rng: np.random.Generator) -> None:
        super().__init__()
        self.prior = prior
        radius = prior.radius_m * np.sqrt(rng.uniform(size=count))
        angle = rng.uniform(-math.pi, math.pi, size=count)
        heading = rng.uniform(-math.pi, math.pi, size=count)
        speed = rng.uniform(0.0, prior.max_speed_m_per_slot, size=count)
        position = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1) / prior.radius_m
        velocity = (
            np.stack([speed * np.cos(heading), speed * np.sin(heading)], axis=1) / prior.max_speed_m_per_slot
        )
        # in units of the prior: radius_m, max_speed_m_per_slot, max_speed_m_per_slot per slot
        self.position = nn.Parameter(torch.as_tensor(position, dtype=torch.float32))  # [B, 2] at t
        self.velocity = nn.Parameter(torch.as_tensor(velocity, dtype=torch.float32))  # [B, 2]
        self.acceleration = nn.Parameter(torch.zeros(count, 2))  # [B, 2]
        self.register_buffer("slots", torch.arange(-history + 1, 1, dtype=torch.float32), persistent=False)

    def velocities(self) -> Tensor:
        """[B, L, 2] metres per slot at slots t-L+1..t."""
        s = self.slots[None, :, None]
        return self.prior.max_speed_m_per_slot * (self.velocity[:, None] + self.acceleration[:, None] * s)

    def positions(self) -> Tensor:
        """[B, L, 2] east, north (metres) at slots t-L+1..t."""
        s = self.slots[None, :, None]
        speed = self.prior.max_speed_m_per_slot
        moved = speed * (self.velocity[:, None] * s + 0.5 * self.acceleration[:, None] * s**2)
        return self.prior.radius_m * self.position[:, None] + moved

    def forward(self) -> Tensor:
        return gps_columns(self.positions())

    def prior_penalty(self) -> Tensor:
        """Squared excess over the radius and the speed limit, in units of the limits (0 inside)."""
        distance = self.positions().norm(dim=-1)
        speed = self.velocities().norm(dim=-1)
        far = torch.relu(distance / self.prior.radius_m - 1.0) ** 2
        fast = torch.relu(speed / self.prior.max_speed_m_per_slot - 1.0) ** 2
        return far.mean() + fast.mean()


def gps_columns(positions: Tensor) -> Tensor:
    """[..., 2] east, north -> [..., 4] east, north, range, bearing (atan2(north, east)), as cached."""
    east, north = positions[..., 0], positions[..., 1]
    distance = torch.sqrt(east**2 + north**2 + 1e-9)
    return torch.stack([east, north, distance, torch.atan2(north, east)], dim=-1)
