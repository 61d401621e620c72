"""Focal task loss: cross-entropy that down-weights beams the model already gets right."""

from __future__ import annotations

from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor

from kdcs.distill.losses._base import LossTerm, as_slotted, check_slot_weights, mean_over_batch_and_slots
from kdcs.distill.losses.ce import target_distribution


class FocalLoss(LossTerm):
    """Focal loss (Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017), per slot:

        l[b, s] = -sum_c q[b, s, c] (1 - p[b, s, c])^gamma log p[b, s, c],  p = softmax(z[b, s])

    For a hard target this is -(1 - p_y)^gamma log p_y; gamma = 0 gives cross-entropy. The
    reference uses gamma = 2 (alpha = 1, i.e. no class weighting) as its task loss.

    Reduced by `mean_over_batch_and_slots` (see `kdcs.distill.losses`).

    Input: student_logits [B, S, C]; target [B, S] int64 beam indices or [B, S, C] probabilities.
    Output: scalar.
    """

    key = "focal"
    reads = ("student_logits", "target")

    def __init__(self, gamma: float = 2.0, slot_weights: Sequence[float] | None = None) -> None:
        super().__init__()
        if gamma < 0:
            raise ValueError(f"focal gamma must be >= 0, got {gamma}")
        self.gamma = float(gamma)
        self.register_buffer("slot_weights", check_slot_weights(slot_weights), persistent=False)

    def forward(self, student_logits: Tensor, target: Tensor) -> Tensor:
        logits = as_slotted(student_logits)  # [B, S, C]
        q = target_distribution(target, logits.shape[-1]).to(logits)  # [B, S, C]
        log_p = F.log_softmax(logits, dim=-1)  # [B, S, C]
        modulation = (1.0 - log_p.exp()).pow(self.gamma)  # [B, S, C]
        per_item = -(q * modulation * log_p).sum(dim=-1)  # [B, S]
        return mean_over_batch_and_slots(per_item, self.slot_weights)
