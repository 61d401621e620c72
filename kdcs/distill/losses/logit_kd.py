"""Response (logit) KD: the student matches the teacher's softened beam distribution per slot."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from kdcs.distill.losses._base import (
    LossTerm,
    as_slotted,
    check_slot_weights,
    check_temperature,
    mean_over_batch_and_slots,
    tempered_kl,
)


class LogitKDLoss(LossTerm):
    """Hinton et al., "Distilling the Knowledge in a Neural Network" (2015), per slot:

        l[b, s] = T^2 * KL( softmax(z_t[b, s] / T) || softmax(z_s[b, s] / T) )

    summed over the C beams, then reduced by `mean_over_batch_and_slots` with optional per-slot
    weights w_s (relative: loss = sum_s w_s mean_b l[b, s] / sum_s w_s). A slot with w_s = 0 does not
    touch the loss. The reference's student setting is T = 4 with alpha = 0.7 (PAPER.md section 4).
    The teacher's logits are detached: no gradient ever reaches the teacher.

    Input: student_logits [B, S, C]; teacher_logits [B, S, C]. Output: scalar.
    """

    key = "logit-kd"
    reads = ("student_logits", "teacher_logits")

    def __init__(self, temperature: float = 4.0, slot_weights: Sequence[float] | None = None) -> None:
        super().__init__()
        self.temperature = check_temperature(temperature)
        self.register_buffer("slot_weights", check_slot_weights(slot_weights), persistent=False)

    def forward(self, student_logits: Tensor, teacher_logits: Tensor) -> Tensor:
        student = as_slotted(student_logits)  # [B, S, C]
        teacher = as_slotted(teacher_logits).detach()  # [B, S, C]
        if student.shape != teacher.shape:
            raise ValueError(
                f"student logits {tuple(student.shape)} != teacher logits {tuple(teacher.shape)}"
            )
        teacher_probs = torch.softmax(teacher / self.temperature, dim=-1)  # [B, S, C]
        per_item = tempered_kl(student, teacher_probs, self.temperature)  # [B, S]
        return mean_over_batch_and_slots(per_item, self.slot_weights)
