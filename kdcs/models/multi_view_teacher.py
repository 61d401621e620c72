"""A central teacher that sees every AP's sensors at once and scores every AP's codebook.

One encoder per view ("ap1/camera_motion", "ap3/radar", "ap4/gps", every AP's beam history ...),
fused per slot, one GRU over the window, then one classifier head per AP: head k scores AP k's 64
beams at t..t+J. The views are what the APs sent the centre over fronthaul; an AP's student, with
only its own sensors, then distils from its own head (cross-view and cross-modal KD at once).

Logits are stacked AP-major, [B, A * (J+1), C] (AP 1's slots, then AP 2's ...), the layout of
`kdcs.data.multi_view` targets, so the trainer, the losses and the metrics treat the teacher as one
model with A * (J+1) slots; `head_logits` cuts out one AP's [B, J+1, C].
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from kdcs.models.beam_tracking_model import BeamTrackingModel
from kdcs.models.classifier import SlotClassifier
from kdcs.models.config import KNOWN_MODALITIES, ModelConfig
from kdcs.models.fusion import build_fusion
from kdcs.models.readout import build_readout
from kdcs.models.temporal import TemporalBlock
from kdcs.models.zoo import ARCHITECTURES, build_encoder, resolve_config

VIEW_SEPARATOR = "/"  # as kdcs.data.multi_view writes batch keys (models do not import data)


@dataclass(frozen=True)
class MultiViewConfig:
    """Which APs the teacher scores, which views it reads, and the per-view model settings.

    aps: AP names in head order (also the order of targets). views: "<ap>/<modality>" keys, each AP
    in `aps`, each modality one of KNOWN_MODALITIES. model: architecture (its image CNN, temporal
    attention, classifier depth), widths, L, J, modality_dropout (here: per view).
    """

    aps: tuple[str, ...] = ()
    views: tuple[str, ...] = ()
    model: ModelConfig = field(default_factory=lambda: ModelConfig(architecture="multimodal-teacher"))

    def __post_init__(self) -> None:
        object.__setattr__(self, "aps", tuple(self.aps))
        object.__setattr__(self, "views", tuple(self.views))
        if len(set(self.aps)) != len(self.aps):
            raise ValueError(f"multi-view teacher APs must be distinct, got {self.aps}")
        for view in self.views:
            ap, _, modality = view.partition(VIEW_SEPARATOR)
            if ap not in self.aps or modality not in KNOWN_MODALITIES:
                raise ValueError(
                    f"view {view!r} must be '<ap>/<modality>' with ap in {self.aps} and modality in "
                    f"{KNOWN_MODALITIES}"
                )

    @property
    def history(self) -> int:
        return self.model.history

    @property
    def horizon(self) -> int:
        return self.model.horizon

    @property
    def num_beams(self) -> int:
        return self.model.num_beams

    @property
    def num_slots(self) -> int:
        """A * (J + 1): every AP's slots."""
        return len(self.aps) * self.model.num_slots


class PerApHeads(nn.Module):
    """One SlotClassifier per AP on the shared read-out slots; logits stacked AP-major.

    Input: [B, J+1, H]. Output: [B, A * (J+1), num_beams].
    """

    def __init__(self, num_aps: int, hidden: int, num_beams: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.heads = nn.ModuleList(
            SlotClassifier(hidden, num_beams, layers, hidden=hidden, dropout=dropout) for _ in range(num_aps)
        )

    def forward(self, slots: Tensor) -> Tensor:
        return torch.cat([head(slots) for head in self.heads], dim=1)


class MultiViewTeacher(BeamTrackingModel):
    """BeamTrackingModel over views instead of modalities, with a head per AP (module docstring)."""

    def __init__(self, config: MultiViewConfig) -> None:
        if not config.views:
            raise ValueError("a multi-view teacher needs at least one view")
        # views replace modalities: the architecture's default modality list does not apply
        model = dataclasses.replace(resolve_config(config.model), modalities=None)
        spec = ARCHITECTURES[model.architecture]
        encoders = {
            view: build_encoder(view.partition(VIEW_SEPARATOR)[2], model, spec) for view in config.views
        }
        widths = {view: int(encoder.out_features) for view, encoder in encoders.items()}
        temporal = TemporalBlock(
            model.hidden,
            model.hidden,
            attention=model.temporal_attention,
            heads=model.attention_heads,
            scorer_hidden=model.temporal_attention_hidden,
        )
        heads = PerApHeads(
            len(config.aps), model.hidden, model.num_beams, spec.classifier_layers, model.dropout
        )
        super().__init__(
            model,
            encoders,
            fusion=build_fusion(model.fusion, widths, model.hidden),
            temporal=temporal,
            readout=build_readout(model.readout, model.horizon, model.hidden),
            classifier=heads,
        )
        self.config = dataclasses.replace(config, model=model)

    def head_logits(self, logits: Tensor, ap: str) -> Tensor:
        """AP `ap`'s logits [B, J+1, C] out of the stacked [B, A * (J+1), C]."""
        return split_head_logits(logits, self.config, ap)


def split_head_logits(logits, config: MultiViewConfig, ap: str):
    """AP `ap`'s [..., J+1, C] slice of stacked [..., A * (J+1), C] logits (tensor or array)."""
    if ap not in config.aps:
        raise KeyError(f"the multi-view teacher has no head for {ap!r} (heads: {list(config.aps)})")
    slots = config.model.num_slots
    start = config.aps.index(ap) * slots
    return logits[..., start : start + slots, :]


def build_multi_view_teacher(config: MultiViewConfig) -> MultiViewTeacher:
    return MultiViewTeacher(config)
