"""Multi-teacher (ensemble) KD: one student learns the blended predictions of several teachers."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from kdcs.distill.losses._base import (
    LossTerm,
    check_slot_weights,
    check_temperature,
    mean_over_batch_and_slots,
    tempered_kl,
)


def stack_teachers(teacher_logits: Tensor) -> Tensor:
    """One teacher [B, S, C] or K stacked teachers [K, B, S, C] -> [K, B, S, C]."""
    if teacher_logits.dim() == 3:
        return teacher_logits.unsqueeze(0)
    if teacher_logits.dim() != 4:
        raise ValueError(
            f"teacher logits must be [K, B, S, C] or [B, S, C], got {tuple(teacher_logits.shape)}"
        )
    return teacher_logits


def entropy(probs: Tensor) -> Tensor:
    """H(p) = -sum_c p_c log p_c in nats, over the last axis."""
    return -torch.special.xlogy(probs, probs).sum(dim=-1)


class MultiTeacherKDLoss(LossTerm):
    """Ensemble KD (Hinton et al. 2015; You et al., "Learning from Multiple Teacher Networks", KDD 2017):

        q[b, s]  = sum_k a_k[b, s] softmax(z_k[b, s] / T)
        l[b, s]  = T^2 * KL( q[b, s] || softmax(z_s[b, s] / T) )

    Teacher weights a_k are the given `teacher_weights` (normalised to sum 1; equal when None). With
    `confidence_weighting`, each sample and slot re-weights them by the teacher's confidence,
    a_k[b, s] = softmax_k( log w_k - H(softmax(z_k[b, s])) ): a teacher sure of its beam (low entropy
    of its untempered prediction) counts more where it is sure. For APs with different views, this
    lets the AP that sees the vehicle speak for it. One teacher gives exactly `logit-kd`.

    Reduced by `mean_over_batch_and_slots`. Teacher logits are detached.

    Input: student_logits [B, S, C]; teacher_logits [K, B, S, C] (or one teacher [B, S, C]). Output: scalar.
    """

    key = "multi-teacher"
    reads = ("student_logits", "teacher_logits")

    def __init__(
        self,
        temperature: float = 4.0,
        teacher_weights: Sequence[float] | None = None,
        confidence_weighting: bool = False,
        slot_weights: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        self.temperature = check_temperature(temperature)
        self.confidence_weighting = bool(confidence_weighting)
        weights = (
            None if teacher_weights is None else torch.as_tensor(list(teacher_weights), dtype=torch.float32)
        )
        if weights is not None and (bool((weights < 0).any()) or float(weights.sum()) <= 0):
            raise ValueError(f"teacher_weights must be >= 0 with a positive sum, got {teacher_weights}")
        self.register_buffer("teacher_weights", weights, persistent=False)
        self.register_buffer("slot_weights", check_slot_weights(slot_weights), persistent=False)

    def mixing_weights(self, teachers: Tensor) -> Tensor:
        """a_k[b, s] for stacked teacher logits [K, B, S, C]. Output [K, B, S, 1], sums to 1 over K."""
        count = teachers.shape[0]
        given = self.teacher_weights if self.teacher_weights is not None else teachers.new_ones(count)
        if given.numel() != count:
            raise ValueError(f"{given.numel()} teacher_weights given for {count} teachers")
        log_given = torch.log(given.to(teachers) / given.sum()).view(count, 1, 1)  # [K, 1, 1]
        if self.confidence_weighting:
            scores = log_given - entropy(torch.softmax(teachers, dim=-1))  # [K, B, S]
        else:
            scores = log_given.expand(teachers.shape[:-1])  # [K, B, S]
        return torch.softmax(scores, dim=0).unsqueeze(-1)

    def forward(self, student_logits: Tensor, teacher_logits: Tensor) -> Tensor:
        teachers = stack_teachers(teacher_logits.detach())  # [K, B, S, C]
        if student_logits.shape != teachers.shape[1:]:
            raise ValueError(
                f"student logits {tuple(student_logits.shape)} != teacher logits {tuple(teachers.shape[1:])}"
            )
        tempered = torch.softmax(teachers / self.temperature, dim=-1)  # [K, B, S, C]
        blended = (self.mixing_weights(teachers) * tempered).sum(dim=0)  # [B, S, C]
        per_item = tempered_kl(student_logits, blended, self.temperature)  # [B, S]
        return mean_over_batch_and_slots(per_item, self.slot_weights)
