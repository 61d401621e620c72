"""Depthwise-separable CNN with channel + spatial attention (the long-term paper's student).

Layout with the default widths (18, 36, 72, 144), single-channel input of any size:

    3x3 conv stride 2 (no bias) 1 -> 18, BatchNorm, ReLU, 3x3 max-pool s2      162 + 36
    3 x [3x3 depthwise conv, BN, ReLU, 1x1 pointwise conv, BN, ReLU, max-pool s2]
        18 -> 36: 162+36+648+72 = 918;  36 -> 72: 3,132;  72 -> 144: 11,448
    channel attention 144 -> 72 -> 144                                           20,952
    spatial attention 7x7 conv 144 -> 1                                           7,057
    global max-pool, FC 144 -> 64, ReLU, FC 64 -> 64                              13,440
    total                                                                         57,145

With GRU(64), LayerNorm, 8-head self-attention and a 2-layer classifier this makes the
107,193-parameter student of the sister paper.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from kdcs.models.encoders.conv_attention import ChannelSpatialAttention, global_max_pool


def depthwise_separable_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """[N, Cin, H, W] -> [N, Cout, H/2, W/2] (ceil)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, in_channels, kernel_size=3, padding=1, groups=in_channels, bias=False),
        nn.BatchNorm2d(in_channels),
        nn.ReLU(),
        nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        nn.ReLU(),  # after the pool: the same function (ReLU is monotonic), on 4x fewer elements
    )


class DepthwiseSeparableCNN(nn.Module):
    """Per-frame depthwise-separable CNN.

    Parameters:
        channels: stem width, then one depthwise-separable block per further width.
        out_features: embedding width D (also the FC hidden width).
        attention: channel + spatial attention before the global max-pool.
    Input: [N, 1, H, W] float. Output: [N, D].
    """

    def __init__(
        self, channels: Sequence[int] = (18, 36, 72, 144), out_features: int = 64, attention: bool = True
    ) -> None:
        super().__init__()
        if len(channels) < 1:
            raise ValueError("DepthwiseSeparableCNN needs at least a stem width")
        stem = channels[0]
        self.stem = nn.Sequential(
            nn.Conv2d(1, stem, kernel_size=3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(stem),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
            nn.ReLU(),
        )
        pairs = zip(channels[:-1], channels[1:], strict=True)
        self.blocks = nn.Sequential(*(depthwise_separable_block(a, b) for a, b in pairs))
        self.attention = ChannelSpatialAttention(channels[-1]) if attention else nn.Identity()
        self.fc = nn.Sequential(
            nn.Linear(channels[-1], out_features), nn.ReLU(), nn.Linear(out_features, out_features)
        )
        self.out_features = out_features

    def forward(self, frames: Tensor) -> Tensor:
        feature_map = self.attention(self.blocks(self.stem(frames)))  # [N, C, h, w]
        return self.fc(global_max_pool(feature_map))  # [N, D]
