"""Typed model configuration: which architecture, which inputs, which widths.

Every field has a default, so YAML files and `model.key=value` overrides (see `kdcs.config`) only
hold what changes. `None` in `modalities` / `temporal_attention` means "the architecture's own
choice" (see `kdcs.models.zoo.ARCHITECTURES`); `build_model` resolves them and stores the resolved
config on the model as `model.config`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

# Per-slot inputs a model may read from a WindowBatcher batch.
KNOWN_MODALITIES = ("camera", "camera_motion", "radar", "gps", "beam_history")
# Modalities that are single-channel 2-D maps, encoded by the architecture's image CNN.
IMAGE_MODALITIES = ("camera", "camera_motion", "radar")
READOUTS = ("zero-append", "multi-head")
FUSIONS = ("concat", "attention")
TEMPORAL_ATTENTIONS = ("none", "additive", "self")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture name plus every width and size a model needs.

    Attributes:
        architecture: a key of `kdcs.models.zoo.ARCHITECTURES` (e.g. "paper-teacher").
        modalities: inputs to read, from KNOWN_MODALITIES; None = the architecture's default.
        history: L observed slots per window; None = the data's L (`fit_to_data`; DEFAULT_HISTORY
            when built without data). The models do not depend on L (any L runs); it is recorded so
            a checkpoint says what it was trained on. Set it only for a shorter window than the data's.
        horizon: J future slots predicted after the current one (logits cover J+1 slots); None = the
            data's J (DEFAULT_HORIZON when built without data).
        num_beams: codebook size (classes); the beam-history pad token is `num_beams`.
        image_size: (H, W) of camera / camera_motion frames.
        radar_size: (R, A) range x angle bins of radar maps.
        feature_size: per-modality embedding width D_m leaving every encoder.
        hidden: GRU width H (also the fused per-slot width D fed to the GRU).
        readout: "zero-append" (the paper's: J zero slots appended, last J+1 GRU outputs read) or
            "multi-head" (J+1 heads on the state after the last observed slot); None = the
            architecture's: zero-append for the paper's three (their published parameter counts),
            multi-head for kdcs's own (picked on validation, benchmarks/bench_readout.py).
        fusion: "concat" (concatenate, then a linear map when widths differ) or "attention"
            (softmax-weighted sum over modalities, weights per slot).
        temporal_attention: "none", "additive" (the paper teacher's: one context vector added back
            to every step), "self" (multi-head self-attention, residual); None = architecture's.
        attention_heads: heads of the "self" temporal attention and of nothing else.
        dropout: dropout after hidden layers of the per-frame MLPs and of the classifier.
        teacher_channels: conv widths of the paper teacher's five conv blocks.
        teacher_fc: hidden widths of the teacher's FC stack (flatten -> ... -> feature_size).
        student_channels: conv widths of the paper student's three strided convs.
        depthwise_channels: stem width then block widths of the depthwise-separable CNN.
        radar_student_channels: the same for the radar-only tiny student.
        gps_hidden: hidden width of the GPS MLP.
        beam_embedding_dim: width of the beam-history embedding.
        temporal_attention_hidden: hidden width of the additive temporal attention scorer.
        modality_dropout: in training, each window drops each modality's embeddings (sets them to
            zero) with this probability, keeping at least one; 0 = off. It keeps a multi-modal model
            from leaning on the modalities it can overfit (camera, radar) and off the ones that carry.
        position_output: also predict the vehicle's position at t..t+J in the shared metric frame,
            with uncertainty (`kdcs.models.position_head`; feature "position" [B, J+1, 4]), the
            knowledge nodes at different APs exchange (collab `knowledge_frame: world`).
    """

    architecture: str = "paper-teacher"
    modalities: tuple[str, ...] | None = None
    history: int | None = None
    horizon: int | None = None
    num_beams: int = 64
    image_size: tuple[int, int] = (64, 64)
    radar_size: tuple[int, int] = (64, 64)
    feature_size: int = 64
    hidden: int = 64
    readout: str | None = None
    fusion: str = "concat"
    temporal_attention: str | None = None
    attention_heads: int = 8
    dropout: float = 0.3
    teacher_channels: tuple[int, ...] = (4, 8, 16, 32, 64)
    teacher_fc: tuple[int, ...] = (512, 128, 64)
    student_channels: tuple[int, ...] = (32, 64, 128)
    depthwise_channels: tuple[int, ...] = (18, 36, 72, 144)
    radar_student_channels: tuple[int, ...] = (8, 16, 32, 64)
    gps_hidden: int = 64
    beam_embedding_dim: int = 32
    temporal_attention_hidden: int = 128
    modality_dropout: float = 0.0
    position_output: bool = False

    def __post_init__(self) -> None:
        for key in ("image_size", "radar_size"):
            object.__setattr__(self, key, tuple(int(v) for v in getattr(self, key)))
        if self.modalities is not None:
            object.__setattr__(self, "modalities", tuple(self.modalities))
        self._check_choices()
        self._check_sizes()

    def _check_choices(self) -> None:
        if self.modalities is not None:
            unknown = [m for m in self.modalities if m not in KNOWN_MODALITIES]
            if unknown:
                raise ValueError(f"unknown modality {unknown[0]!r}; known: {KNOWN_MODALITIES}")
            if not self.modalities or len(set(self.modalities)) != len(self.modalities):
                raise ValueError(f"modalities must be non-empty and distinct, got {self.modalities}")
        if self.readout is not None and self.readout not in READOUTS:
            raise ValueError(f"unknown readout {self.readout!r}; known: {READOUTS}")
        if self.fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {self.fusion!r}; known: {FUSIONS}")
        if self.temporal_attention is not None and self.temporal_attention not in TEMPORAL_ATTENTIONS:
            raise ValueError(
                f"unknown temporal_attention {self.temporal_attention!r}; known: {TEMPORAL_ATTENTIONS}"
            )

    def _check_sizes(self) -> None:
        if (self.history is not None and self.history < 1) or (self.horizon is not None and self.horizon < 0):
            raise ValueError(
                f"ModelConfig needs history >= 1 and horizon >= 0, got {self.history}, {self.horizon}"
            )
        positive = {
            "num_beams": self.num_beams,
            "feature_size": self.feature_size,
            "hidden": self.hidden,
            "attention_heads": self.attention_heads,
            "gps_hidden": self.gps_hidden,
            "beam_embedding_dim": self.beam_embedding_dim,
        }
        for key, value in positive.items():
            if value < 1:
                raise ValueError(f"ModelConfig.{key} must be >= 1, got {value}")
        if min(self.image_size) < 1 or min(self.radar_size) < 1 or len(self.image_size) != 2:
            raise ValueError(
                f"image_size {self.image_size} and radar_size {self.radar_size} must be positive pairs"
            )
        for key in ("dropout", "modality_dropout"):
            if not 0.0 <= getattr(self, key) < 1.0:
                raise ValueError(f"ModelConfig.{key} must be in [0, 1), got {getattr(self, key)}")

    @property
    def num_slots(self) -> int:
        """J + 1: the current slot plus the J future ones."""
        if self.horizon is None:
            raise ValueError("ModelConfig.horizon is unset (it follows the data's J): fit the config to its data")
        return self.horizon + 1


def fit_to_data(config: ModelConfig, data: Any) -> ModelConfig:
    """`config` fitted to prepared data (`kdcs.data.prepared.PreparedData`): input sizes from the
    cache's preprocessing (the cache is what the model sees), L and J from the data's windows where
    the config leaves them unset."""
    preprocess, spec = data.cache.config, data.spec
    return dataclasses.replace(
        config,
        image_size=preprocess.camera_size,
        radar_size=preprocess.radar_size,
        history=spec.history if config.history is None else config.history,
        horizon=spec.horizon if config.horizon is None else config.horizon,
    )
