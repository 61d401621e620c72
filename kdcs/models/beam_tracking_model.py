"""BeamTrackingModel: encoders -> fusion -> LayerNorm -> GRU (+ attention) -> read-out -> classifier.

Time is folded into the batch for every per-slot module: each encoder is called once per
forward on [B*L, ...] inputs, never in a Python loop over slots. The forward pass is the per-slot
`encode` followed by the window `head`; a streaming tracker runs the same two pieces apart.
"""

from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor, nn

from kdcs.models.config import ModelConfig
from kdcs.models.modality_dropout import ModalityDropout
from kdcs.models.output import ModelOutput


class BeamTrackingModel(nn.Module):
    """A beam tracker assembled from parts (see `kdcs.models.zoo` for the named ones).

    Parameters:
        config: the resolved ModelConfig (modalities filled in); kept as `self.config`.
        encoders: modality -> encoder mapping [B*L, ...] -> [B*L, D_m]; order = fusion order.
        fusion: list of [B, L, D_m] -> ([B, L, D], modality weights or None).
        temporal: [B, T, D] -> (GRU outputs [B, T, H], attended outputs [B, T, H]).
        readout: `extend` [B, L, D] -> [B, T, D] before the GRU, `read` -> [B, J+1, H] after.
        classifier: [B, J+1, H] -> [B, J+1, num_beams].
        position_head: [B, J+1, H] -> [B, J+1, 4] (feature "position"), or None.
    Input: batch dict with one [B, L, ...] tensor per modality (keys as in WindowBatcher;
        other keys such as "target" are ignored).
    Output: ModelOutput(logits [B, J+1, num_beams], features; see `ModelOutput`).
    """

    def __init__(
        self,
        config: ModelConfig,
        encoders: Mapping[str, nn.Module],
        fusion: nn.Module,
        temporal: nn.Module,
        readout: nn.Module,
        classifier: nn.Module,
        position_head: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.modalities = tuple(encoders)
        self.encoders = nn.ModuleDict(dict(encoders))
        self.modality_dropout = ModalityDropout(config.modality_dropout)
        self.fusion = fusion
        # Normalises each fused slot before the GRU (the reference's LayerNorm); with the
        # zero-append read-out its bias is also the GRU input at the future slots.
        self.frame_norm = nn.LayerNorm(config.hidden)
        self.temporal = temporal
        self.readout = readout
        self.classifier = classifier
        self.position_head = position_head

    def encode(self, batch: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """Per-modality embeddings, time folded into the batch: modality -> [B, L, D_m]."""
        missing = [m for m in self.modalities if m not in batch]
        if missing:
            raise KeyError(
                f"batch has no {missing[0]!r} input (model reads {self.modalities}, batch has {sorted(batch)})"
            )
        embeddings = {}
        batch_size, history = batch[self.modalities[0]].shape[:2]
        for modality, encoder in self.encoders.items():
            inputs = batch[modality]
            if tuple(inputs.shape[:2]) != (batch_size, history):
                raise ValueError(
                    f"{modality!r} input starts with {tuple(inputs.shape[:2])}, expected [B, L] = {(batch_size, history)}"
                )
            folded = inputs.reshape(batch_size * history, *inputs.shape[2:])  # [B*L, ...]
            embeddings[modality] = encoder(folded).view(batch_size, history, -1)  # [B, L, D_m]
        return embeddings

    def head(self, embeddings: Mapping[str, Tensor]) -> ModelOutput:
        """Everything after the per-slot encoders, on a window of embeddings (modality -> [B, T, D_m])."""
        dropped = self.modality_dropout([embeddings[m] for m in self.modalities])  # training only
        fused, modality_weights = self.fusion(dropped)  # [B, T, D]
        history = fused.shape[1]
        sequence = self.frame_norm(self.readout.extend(fused))  # [B, T, D], T = L or L+J
        gru_states, attended = self.temporal(sequence)  # [B, T, H] each
        slots = self.readout.read(attended, history)  # [B, J+1, H]
        logits = self.classifier(slots)  # [B, J+1, num_beams]
        features = {
            **embeddings,
            "frame": sequence[:, :history],
            "temporal": gru_states[:, :history],
            "final": gru_states[:, history - 1],
            "slots": slots,
        }
        if modality_weights is not None:
            features["modality_weights"] = modality_weights
        if self.position_head is not None:
            features["position"] = self.position_head(slots)
        return ModelOutput(logits=logits, features=features)

    def forward(self, batch: Mapping[str, Tensor]) -> ModelOutput:
        return self.head(self.encode(batch))
