"""The reference code's relational KD: distances and cosine similarities over random sample pairs."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from kdcs.distill.losses._base import LossTerm
from kdcs.distill.losses.rkd_park import DISTANCE_FLOOR, flatten_embeddings


def sample_partners(batch: int, partners_per_anchor: int | None, generator: torch.Generator) -> Tensor:
    """Pairs (anchor i, partner j != i): k distinct random partners per anchor, or all when k is None.

    Output: [P, 2] int64 on the CPU, P = B * min(k, B - 1).
    """
    others = batch - 1
    count = others if partners_per_anchor is None else min(partners_per_anchor, others)
    if partners_per_anchor is None:
        ranks = torch.arange(others).expand(batch, others)  # [B, B-1]
    else:
        ranks = torch.rand(batch, others, generator=generator).argsort(dim=1)[:, :count]  # [B, k]
    anchors = torch.arange(batch).unsqueeze(1).expand_as(ranks)  # [B, k]
    partners = ranks + (ranks >= anchors).long()  # skip the anchor itself
    return torch.stack([anchors.reshape(-1), partners.reshape(-1)], dim=1)


def pair_relations(embeddings: Tensor, pairs: Tensor) -> tuple[Tensor, Tensor]:
    """(distance / mean distance over the pairs, cosine similarity) per pair. Input [B, D], [P, 2]. Output [P], [P]."""
    first, second = embeddings[pairs[:, 0]], embeddings[pairs[:, 1]]  # [P, D]
    distances = (first - second).norm(dim=1)  # [P]
    normalised = distances / distances.mean().clamp_min(DISTANCE_FLOOR)
    return normalised, F.cosine_similarity(first, second, dim=1)


class RelationalCosineKDLoss(LossTerm):
    """The authors' relational KD variant (their `kd_mode = 5`), over random pairs (i, j):

        L = scale * ( w_D * mean_(i,j) (d^s_ij - d^t_ij)^2 + w_A * mean_(i,j) (c^s_ij - c^t_ij)^2 )

    d_ij = ||e_i - e_j|| / (mean of d over the sampled pairs); c_ij = cos(e_i, e_j), so the second term
    matches the two pairwise cosine-similarity matrices on the sampled entries (the reference writes it
    as 1 - c, which gives the same difference). Unlike Park et al.'s `rkd-park` there are no triplet angles
    and no Huber; with `partners_per_anchor=None` every off-diagonal pair is used and the sampling noise
    goes away. Embeddings [B, L, D] are flattened per sample, as in the reference. Reference settings
    (PAPER.md section 4): 4 partners per anchor, w_D = 1, w_A = 2, scale 10, alpha = 0.5.

    Randomness comes from this loss's own generator, seeded by `seed`, never the global RNG.

    Input: student [B, ...]; teacher [B, ...] (widths may differ). Output: scalar.
    """

    key = "rkd-cosine"
    reads = ("student_features.final", "teacher_features.final")

    def __init__(
        self,
        partners_per_anchor: int | None = 4,
        distance_weight: float = 1.0,
        angle_weight: float = 2.0,
        scale: float = 10.0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if partners_per_anchor is not None and partners_per_anchor < 1:
            raise ValueError(f"partners_per_anchor must be >= 1 or None, got {partners_per_anchor}")
        self.partners_per_anchor = partners_per_anchor
        self.distance_weight = float(distance_weight)
        self.angle_weight = float(angle_weight)
        self.scale = float(scale)
        self.generator = torch.Generator().manual_seed(seed)

    def forward(self, student_features: Tensor, teacher_features: Tensor) -> Tensor:
        student = flatten_embeddings(student_features)  # [B, D_s]
        teacher = flatten_embeddings(teacher_features.detach())  # [B, D_t]
        if student.shape[0] != teacher.shape[0] or student.shape[0] < 2:
            raise ValueError(
                f"relational KD needs the same batch (>= 2) on both sides, got {student.shape[0]} and {teacher.shape[0]}"
            )
        pairs = sample_partners(student.shape[0], self.partners_per_anchor, self.generator).to(student.device)
        student_distance, student_cosine = pair_relations(student, pairs)  # [P], [P]
        teacher_distance, teacher_cosine = pair_relations(teacher, pairs)  # [P], [P]
        distance_term = F.mse_loss(student_distance, teacher_distance)
        angle_term = F.mse_loss(student_cosine, teacher_cosine)
        return self.scale * (self.distance_weight * distance_term + self.angle_weight * angle_term)
