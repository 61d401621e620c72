"""What every loss in the zoo shares: the base class, the one reduction, the tempered KL.

The reduction rule is written down once, in `kdcs.distill.losses` (the package docstring), and
implemented once, here, in `mean_over_batch_and_slots`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class LossTerm(nn.Module):
    """Base of every loss in the zoo: tensors in, one scalar out.

    Class attributes a subclass sets:
    - `key`: the registry key, kebab-case; the file is its snake-case spelling (`"rkd-park"` ->
      `losses/rkd_park.py`).
    - `reads`: the context keys its `forward` arguments come from, in order. The composer looks
      them up; `read_from(...)` points a term at other keys (e.g. "student_features.temporal").

    `kd_only = True`: every parameter a loss owns (width projections, time maps) exists only to
    train; the deployed student never carries it, so complexity accounting counts it apart.
    """

    key: str = ""
    reads: tuple[str, ...] = ()
    kd_only: bool = True

    def read_from(self, *keys: str) -> LossTerm:
        """Read the forward arguments from other context keys; returns self for chaining."""
        if len(keys) != len(self.reads):
            raise ValueError(
                f"loss '{self.key}' reads {len(self.reads)} inputs {self.reads}, got {len(keys)}: {keys}"
            )
        self.reads = tuple(keys)
        return self


def as_slotted(logits: Tensor) -> Tensor:
    """Give single-slot logits a slot axis. Input [B, C] or [B, S, C]. Output [B, S, C]."""
    if logits.dim() == 2:
        return logits.unsqueeze(1)
    if logits.dim() != 3:
        raise ValueError(
            f"logits must be [batch, slots, classes] or [batch, classes], got {tuple(logits.shape)}"
        )
    return logits


def check_slot_weights(slot_weights: Sequence[float] | None) -> Tensor | None:
    """Validate per-slot weights once, at construction. Output: [S] float tensor or None."""
    if slot_weights is None:
        return None
    weights = torch.as_tensor(list(slot_weights), dtype=torch.float32)
    if weights.dim() != 1 or weights.numel() == 0:
        raise ValueError(f"slot_weights must be a non-empty list of floats, got {slot_weights}")
    if bool((weights < 0).any()) or float(weights.sum()) <= 0.0:
        raise ValueError(f"slot_weights must be >= 0 with a positive sum, got {slot_weights}")
    return weights


def mean_over_batch_and_slots(per_item: Tensor, slot_weights: Tensor | None = None) -> Tensor:
    """The zoo's one reduction: mean over the batch, weighted mean over slots.

    loss = sum_s w_s * (1/B) sum_b l[b, s] / sum_s w_s; with w = None every slot weighs 1, so this is
    the plain mean over B*S items. Weights are relative: scaling them all leaves the loss unchanged
    (the composer's weight owns the scale).

    Input: per_item [B, S] (already summed over classes / features); slot_weights [S] or None.
    Output: scalar.
    """
    if slot_weights is None:
        return per_item.mean()
    if slot_weights.numel() != per_item.shape[1]:
        raise ValueError(f"{slot_weights.numel()} slot weights given for {per_item.shape[1]} slots")
    weights = slot_weights.to(per_item)  # [S]
    per_slot = per_item.mean(dim=0)  # [S]
    return (per_slot * weights).sum() / weights.sum()


def tempered_kl(student_logits: Tensor, teacher_probs: Tensor, temperature: float) -> Tensor:
    """Per-item KL(q || softmax(z_s / T)) * T^2, summed over classes (Hinton et al., 2015).

    The T^2 factor keeps the gradient scale independent of T. `teacher_probs` must already be
    tempered and must not need gradients (callers detach it).

    Input: student_logits [B, S, C]; teacher_probs [B, S, C]. Output: [B, S].
    """
    log_student = F.log_softmax(student_logits / temperature, dim=-1)  # [B, S, C]
    # xlogy makes 0 * log 0 = 0, so one-hot teacher distributions are safe
    kl = torch.special.xlogy(teacher_probs, teacher_probs) - teacher_probs * log_student  # [B, S, C]
    return kl.sum(dim=-1) * temperature**2


def check_temperature(temperature: float) -> float:
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    return float(temperature)
