"""Encoder for single-channel 2-D inputs: camera frames, motion masks, radar range-angle maps.

It turns the cached dtype into a float map on a fixed scale, then runs the architecture's CNN.

- "camera": uint8 grey levels 0..255 -> /255 (float input is taken as already in [0, 1]).
- "camera_motion": uint8 0/1 masks -> float 0/1 as they are.
- "radar": float dB relative to the map's median (0 dB = noise floor, see
  `kdcs.data.preprocess.load_radar_map`) -> dB / 20, so a target 20 dB above the floor reads 1;
  then a BatchNorm2d(1) (2 parameters) learns the remaining shift and scale from the data.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from kdcs.models.config import IMAGE_MODALITIES

# A 20 dB step above the noise floor maps to 1.0: targets in a range-angle map sit 10-40 dB up.
RADAR_DB_PER_UNIT = 20.0


class ImageEncoder(nn.Module):
    """Scale one image modality, then encode every frame with a CNN.

    Parameters:
        modality: "camera", "camera_motion" or "radar".
        backbone: CNN mapping [N, 1, H, W] -> [N, D], with an `out_features` attribute.
        size: (H, W) the backbone was built for; other sizes are refused with a clear error.
    Input: [N, H, W] (time folded into N = B*L), dtype as cached. Output: [N, D].
    """

    def __init__(self, modality: str, backbone: nn.Module, size: tuple[int, int]) -> None:
        super().__init__()
        if modality not in IMAGE_MODALITIES:
            raise ValueError(f"ImageEncoder handles {IMAGE_MODALITIES}, got {modality!r}")
        self.modality = modality
        self.size = tuple(size)
        self.input_norm = nn.BatchNorm2d(1) if modality == "radar" else nn.Identity()
        self.backbone = backbone
        self.out_features = int(backbone.out_features)

    def scale(self, frames: Tensor) -> Tensor:
        """Cached values -> float on the fixed scale above. [N, H, W] -> [N, H, W] float32.

        Under autocast the integer frames go straight to the autocast dtype (binary masks are
        exact in bfloat16): one conversion pass instead of uint8 -> float32 -> bfloat16.
        """
        if self.modality == "radar":
            return frames.float() / RADAR_DB_PER_UNIT
        dtype = torch.float32
        if not frames.is_floating_point() and torch.is_autocast_enabled(frames.device.type):
            dtype = torch.get_autocast_dtype(frames.device.type)
        if self.modality == "camera" and frames.dtype == torch.uint8:
            return frames.to(dtype) / 255.0
        return frames.to(dtype)

    def forward(self, frames: Tensor) -> Tensor:
        if tuple(frames.shape[-2:]) != self.size:
            raise ValueError(
                f"{self.modality} input is {tuple(frames.shape[-2:])} but the model was built for {self.size}; "
                f"set the model config's {'radar_size' if self.modality == 'radar' else 'image_size'}"
            )
        maps = self.input_norm(self.scale(frames).unsqueeze(1))  # [N, 1, H, W]
        return self.backbone(maps)  # [N, D]
