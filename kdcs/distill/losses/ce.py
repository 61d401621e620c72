"""Cross-entropy task loss against hard beam indices or soft labels from the 64-beam powers."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from kdcs.distill.losses._base import LossTerm, as_slotted, check_slot_weights, mean_over_batch_and_slots

SOFT_LABEL_MODES = ("power_db_softmax", "power_linear")
POWER_FLOOR = 1e-30  # keeps log10 finite for beams that received nothing


def power_to_soft_labels(power: Tensor, mode: str = "power_db_softmax", tau_db: float = 1.0) -> Tensor:
    """Turn received powers per beam into a target distribution over beams.

    - "power_db_softmax": q_c = softmax_c(10 log10(P_c) / tau_db). tau_db (dB) sets the sharpness:
      a beam 3 dB below the best gets exp(-3 / tau_db) of its mass. Invariant to the power scale.
    - "power_linear": q_c = P_c / sum_c' P_c', the share of received power (flat when many beams
      see similar power; the linear ratio is what the link actually gets).

    Input: power [B, S, C] linear received power (>= 0). Output: [B, S, C], rows sum to 1.
    """
    if mode == "power_db_softmax":
        if not tau_db > 0:
            raise ValueError(f"tau_db must be > 0, got {tau_db}")
        power_db = 10.0 * torch.log10(power.clamp_min(POWER_FLOOR))  # [B, S, C]
        return torch.softmax(power_db / tau_db, dim=-1)
    if mode == "power_linear":
        power = power.clamp_min(0.0)
        return power / power.sum(dim=-1, keepdim=True).clamp_min(POWER_FLOOR)
    raise ValueError(f"unknown soft-label mode '{mode}'; choose one of {SOFT_LABEL_MODES}")


def target_distribution(target: Tensor, num_classes: int) -> Tensor:
    """Hard indices [B, S] (or [B]) become one-hot [B, S, C]; distributions [B, S, C] pass through."""
    if target.is_floating_point():
        return target if target.dim() == 3 else target.unsqueeze(1)
    target = target if target.dim() == 2 else target.unsqueeze(1)  # [B, S]
    return F.one_hot(target.long(), num_classes).to(torch.float32)  # [B, S, C]


class CrossEntropyLoss(LossTerm):
    """Cross-entropy over beams, per slot: l[b, s] = -sum_c q[b, s, c] log softmax(z[b, s])_c.

    q is the one-hot true beam (hard target) or a soft distribution: given directly as a float
    target, or derived from the 64-beam powers (`soft_labels`, see `power_to_soft_labels`). With a
    one-hot q this is the usual hard cross-entropy.

    Reduced by `mean_over_batch_and_slots` (see `kdcs.distill.losses`).

    Input: student_logits [B, S, C]; target [B, S] int64 beam indices, or [B, S, C] probabilities,
    or (with `soft_labels` set) beam_power [B, S, C] linear power. Output: scalar.
    """

    key = "ce"
    reads = ("student_logits", "target")

    def __init__(
        self,
        soft_labels: str | None = None,
        tau_db: float = 1.0,
        slot_weights: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        if soft_labels is not None and soft_labels not in SOFT_LABEL_MODES:
            raise ValueError(f"unknown soft_labels '{soft_labels}'; choose one of {SOFT_LABEL_MODES} or None")
        self.soft_labels = soft_labels
        self.tau_db = float(tau_db)
        self.register_buffer("slot_weights", check_slot_weights(slot_weights), persistent=False)
        if soft_labels is not None:
            self.reads = ("student_logits", "beam_power")

    def forward(self, student_logits: Tensor, target: Tensor) -> Tensor:
        logits = as_slotted(student_logits)  # [B, S, C]
        if self.soft_labels is not None:
            target = power_to_soft_labels(as_slotted(target), self.soft_labels, self.tau_db)
        q = target_distribution(target, logits.shape[-1]).to(logits)  # [B, S, C]
        per_item = -(q * F.log_softmax(logits, dim=-1)).sum(dim=-1)  # [B, S]
        return mean_over_batch_and_slots(per_item, self.slot_weights)
