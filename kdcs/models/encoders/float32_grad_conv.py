"""A Conv2d that computes its weight gradient in float32 when it runs under bfloat16 autocast.

Why: oneDNN 3.12 (torch 2.13's CPU build) computes the bfloat16 weight gradient of a strided conv
with more than one input channel in a kernel ("jit_bf16 backward_weights") that ran 8-12x slower
than the float32 one on this project's avx512_bf16 CPU: 3.5 s of a 4.6 s paper-student step at
224x224 went into the 5x5 and 3x3 stride-2 convs. Forward and input gradient stay bfloat16 (fast
kernels); only the weight and bias gradients are computed in float32 from the same bfloat16
activations, so the result is the bfloat16 gradient with float32 accumulation.

Outside bf16 autocast, and in eval mode, it is a plain nn.Conv2d (same parameters, same state dict).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F


class Float32GradConv2d(nn.Conv2d):
    """nn.Conv2d (zero padding, no dilation) whose weight gradient is float32 under bf16 autocast.

    Input: [N, Cin, H, W]. Output: [N, Cout, H', W'] (bfloat16 under autocast, else the input's dtype).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if isinstance(self.padding, str) or self.dilation != (1, 1) or self.padding_mode != "zeros":
            raise ValueError("Float32GradConv2d supports integer zero padding without dilation only")

    def forward(self, frames: Tensor) -> Tensor:
        device = frames.device.type
        if not (
            torch.is_grad_enabled()
            and torch.is_autocast_enabled(device)
            and torch.get_autocast_dtype(device) == torch.bfloat16
        ):
            return super().forward(frames)
        with torch.autocast(device, enabled=False):
            return _ConvWithFloat32WeightGrad.apply(
                frames.to(torch.bfloat16), self.weight, self.bias, self.stride, self.padding, self.groups
            )


class _ConvWithFloat32WeightGrad(torch.autograd.Function):
    """bfloat16 conv forward and input gradient; float32 weight and bias gradients."""

    @staticmethod
    def forward(ctx, frames, weight, bias, stride, padding, groups):  # noqa: D102
        weight16 = weight.to(torch.bfloat16)
        bias16 = bias.to(torch.bfloat16) if bias is not None else None
        ctx.save_for_backward(frames, weight16)
        ctx.layout = (list(stride), list(padding), groups, bias is not None)
        return F.conv2d(frames, weight16, bias16, stride, padding, 1, groups)

    @staticmethod
    def backward(ctx, grad_output):  # noqa: D102
        frames, weight16 = ctx.saved_tensors
        stride, padding, groups, has_bias = ctx.layout
        common = (stride, padding, [1, 1], False, [0, 0], groups)
        grad_frames = None
        if ctx.needs_input_grad[0]:
            grad_frames = torch.ops.aten.convolution_backward(
                grad_output, frames, weight16, None, *common, [True, False, False]
            )[0]
        if not (ctx.needs_input_grad[1] or ctx.needs_input_grad[2]):
            return grad_frames, None, None, None, None, None
        _, grad_weight, grad_bias = torch.ops.aten.convolution_backward(
            grad_output.float(),
            frames.float(),
            weight16.float(),
            [weight16.shape[0]] if has_bias else None,
            *common,
            [False, True, has_bias],
        )
        return grad_frames, grad_weight, grad_bias, None, None, None
