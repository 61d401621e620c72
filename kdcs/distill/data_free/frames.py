"""Synthetic image-like inputs (camera frames, motion masks, radar range-angle maps) as parameters.

Each frame is a map of free logits squashed into the modality's range, so every step of the
optimisation stays a valid input, and the kept result is in the cache's dtype, as a real batch is:
- "camera_motion": binary masks. The teacher sees the thresholded mask (straight-through: the
  gradient is the sigmoid's), so the mask it judged is the mask kept (uint8 0/1).
- "camera": grey levels; the teacher reads floats in [0, 1] (as `ImageEncoder` scales uint8 / 255),
  kept as uint8 0..255.
- "radar": dB over the map's median (the cache's definition: median 0 dB), squashed into
  RADAR_RANGE_DB, kept as float16.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

RADAR_RANGE_DB = (-20.0, 60.0)
# Starting logits per modality (mean, std): sparse masks, mid-grey frames, maps near their median.
_START = {"camera_motion": (-2.0, 1.0), "camera": (0.0, 0.5), "radar": (-1.1, 0.3)}


class ImageFrames(nn.Module):
    """B windows of L frames of one image modality, as learnable logits [B, L, H, W].

    forward() -> the model input [B, L, H, W] float32; cached() -> numpy in the cache's dtype.
    """

    def __init__(
        self, modality: str, count: int, history: int, size: tuple[int, int], rng: np.random.Generator
    ) -> None:
        super().__init__()
        if modality not in _START:
            raise ValueError(f"no frame parametrisation for modality {modality!r}; known: {sorted(_START)}")
        self.modality = modality
        mean, std = _START[modality]
        start = rng.normal(mean, std, size=(count, history, *size)).astype(np.float32)
        self.logits = nn.Parameter(torch.from_numpy(start))

    def forward(self) -> Tensor:
        soft = torch.sigmoid(self.logits)
        if self.modality == "camera_motion":
            hard = (soft > 0.5).float()
            return hard + soft - soft.detach()  # straight-through
        if self.modality == "radar":
            low, high = RADAR_RANGE_DB
            return low + (high - low) * soft
        return soft

    @torch.no_grad()
    def cached(self) -> np.ndarray:
        values = self.forward()
        if self.modality == "camera_motion":
            return values.round().to(torch.uint8).numpy()
        if self.modality == "camera":
            return (values * 255.0).round().clamp(0, 255).to(torch.uint8).numpy()
        return values.to(torch.float16).numpy()

    def smoothness_penalties(self) -> tuple[Tensor, Tensor]:
        """(total variation within frames, mean change between consecutive frames), on the [0, 1]
        squashed maps so the weights mean the same for every modality."""
        soft = torch.sigmoid(self.logits)
        variation = (soft[..., 1:, :] - soft[..., :-1, :]).abs().mean() + (
            soft[..., :, 1:] - soft[..., :, :-1]
        ).abs().mean()
        temporal = (soft[:, 1:] - soft[:, :-1]).abs().mean() if soft.shape[1] > 1 else soft.new_zeros(())
        return variation, temporal
