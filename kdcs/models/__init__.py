"""Beam-tracking models: per-modality encoders, fusion, temporal block, read-outs, named zoo."""

from __future__ import annotations

from kdcs.models.beam_tracking_model import BeamTrackingModel
from kdcs.models.config import KNOWN_MODALITIES, ModelConfig, fit_to_data
from kdcs.models.output import ModelOutput
from kdcs.models.zoo import (
    ARCHITECTURES,
    Architecture,
    build_model,
    count_parameters,
    register_architecture,
    resolve_config,
)

__all__ = [
    "ARCHITECTURES",
    "Architecture",
    "KNOWN_MODALITIES",
    "BeamTrackingModel",
    "ModelConfig",
    "ModelOutput",
    "build_model",
    "count_parameters",
    "fit_to_data",
    "register_architecture",
    "resolve_config",
]
