"""Position distillation: the student's Gaussian over the vehicle's position toward a target one.

Targets are positions in the shared metric frame with their own spread: a GPS fix (spread 0) or the
consensus of other nodes (their fused mean and spread). Per slot and axis, the loss is the expected
negative log-likelihood of the target distribution under the student's Gaussian,

    l = log s + ((m_t - m_s)^2 + s_t^2) / (2 s^2)        (m: mean, s: standard deviation),

so a student can never become surer than its target (the minimum over s is at s^2 = (m_t - m_s)^2
+ s_t^2). As every loss of the zoo: summed over the two axes per window and slot, averaged over the
windows and slots kept; those whose target is not finite (no GPS at that instant, no consensus) are
left out, and a batch without any finite target contributes 0.

Input: student_position [B, S, 4], target_position [B, S, 4] (east, north, log std east, north).
Output: scalar, nats.
"""

from __future__ import annotations

import torch
from torch import Tensor

from kdcs.distill.losses._base import LossTerm


class PositionNLLLoss(LossTerm):
    key = "position-nll"
    reads = ("student_features.position", "teacher_features.position")
    default_alpha = None
    kd_only = True

    def __init__(self) -> None:
        super().__init__()

    def forward(self, student_position: Tensor, target_position: Tensor) -> Tensor:
        target = target_position.detach().to(student_position)
        if student_position.shape != target.shape or student_position.shape[-1] != 4:
            raise ValueError(
                f"positions must both be [B, S, 4], got {tuple(student_position.shape)} and {tuple(target.shape)}"
            )
        kept = torch.isfinite(target).all(dim=-1)  # [B, S]
        if not kept.any():
            return student_position.sum() * 0.0
        student, target = student_position[kept], target[kept]  # [N, 4]
        mean, log_std = student[:, :2], student[:, 2:]
        spread = (target[:, :2] - mean) ** 2 + torch.exp(2 * target[:, 2:])
        return (log_std + spread / (2 * torch.exp(2 * log_std))).sum(dim=-1).mean()
