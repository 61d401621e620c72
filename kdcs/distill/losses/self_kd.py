"""Self-KD (born-again networks): a trained model teaches a fresh copy of itself."""

from __future__ import annotations

from collections.abc import Sequence

from kdcs.distill.losses.logit_kd import LogitKDLoss


class SelfKDLoss(LogitKDLoss):
    """Born-again KD (Furlanello et al., "Born-Again Neural Networks", ICML 2018).

    The same equation as `logit-kd`,

        l[b, s] = T^2 * KL( softmax(z_frozen[b, s] / T) || softmax(z_fresh[b, s] / T) ),

    where the "teacher" is a frozen, trained copy of the student's own architecture. It has its own
    registry entry so configs say what they mean and carry the paper's teacher self-KD defaults:
    T = 3 and alpha = 0.5 (PAPER.md section 4; published gain 0.429 -> 0.449 mean top-1).

    Input: student_logits [B, S, C] (fresh copy); teacher_logits [B, S, C] (frozen copy). Output: scalar.
    """

    key = "self-kd"
    reads = ("student_logits", "teacher_logits")

    def __init__(self, temperature: float = 3.0, slot_weights: Sequence[float] | None = None) -> None:
        super().__init__(temperature=temperature, slot_weights=slot_weights)
