"""The magazine paper's student CNN: three strided convs, global max-pool, a small FC.

Layout (reference code, single-channel input of any size):

    7x7 conv stride 2, 1 -> 32, BatchNorm, ReLU, 3x3 max-pool stride 2     1,600 + 64
    5x5 conv stride 2, 32 -> 64, BatchNorm, ReLU, 3x3 max-pool stride 2   51,264 + 128
    3x3 conv stride 2, 64 -> 128, BatchNorm, ReLU                         73,856 + 256
    global max-pool, FC 128 -> 64, ReLU, dropout, FC 64 -> 64             8,256 + 4,160
    total                                                                 139,584

Few parameters but many MACs: the first convs run at high resolution (about 63 M MACs per
224x224 frame, more than the teacher), so report both counts.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from kdcs.models.encoders.conv_attention import global_max_pool
from kdcs.models.encoders.float32_grad_conv import Float32GradConv2d
from kdcs.models.encoders.teacher_cnn import mlp

# (kernel, max-pool after) of the three conv layers, as in the reference.
_CONV_LAYOUT = ((7, True), (5, True), (3, False))


class PaperStudentCNN(nn.Module):
    """Per-frame CNN of the paper's magazine student.

    Parameters:
        channels: widths of the three strided convs.
        out_features: embedding width D (also the FC hidden width, as in the reference).
        dropout: dropout between the two FC layers.
    Input: [N, 1, H, W] float. Output: [N, D].
    """

    def __init__(self, channels: Sequence[int] = (32, 64, 128), out_features: int = 64, dropout: float = 0.3):
        super().__init__()
        if len(channels) != len(_CONV_LAYOUT):
            raise ValueError(
                f"the paper student has {len(_CONV_LAYOUT)} conv layers, got widths {tuple(channels)}"
            )
        layers: list[nn.Module] = []
        fan_in = 1
        for width, (kernel, pool) in zip(channels, _CONV_LAYOUT, strict=True):
            # the first conv reads 1 channel: its bf16 weight gradient is fast (see float32_grad_conv.py)
            conv = nn.Conv2d if fan_in == 1 else Float32GradConv2d
            layers += [
                conv(fan_in, width, kernel_size=kernel, stride=2, padding=kernel // 2),
                nn.BatchNorm2d(width),
            ]
            if pool:
                layers.append(nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
            # ReLU after the max-pool: the same function and gradients (ReLU is monotonic), on fewer elements
            layers.append(nn.ReLU())
            fan_in = width
        self.convs = nn.Sequential(*layers)
        self.fc = mlp((channels[-1], out_features, out_features), dropout)
        self.out_features = out_features

    def forward(self, frames: Tensor) -> Tensor:
        pooled = global_max_pool(self.convs(frames))  # [N, C]
        return self.fc(pooled)  # [N, D]
