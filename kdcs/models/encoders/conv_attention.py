"""Channel and spatial attention over a CNN feature map (the paper teacher's two gates).

Both gate the map multiplicatively with sigmoid weights, so they can learn to pass it unchanged
(weights near 1) and never change its shape.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class ChannelAttention(nn.Module):
    """Squeeze-and-excitation gate: global average pool, 1x1 conv C -> C/r -> C, sigmoid.

    Parameters: channels C, reduction r (the reference uses r = 2).
    Parameters counted: (C*C/r + C/r) + (C/r*C + C); 4,192 for C = 64, r = 2.
    Input: [N, C, H, W]. Output: [N, C, H, W].
    """

    def __init__(self, channels: int, reduction: int = 2) -> None:
        super().__init__()
        squeezed = max(1, channels // reduction)
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(channels, squeezed, kernel_size=1),
            nn.ReLU(),
            nn.Conv2d(squeezed, channels, kernel_size=1),
            nn.Sigmoid(),
        )

    def forward(self, feature_map: Tensor) -> Tensor:
        return feature_map * self.gate(feature_map)  # [N, C, H, W] * [N, C, 1, 1]


class SpatialAttention(nn.Module):
    """One 7x7 conv C -> 1 and a sigmoid: a weight per pixel shared by all channels.

    Parameters counted: C*49 + 1; 3,137 for C = 64.
    Input: [N, C, H, W]. Output: [N, C, H, W].
    """

    def __init__(self, channels: int, kernel_size: int = 7) -> None:
        super().__init__()
        self.gate = nn.Sequential(
            nn.Conv2d(channels, 1, kernel_size=kernel_size, padding=kernel_size // 2),
            nn.Sigmoid(),
        )

    def forward(self, feature_map: Tensor) -> Tensor:
        # The gate runs in float32 whatever the autocast around it: oneDNN's bfloat16 channels-last
        # backward of this one-output-channel conv was slow (0.2-2.8 s per step at 224x224) and its
        # weight gradient wrong on 2x2 maps (tests/unit/test_fast_path.py). Float32 channels-last is
        # the fastest correct form measured (1.0 ms vs 8.7 ms NCHW for 256 maps of 2x2, one core).
        conv, sigmoid = self.gate
        with torch.autocast(feature_map.device.type, enabled=False):
            scores = conv(feature_map.float())  # [N, 1, H, W]
        return feature_map * sigmoid(scores).to(feature_map.dtype)  # [N, C, H, W] * [N, 1, H, W]


class ChannelSpatialAttention(nn.Sequential):
    """Channel gate, then spatial gate (the order of the reference code).

    Input: [N, C, H, W]. Output: [N, C, H, W].
    """

    def __init__(self, channels: int) -> None:
        super().__init__(ChannelAttention(channels), SpatialAttention(channels))


def spatial_size_after_pools(size: tuple[int, int], num_pools: int) -> tuple[int, int]:
    """(H, W) after `num_pools` 2x2 max-pools with stride 2 (floor division each time)."""
    height, width = size
    for _ in range(num_pools):
        height, width = height // 2, width // 2
    return height, width


def global_max_pool(feature_map: Tensor) -> Tensor:
    """[N, C, H, W] -> [N, C]: strongest response per channel, wherever it is."""
    return torch.amax(feature_map, dim=(-2, -1))
