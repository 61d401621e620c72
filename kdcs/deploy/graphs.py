"""A trained BeamTrackingModel cut into the graphs a deployment runs.

- `WindowGraph`: the whole window model, inputs [B, L, ...] per modality -> logits [B, J+1, C].
- `SlotEncoderGraph`: the per-frame encoders for ONE slot, inputs [B, ...] -> embeddings [B, D_m].
  This is the expensive part (the CNNs); a streaming tracker runs it once per slot.
- `WindowHeadGraph`: everything after the encoders, on the buffered embeddings [B, T, D_m]:
  fusion, LayerNorm, the read-out's extension, GRU (+ temporal attention), read-out, classifier.
  It starts the GRU from a fresh state at the first buffered slot, exactly as the window model
  does, so a stream of SlotEncoderGraph outputs fed through it reproduces the window model.

`WindowHeadGraph(SlotEncoderGraph(x) for every slot)` performs the same operations as
`BeamTrackingModel.forward`; the parity tests hold the two together.

Positional inputs in `model.modalities` order (ONNX graphs take a flat list of inputs). Every graph
works on a model in eval mode and shares its parameters (no copies).
"""

from __future__ import annotations

from torch import Tensor, nn

from kdcs.models import BeamTrackingModel


def embedding_input_name(modality: str) -> str:
    """Name of a WindowHeadGraph input in ONNX: the embeddings of one modality."""
    return f"{modality}_embedding"


class SlotEncoderGraph(nn.Module):
    """Per-modality encoders for one slot.

    Input: one tensor per modality, in `model.modalities` order, [B, ...] as one slot of a
        WindowBatcher batch (camera_motion [B, H, W] uint8, gps [B, 4], beam_history [B] int64, ...).
    Output: tuple of embeddings [B, D_m], same order.
    """

    def __init__(self, model: BeamTrackingModel) -> None:
        super().__init__()
        self.model = model
        self.modalities = tuple(model.modalities)

    def forward(self, *slot_inputs: Tensor) -> tuple[Tensor, ...]:
        encoders = self.model.encoders
        return tuple(encoders[m](x) for m, x in zip(self.modalities, slot_inputs, strict=True))


class WindowHeadGraph(nn.Module):
    """`BeamTrackingModel.head`: fusion -> LayerNorm -> read-out extension -> temporal block -> read-out
    -> classifier (modality dropout in between is a no-op in eval mode).

    Input: one embedding window [B, T, D_m] per modality (`model.modalities` order), T >= 1 the
        observed slots, oldest first.
    Output: logits [B, J+1, num_beams] for slots t..t+J, t = the last observed slot.
    """

    def __init__(self, model: BeamTrackingModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, *embeddings: Tensor) -> Tensor:
        model = self.model
        return model.head(dict(zip(model.modalities, embeddings, strict=True))).logits  # [B, J+1, C]


class WindowGraph(nn.Module):
    """The window model with positional inputs: [B, L, ...] per modality -> logits [B, J+1, C]."""

    def __init__(self, model: BeamTrackingModel) -> None:
        super().__init__()
        self.encoders = SlotEncoderGraph(model)
        self.head = WindowHeadGraph(model)

    def forward(self, *window_inputs: Tensor) -> Tensor:
        batch, history = window_inputs[0].shape[:2]
        folded = [x.reshape(batch * history, *x.shape[2:]) for x in window_inputs]  # [B*L, ...]
        embeddings = self.encoders(*folded)  # [B*L, D_m] each
        return self.head(*(e.reshape(batch, history, -1) for e in embeddings))  # [B, J+1, C]
