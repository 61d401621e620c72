"""What every model returns: logits for the J+1 slots plus named features for KD losses."""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor


@dataclass
class ModelOutput:
    """Output of a beam-tracking model for a batch of B windows.

    Attributes:
        logits: [B, J+1, num_beams] unnormalised scores for slots t, t+1, ..., t+J.
        features: named intermediate tensors any feature / relation loss may tap:
            "frame": [B, L, D] per-slot fused embedding, as it enters the GRU (after LayerNorm).
            "temporal": [B, L, H] GRU outputs over the observed slots (before temporal attention).
            "final": [B, H] GRU output after the last observed slot t.
            "slots": [B, J+1, H] read-out states the classifier turns into logits.
            "position": [B, J+1, 4] east, north (m), log std east, north, with `position_output`.
            "<modality>": [B, L, D_m] each encoder's per-slot embedding (e.g. "camera_motion").
            "modality_weights": [B, L, M] only with attention fusion.
    """

    logits: Tensor
    features: dict[str, Tensor] = field(default_factory=dict)
