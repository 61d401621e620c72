"""Cross-modal KD: a multi-modal teacher (camera + radar + GPS) teaches a single-sensor student."""

from __future__ import annotations

import torch
from torch import Tensor

from kdcs.distill.losses._base import LossTerm, as_slotted, check_temperature, tempered_kl
from kdcs.distill.losses.feature_kd import WidthProjection, normalised_squared_distance


def shared_slots(student_logits: Tensor, teacher_logits: Tensor) -> tuple[Tensor, Tensor]:
    """Both cut to the slots both predict: t, t+1, ..., t+min(J_s, J_t). [B, S_s, C], [B, S_t, C] -> [B, S, C] each."""
    count = min(student_logits.shape[1], teacher_logits.shape[1])
    return student_logits[:, :count], teacher_logits[:, :count]


class CrossModalKDLoss(LossTerm):
    """Cross-modal KD (Gupta, Hoffman, Malik, "Cross Modal Distillation for Supervision Transfer",
    CVPR 2016; here as in the sister camera + radar paper, arXiv 2604.16708):

        L = w_E * mean_b || n(P e_s[b]) - n(e_t[b]) ||^2
          + w_Z * mean_{b, s<=S} T^2 KL( softmax(z_t[b, s] / T) || softmax(z_s[b, s] / T) )

    e_s, e_t: the student's and teacher's fused embeddings (the "final" feature, [B, D]); P: a learned
    width projection (KD-only); n(x) = x / ||x||; the KL runs over the slots both models predict.

    How it differs from `feature-kd`: feature KD matches features step by step and assumes both
    models read the same sensor, so frame t of the student's CNN can mimic frame t of the
    teacher's. Here the student reads a different (fewer) sensor(s): it cannot reproduce
    camera-specific features, only what they imply about the scene. So only the summary embedding
    after fusion is aligned, by direction (sensor-specific scales differ), and the teacher's beam
    distribution anchors that embedding to what matters for the beam. An AP with only a radar
    inherits what the camera saw.

    Input: student_logits [B, S_s, C]; teacher_logits [B, S_t, C]; student_embedding [B, D_s];
    teacher_embedding [B, D_t]. Output: scalar.
    """

    key = "cross-modal"
    reads = ("student_logits", "teacher_logits", "student_features.final", "teacher_features.final")

    def __init__(
        self,
        student_dim: int,
        teacher_dim: int,
        temperature: float = 4.0,
        embedding_weight: float = 1.0,
        logit_weight: float = 1.0,
    ) -> None:
        super().__init__()
        self.projection = WidthProjection(student_dim, teacher_dim)
        self.temperature = check_temperature(temperature)
        self.embedding_weight = float(embedding_weight)
        self.logit_weight = float(logit_weight)

    def forward(
        self,
        student_logits: Tensor,
        teacher_logits: Tensor,
        student_embedding: Tensor,
        teacher_embedding: Tensor,
    ) -> Tensor:
        projected = self.projection(student_embedding.reshape(student_embedding.shape[0], -1))  # [B, D_t]
        teacher_embedding = teacher_embedding.detach().reshape(teacher_embedding.shape[0], -1)  # [B, D_t]
        embedding_term = normalised_squared_distance(projected, teacher_embedding).mean()
        student, teacher = shared_slots(as_slotted(student_logits), as_slotted(teacher_logits).detach())
        teacher_probs = torch.softmax(teacher / self.temperature, dim=-1)  # [B, S, C]
        logit_term = tempered_kl(student, teacher_probs, self.temperature).mean()
        return self.embedding_weight * embedding_term + self.logit_weight * logit_term
