"""Named architectures: `build_model(ModelConfig(architecture="paper-teacher"))`.

An architecture fixes the per-frame CNN used for image-like inputs (camera, motion masks,
radar maps), its default modalities and temporal attention, and the classifier depth. Widths,
sizes, the read-out and the fusion come from the ModelConfig, so any architecture runs on any
modality set (e.g. `paper-student` on camera_motion + gps).

Reference parameter counts (camera_motion only, zero-append read-out, defaults otherwise):

    paper-teacher at 224x224: CNN 1,716,441 (see encoders/teacher_cnn.py) + LayerNorm 128
        + GRU(64) 24,960 + additive temporal attention 8,449 + classifier 12,480 = 1,762,458
    paper-student (any input size): CNN 139,584 (see encoders/student_cnn.py) + LayerNorm 128
        + GRU 24,960 + classifier 8,320 = 172,992
    ds-student (any input size): CNN 57,145 (see encoders/depthwise_cnn.py) + LayerNorm 128
        + GRU 24,960 + self-attention 16,640 + classifier 8,320 = 107,193
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from kdcs.data.windows import DEFAULT_HISTORY, DEFAULT_HORIZON
from kdcs.models.beam_tracking_model import BeamTrackingModel
from kdcs.models.classifier import SlotClassifier
from kdcs.models.config import IMAGE_MODALITIES, ModelConfig
from kdcs.models.encoders import (
    BeamHistoryEncoder,
    DepthwiseSeparableCNN,
    GpsEncoder,
    ImageEncoder,
    PaperStudentCNN,
    PaperTeacherCNN,
)
from kdcs.models.fusion import build_fusion
from kdcs.models.position_head import PositionHead
from kdcs.models.readout import build_readout
from kdcs.models.temporal import TemporalBlock

# (config, input size) -> CNN mapping [N, 1, H, W] -> [N, feature_size].
ImageBackboneBuilder = Callable[[ModelConfig, tuple[int, int]], nn.Module]


def _teacher_cnn(config: ModelConfig, size: tuple[int, int]) -> nn.Module:
    return PaperTeacherCNN(
        size,
        config.teacher_channels,
        config.teacher_fc,
        config.feature_size,
        attention=True,
        dropout=config.dropout,
    )


def _student_cnn(config: ModelConfig, size: tuple[int, int]) -> nn.Module:
    return PaperStudentCNN(config.student_channels, config.feature_size, dropout=config.dropout)


def _depthwise_cnn(config: ModelConfig, size: tuple[int, int]) -> nn.Module:
    return DepthwiseSeparableCNN(config.depthwise_channels, config.feature_size, attention=True)


def _tiny_depthwise_cnn(config: ModelConfig, size: tuple[int, int]) -> nn.Module:
    return DepthwiseSeparableCNN(config.radar_student_channels, config.feature_size, attention=False)


@dataclass(frozen=True)
class Architecture:
    """What a name fixes; everything else comes from the ModelConfig."""

    description: str
    image_backbone: ImageBackboneBuilder
    default_modalities: tuple[str, ...]
    temporal_attention: str
    classifier_layers: int
    readout: str = "multi-head"  # measured better on validation than zero-append (bench_readout.py)


ARCHITECTURES: dict[str, Architecture] = {
    "paper-teacher": Architecture(
        "the paper's teacher: 5-block CNN with channel + spatial attention, GRU, additive temporal attention",
        _teacher_cnn,
        ("camera_motion",),
        "additive",
        3,
        "zero-append",  # the published parameter count includes this read-out
    ),
    "paper-student": Architecture(
        "the magazine paper's student: 3 strided convs, global max-pool, GRU",
        _student_cnn,
        ("camera_motion",),
        "none",
        2,
        "zero-append",  # the published parameter count includes this read-out
    ),
    "ds-student": Architecture(
        "depthwise-separable CNN with attention, GRU, multi-head self-attention (about 107k parameters)",
        _depthwise_cnn,
        ("camera_motion",),
        "self",
        2,
        "zero-append",  # the published parameter count includes this read-out
    ),
    "multimodal-teacher": Architecture(
        "teacher CNN on camera motion and radar, GPS MLP, beam-history encoder, GRU, temporal attention",
        _teacher_cnn,
        ("camera_motion", "radar", "gps", "beam_history"),
        "additive",
        3,
    ),
    "gps-beam-student": Architecture(
        "tiny student for nodes with only GPS and the beam history",
        _tiny_depthwise_cnn,
        ("gps", "beam_history"),
        "none",
        2,
    ),
    "radar-student": Architecture(
        "tiny depthwise-separable CNN on radar range-angle maps, GRU",
        _tiny_depthwise_cnn,
        ("radar",),
        "none",
        2,
    ),
}


def register_architecture(name: str, architecture: Architecture) -> Architecture:
    """Add a named architecture (`model.architecture=<name>`); the name must be new and kebab-case."""
    if not name or name != name.lower() or "_" in name or " " in name:
        raise ValueError(f"architecture name {name!r} must be a non-empty kebab-case word")
    if name in ARCHITECTURES:
        raise ValueError(f"architecture name {name!r} is taken")
    ARCHITECTURES[name] = architecture
    return architecture


def resolve_config(config: ModelConfig) -> ModelConfig:
    """The config with the architecture's defaults filled in for `modalities` / `temporal_attention`,
    and the default window where L or J is unset (a model built without data)."""
    if config.architecture not in ARCHITECTURES:
        raise ValueError(
            f"unknown architecture {config.architecture!r}; known: {', '.join(sorted(ARCHITECTURES))}"
        )
    spec = ARCHITECTURES[config.architecture]
    return dataclasses.replace(
        config,
        modalities=config.modalities if config.modalities is not None else spec.default_modalities,
        temporal_attention=config.temporal_attention or spec.temporal_attention,
        readout=config.readout or spec.readout,
        history=DEFAULT_HISTORY if config.history is None else config.history,
        horizon=DEFAULT_HORIZON if config.horizon is None else config.horizon,
    )


def build_encoder(modality: str, config: ModelConfig, spec: Architecture) -> nn.Module:
    """The encoder of one modality: [B*L, ...] -> [B*L, D_m]."""
    if modality in IMAGE_MODALITIES:
        size = config.radar_size if modality == "radar" else config.image_size
        return ImageEncoder(modality, spec.image_backbone(config, size), size)
    if modality == "gps":
        return GpsEncoder(config.gps_hidden, config.feature_size)
    if modality == "beam_history":
        return BeamHistoryEncoder(config.num_beams, config.beam_embedding_dim)
    raise ValueError(f"no encoder for modality {modality!r}")


def build_model(config: ModelConfig) -> BeamTrackingModel:
    """A fresh (randomly initialised) model of the named architecture.

    Output: BeamTrackingModel with `.config` = the resolved config and `.modalities` = the batch
    keys it reads.
    """
    config = resolve_config(config)
    spec = ARCHITECTURES[config.architecture]
    encoders = {m: build_encoder(m, config, spec) for m in config.modalities}
    widths = {m: int(e.out_features) for m, e in encoders.items()}
    temporal = TemporalBlock(
        config.hidden,
        config.hidden,
        attention=config.temporal_attention,
        heads=config.attention_heads,
        scorer_hidden=config.temporal_attention_hidden,
    )
    return BeamTrackingModel(
        config,
        encoders,
        fusion=build_fusion(config.fusion, widths, config.hidden),
        temporal=temporal,
        readout=build_readout(config.readout, config.horizon, config.hidden),
        classifier=SlotClassifier(
            config.hidden,
            config.num_beams,
            spec.classifier_layers,
            hidden=config.hidden,
            dropout=config.dropout,
        ),
        position_head=PositionHead(config.hidden) if config.position_output else None,
    )


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameter elements (buffers such as BatchNorm running stats are not counted)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
