"""Feature KD (FitNets-style): the student's intermediate features regress onto the teacher's."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kdcs.distill.losses._base import LossTerm


class WidthProjection(nn.Module):
    """Learned map from the student's feature width to the teacher's: y = W x + b over the last axis.

    Starts as the identity when the widths match (training begins from "no adaptation").
    KD-only: never part of the deployed student.

    Input: [..., student_dim]. Output: [..., teacher_dim].
    """

    kd_only = True

    def __init__(self, student_dim: int, teacher_dim: int) -> None:
        super().__init__()
        self.linear = nn.Linear(student_dim, teacher_dim)
        if student_dim == teacher_dim:
            with torch.no_grad():
                self.linear.weight.copy_(torch.eye(teacher_dim))
                self.linear.bias.zero_()

    def forward(self, features: Tensor) -> Tensor:
        return self.linear(features)


def end_aligned_time_init(student_len: int, teacher_len: int) -> Tensor:
    """[teacher_len, student_len] 0/1 matrix: teacher step m copies student step m - (Lt - Ls), clamped.

    Both windows end at the same slot t, so the last steps see the same instant; teacher steps older
    than anything the student saw start from the student's oldest step.
    """
    offset = teacher_len - student_len
    source = (torch.arange(teacher_len) - offset).clamp(0, student_len - 1)  # [Lt]
    return F.one_hot(source, student_len).to(torch.float32)  # [Lt, Ls]


class TimeMap(nn.Module):
    """Learned linear map over the sequence axis, student length Ls -> teacher length Lt:

        y[b, m, d] = sum_l A[m, l] x[b, l, d] + c[m]

    Needed when the student sees a shorter window than the teacher (temporal distillation, L = 3
    or 5 against 8). A starts end-aligned (`end_aligned_time_init`). KD-only.

    Input: [B, Ls, D]. Output: [B, Lt, D].
    """

    kd_only = True

    def __init__(self, student_len: int, teacher_len: int) -> None:
        super().__init__()
        self.linear = nn.Linear(student_len, teacher_len)
        with torch.no_grad():
            self.linear.weight.copy_(end_aligned_time_init(student_len, teacher_len))
            self.linear.bias.zero_()

    def forward(self, features: Tensor) -> Tensor:
        return self.linear(features.transpose(1, 2)).transpose(1, 2)  # [B, D, Ls] -> [B, Lt, D]


def normalised_squared_distance(student: Tensor, teacher: Tensor) -> Tensor:
    """||s/|s| - t/|t|||^2 over the last axis (= 2 - 2 cos(s, t), in [0, 4]). Input [..., D]. Output [...]."""
    return (F.normalize(student, dim=-1) - F.normalize(teacher, dim=-1)).pow(2).sum(dim=-1)


class FeatureKDLoss(LossTerm):
    """Feature KD (Romero et al., "FitNets: Hints for Thin Deep Nets", ICLR 2015), per step:

        l[b, l] = || n(P(M(f_s))[b, l]) - n(f_t[b, l]) ||^2,   n(x) = x / ||x||

    P is a learned width projection D_s -> D_t (`WidthProjection`); M is a learned time map
    L_s -> L_t (`TimeMap`), present only when the lengths differ. Both act on the student side,
    as in FitNets: a learned map on the teacher side could shrink the target to whatever the
    student already outputs. Features are L2-normalised per step so the loss does not depend on the
    two networks' activation scales. Summed over features, averaged over batch and steps (steps play
    the role of slots in `mean_over_batch_and_slots`).

    Parameters: student_dim D_s, teacher_dim D_t; student_len L_s and teacher_len L_t for sequence
    features (leave None for embeddings [B, D]).

    Input: student [B, L_s, D_s] or [B, D_s]; teacher [B, L_t, D_t] or [B, D_t]. Output: scalar.
    """

    key = "feature-kd"
    reads = ("student_features.frame", "teacher_features.frame")

    def __init__(
        self,
        student_dim: int,
        teacher_dim: int,
        student_len: int | None = None,
        teacher_len: int | None = None,
    ) -> None:
        super().__init__()
        self.projection = WidthProjection(student_dim, teacher_dim)
        needs_time_map = student_len is not None and teacher_len is not None and student_len != teacher_len
        self.time_map = TimeMap(student_len, teacher_len) if needs_time_map else None

    def align(self, student: Tensor) -> Tensor:
        """The student's features mapped into the teacher's shape. [B, L_s, D_s] -> [B, L_t, D_t]."""
        if self.time_map is not None:
            student = self.time_map(student)
        return self.projection(student)

    def forward(self, student_features: Tensor, teacher_features: Tensor) -> Tensor:
        aligned = self.align(student_features)  # [B, L_t, D_t] or [B, D_t]
        teacher = teacher_features.detach()
        if aligned.shape != teacher.shape:
            raise ValueError(
                f"student features {tuple(student_features.shape)} map to {tuple(aligned.shape)}, "
                f"but teacher features are {tuple(teacher.shape)}; set student_len/teacher_len for sequences"
            )
        return normalised_squared_distance(aligned, teacher).mean()
