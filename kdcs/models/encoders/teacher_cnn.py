"""The paper teacher's per-frame CNN: five conv blocks, channel + spatial attention, FC stack.

Layout (reference code of the magazine paper, 224x224 single-channel input):

    5 x [3x3 conv (stride 1, pad 1), BatchNorm, ReLU, 2x2 max-pool]   1 -> 4, 8, 16, 32, 64
        (run as conv, BatchNorm, max-pool, ReLU: the same function, see `ConvBlock`)
        params 40+8, 296+16, 1,168+32, 4,640+64, 18,496+128           = 24,888
    channel attention (64 -> 32 -> 64, 1x1 convs)                       =  4,192
    spatial attention (7x7 conv 64 -> 1)                                =  3,137
    flatten 64 x 7 x 7 = 3136, FC 3136-512-128-64-64 (ReLU + dropout)   = 1,684,224
    total                                                               = 1,716,441

Only the first FC layer depends on the input size (its fan-in is 64 * (H/32) * (W/32)); at
64x64 input it is 256 -> 512 and the whole CNN has 163,161 parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from kdcs.models.encoders.conv_attention import ChannelSpatialAttention, spatial_size_after_pools

# Below this width a block's BatchNorm, max-pool and ReLU run on NCHW maps even in a channels-last
# model: PyTorch's CPU channels-last kernels vectorise over channels, which 4 channels barely fill
# (the first block's NCHW BatchNorm + pool made a paper-teacher step 8-13% faster, one core).
NARROW_CHANNELS = 8


class ConvBlock(nn.Sequential):
    """3x3 conv (stride 1, pad 1), BatchNorm, 2x2 max-pool, ReLU: [N, Cin, H, W] -> [N, Cout, H/2, W/2].

    The ReLU runs after the max-pool: ReLU is monotonic, so max(relu(x)) = relu(max(x)) and the
    gradients are the same too, but the ReLU then touches 4x fewer elements (the first block's
    full-resolution map is the costliest tensor of a training step).
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
            nn.BatchNorm2d(out_channels),
            nn.MaxPool2d(kernel_size=2),
            nn.ReLU(),
        )

    def forward(self, frames: Tensor) -> Tensor:
        conv, norm, pool, relu = self
        maps = conv(frames)  # [N, Cout, H, W]
        if maps.shape[1] < NARROW_CHANNELS:
            maps = maps.contiguous()  # NCHW (a no-op when it already is); the next conv converts back
        return relu(pool(norm(maps)))


def mlp(widths: Sequence[int], dropout: float) -> nn.Sequential:
    """Linear layers between consecutive widths; ReLU + dropout after every layer but the last."""
    layers: list[nn.Module] = []
    for index, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(nn.Linear(fan_in, fan_out))
        if index < len(widths) - 2:
            layers += [nn.ReLU(), nn.Dropout(dropout)]
    return nn.Sequential(*layers)


class PaperTeacherCNN(nn.Module):
    """Per-frame CNN of the paper teacher.

    Parameters:
        image_size: (H, W) of the input maps; each side must be >= 2**len(channels).
        channels: output widths of the conv blocks (one 2x max-pool each).
        fc_hidden: hidden widths of the FC stack between the flattened map and `out_features`.
        out_features: embedding width D.
        attention: channel + spatial attention after the last block (the paper's teacher has it).
        dropout: dropout after each hidden FC layer.
    Input: [N, 1, H, W] float. Output: [N, D].
    """

    def __init__(
        self,
        image_size: tuple[int, int],
        channels: Sequence[int] = (4, 8, 16, 32, 64),
        fc_hidden: Sequence[int] = (512, 128, 64),
        out_features: int = 64,
        attention: bool = True,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        pooled = spatial_size_after_pools(image_size, len(channels))
        if min(pooled) < 1:
            raise ValueError(
                f"image size {tuple(image_size)} is too small for {len(channels)} 2x max-pools "
                f"(each side needs >= {2 ** len(channels)})"
            )
        widths = (1, *channels)
        self.blocks = nn.Sequential(*(ConvBlock(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)))
        self.attention = ChannelSpatialAttention(channels[-1]) if attention else nn.Identity()
        flat = channels[-1] * pooled[0] * pooled[1]
        self.fc = mlp((flat, *fc_hidden, out_features), dropout)
        self.out_features = out_features

    def forward(self, frames: Tensor) -> Tensor:
        feature_map = self.attention(self.blocks(frames))  # [N, C, H/32, W/32]
        return self.fc(feature_map.flatten(1))  # [N, D]
