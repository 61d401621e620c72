"""Deep mutual learning: peers train together, each distilling from the others' current predictions."""

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
from kdcs.distill.losses.multi_teacher import stack_teachers


class DeepMutualLearningLoss(LossTerm):
    """Deep mutual learning (Zhang, Xiang, Hospedales, Lu, "Deep Mutual Learning", CVPR 2018), for one peer:

        l[b, s] = (1/K) sum_k T^2 * KL( softmax(z_k[b, s] / T) || softmax(z_self[b, s] / T) )

    over its K peers, whose logits are detached: each peer's own loss pulls only its own model, and
    the peers trade places on their turn. For two peers the two losses add up to the symmetric
    (Jeffreys) divergence. Unlike `multi-teacher`, which matches the blend of the peers, this averages
    the divergences to each peer (the paper's rule for K > 2). No pretrained teacher is needed: peer
    APs with overlapping coverage teach each other online. The paper uses T = 1.

    Reduced by `mean_over_batch_and_slots`.

    Input: student_logits [B, S, C] (this peer); peer_logits [K, B, S, C] or one peer [B, S, C]. Output: scalar.
    """

    key = "dml"
    reads = ("student_logits", "peer_logits")

    def __init__(self, temperature: float = 1.0, slot_weights: Sequence[float] | None = None) -> None:
        super().__init__()
        self.temperature = check_temperature(temperature)
        self.register_buffer("slot_weights", check_slot_weights(slot_weights), persistent=False)

    def forward(self, student_logits: Tensor, peer_logits: Tensor) -> Tensor:
        student = as_slotted(student_logits)  # [B, S, C]
        peers = stack_teachers(peer_logits.detach())  # [K, B, S, C]
        if student.shape != peers.shape[1:]:
            raise ValueError(f"student logits {tuple(student.shape)} != peer logits {tuple(peers.shape[1:])}")
        peer_probs = torch.softmax(peers / self.temperature, dim=-1)  # [K, B, S, C]
        per_peer = torch.stack(
            [tempered_kl(student, probs, self.temperature) for probs in peer_probs]
        )  # [K, B, S]
        return mean_over_batch_and_slots(per_peer.mean(dim=0), self.slot_weights)
