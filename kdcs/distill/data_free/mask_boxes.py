"""Synthetic motion masks drawn as moving boxes (`kd.data_free.masks.kind: boxes`).

A camera motion mask (`kdcs.data.preprocess.motion_masks`) marks the pixels that changed between two
blurred frames: on a street camera, a few compact blobs (a vehicle's leading and trailing parts, 1-6
components of 10-60 pixels at 64 x 64, about 2% of the image) that move a little from slot to slot.
Free pixel logits (`frames.ImageFrames`) optimised through the teacher give masks the teacher is
confident on but that look like none of these. Here each window's mask is instead the union of K
axis-aligned boxes, each with a centre at the current slot t, a constant velocity over the window and a
fixed half-size, so a window is a few objects moving consistently; only those numbers are optimised.

Each box is rendered softly (a sigmoid edge of `EDGE_PX` pixels), the union of the K boxes is
thresholded at 0.5 and the teacher reads the binary mask (straight-through: the gradient is the soft
union's), so the mask it judged is the mask kept (uint8 0/1), as `ImageFrames` does. Sizes and speeds
are fractions of the image width and height (`MaskPrior`). Their defaults were set after looking at the
default scenario's training masks (blob sizes, density, speeds), not fitted to them: a prior chosen with
knowledge of real masks, which a strictly data-free run would take from the camera's geometry instead.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from kdcs.distill.data_free.config import MaskPrior

EDGE_PX = 0.5  # softness of a box's edge, pixels


class MaskBoxes(nn.Module):
    """B windows of L motion masks [B, L, H, W], each the union of `prior.boxes` moving boxes.

    Parameters (per window and box, unconstrained, squashed into the prior's ranges): centre at t
    (sigmoid -> fraction of the image), velocity (tanh -> up to max_speed per slot), half-size
    (sigmoid -> min_half..max_half). forward() -> float 0/1 [B, L, H, W] with a straight-through
    gradient; cached() -> uint8 0/1.
    """

    def __init__(
        self, count: int, history: int, size: tuple[int, int], prior: MaskPrior, rng: np.random.Generator
    ) -> None:
        super().__init__()
        self.prior, self.size = prior, tuple(size)
        boxes = (count, prior.boxes, 2)  # last axis: (column, row)
        self.centre = nn.Parameter(torch.from_numpy(rng.normal(0.0, 1.0, size=boxes).astype(np.float32)))
        self.velocity = nn.Parameter(torch.from_numpy(rng.normal(0.0, 0.5, size=boxes).astype(np.float32)))
        self.half_size = nn.Parameter(torch.from_numpy(rng.normal(0.0, 1.0, size=boxes).astype(np.float32)))
        height, width = self.size
        self.register_buffer("scale", torch.tensor([width, height], dtype=torch.float32), persistent=False)
        self.register_buffer("slots", torch.arange(-history + 1, 1, dtype=torch.float32), persistent=False)
        self.register_buffer("columns", torch.arange(width, dtype=torch.float32), persistent=False)
        self.register_buffer("rows", torch.arange(height, dtype=torch.float32), persistent=False)

    def boxes(self) -> tuple[Tensor, Tensor]:
        """(centres [B, L, K, 2], half-sizes [B, 1, K, 2]) in pixels, (column, row) on the last axis."""
        prior = self.prior
        centre = torch.sigmoid(self.centre) * (self.scale - 1.0)  # [B, K, 2] at slot t
        velocity = torch.tanh(self.velocity) * prior.max_speed * self.scale
        centres = centre[:, None] + velocity[:, None] * self.slots[None, :, None, None]
        fraction = prior.min_half + (prior.max_half - prior.min_half) * torch.sigmoid(self.half_size)
        return centres, (fraction * self.scale)[:, None]

    def soft(self) -> Tensor:
        """The soft union of the boxes, [B, L, H, W] in (0, 1)."""
        centres, half = self.boxes()
        inside_x = torch.sigmoid(
            (half[..., 0, None] - (self.columns - centres[..., 0, None]).abs()) / EDGE_PX
        )
        inside_y = torch.sigmoid((half[..., 1, None] - (self.rows - centres[..., 1, None]).abs()) / EDGE_PX)
        occupancy = inside_y[..., :, None] * inside_x[..., None, :]  # [B, L, K, H, W]
        return 1.0 - torch.prod(1.0 - occupancy, dim=2)

    def forward(self) -> Tensor:
        soft = self.soft()
        hard = (soft > 0.5).float()
        return hard + (soft - soft.detach())  # straight-through (exactly 0/1 forward)

    @torch.no_grad()
    def cached(self) -> np.ndarray:
        return self.forward().round().to(torch.uint8).numpy()
