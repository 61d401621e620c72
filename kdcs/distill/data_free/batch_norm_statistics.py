"""The DeepInversion prior: a synthetic batch should leave the teacher's BatchNorm statistics as
real batches did (Yin et al., "Dreaming to Distill", CVPR 2020).

Every BatchNorm layer stores the running mean and variance of its inputs over the training data. A
forward hook measures the batch's own per-channel mean and variance at each such layer, and the loss
is the sum over layers of ||mean - running_mean||_2 + ||var - running_var||_2. Only the image
encoders of kdcs models hold BatchNorm (the GPS MLP, the beam-history encoder and the LayerNorm
before the GRU store no statistics), so this prior shapes camera, motion-mask and radar inputs only.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, nn


class BatchNormStatistics:
    """Hooks on `modules`' BatchNorm2d layers; `loss()` after a forward pass, `remove()` when done."""

    def __init__(self, modules: Iterable[nn.Module]) -> None:
        self.layers = [m for module in modules for m in module.modules() if isinstance(m, nn.BatchNorm2d)]
        self._losses: list[Tensor] = []
        self._handles = [layer.register_forward_hook(self._hook) for layer in self.layers]

    def _hook(self, layer: nn.BatchNorm2d, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        values = inputs[0].float()
        mean = values.mean(dim=(0, 2, 3))
        variance = values.var(dim=(0, 2, 3), unbiased=False)
        self._losses.append(
            torch.linalg.vector_norm(mean - layer.running_mean)
            + torch.linalg.vector_norm(variance - layer.running_var)
        )

    def loss(self) -> Tensor:
        """Sum over the layers seen since the last call (0 when none); resets the record."""
        losses, self._losses = self._losses, []
        return torch.stack(losses).sum() if losses else torch.zeros(())

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
