"""Relational KD (Park et al. 2019): match distances and angles between samples' embeddings."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from kdcs.distill.losses._base import LossTerm

DISTANCE_FLOOR = 1e-12  # guards the mean-distance division on a degenerate batch


def flatten_embeddings(features: Tensor) -> Tensor:
    """Relations are between samples: [B, ...] -> [B, prod(...)]."""
    return features.reshape(features.shape[0], -1)


def normalised_pairwise_distances(embeddings: Tensor) -> Tensor:
    """psi_D(i, j) = ||e_i - e_j|| / mu, mu = mean over pairs i < j. Input [B, D]. Output [B(B-1)/2]."""
    distances = torch.pdist(embeddings)  # [P], pairs i < j
    return distances / distances.mean().clamp_min(DISTANCE_FLOOR)


def triplet_angles(embeddings: Tensor) -> Tensor:
    """psi_A(i, j, k) = <e_ij, e_kj>, e_ij = (e_i - e_j)/||e_i - e_j||, vertex j; distinct i, j, k only.

    Input [B, D]. Output [B (B-1) (B-2)].
    """
    batch = embeddings.shape[0]
    edges = F.normalize(embeddings.unsqueeze(0) - embeddings.unsqueeze(1), dim=-1)  # [B(j), B(i), D]
    cosines = torch.bmm(edges, edges.transpose(1, 2))  # [B(j), B(i), B(k)]
    eye = torch.eye(batch, dtype=torch.bool, device=embeddings.device)
    distinct = ~(eye[:, :, None] | eye[:, None, :] | eye[None, :, :])  # [B, B, B]
    return cosines[distinct]


class RelationalKDLoss(LossTerm):
    """Relational KD (Park, Kim, Lu, Cho, "Relational Knowledge Distillation", CVPR 2019):

        L = w_D * mean_{i<j} huber(psi_D^s(i, j) - psi_D^t(i, j))
          + w_A * mean_{i,j,k distinct} huber(psi_A^s(i, j, k) - psi_A^t(i, j, k))

    psi_D: Euclidean distance divided by the batch mean distance; psi_A: cosine of the angle at
    sample j between samples i and k. Both are invariant to scaling either network's embeddings,
    and neither needs the two widths to match. Huber = smooth-L1 with threshold 1. Park et al.'s
    weights: w_D = 1, w_A = 2. Relations are the items here, so the mean runs over pairs and
    triplets (the relational reading of the zoo's reduction rule). The angle term costs O(B^3 D).

    Input: student [B, D_s] (or [B, ...], flattened); teacher [B, D_t]. B >= 3 for angles.
    Output: scalar.
    """

    key = "rkd-park"
    reads = ("student_features.final", "teacher_features.final")

    def __init__(self, distance_weight: float = 1.0, angle_weight: float = 2.0) -> None:
        super().__init__()
        self.distance_weight = float(distance_weight)
        self.angle_weight = float(angle_weight)

    def forward(self, student_features: Tensor, teacher_features: Tensor) -> Tensor:
        student = flatten_embeddings(student_features)  # [B, D_s]
        teacher = flatten_embeddings(teacher_features.detach())  # [B, D_t]
        if student.shape[0] != teacher.shape[0] or student.shape[0] < 2:
            raise ValueError(
                f"RKD needs the same batch (>= 2) on both sides, got {student.shape[0]} and {teacher.shape[0]}"
            )
        loss = student.new_zeros(())
        if self.distance_weight:
            distance = F.smooth_l1_loss(
                normalised_pairwise_distances(student), normalised_pairwise_distances(teacher)
            )
            loss = loss + self.distance_weight * distance
        if self.angle_weight and student.shape[0] >= 3:
            angle = F.smooth_l1_loss(triplet_angles(student), triplet_angles(teacher))
            loss = loss + self.angle_weight * angle
        return loss
