"""Find and load the trained student a deployment starts from, refusing what cannot be deployed.

A source may be given as a weights file (`best.safetensors`, a checkpoint's `model.safetensors`),
a checkpoint folder (holding `model.safetensors`) or a run folder (holding `best.safetensors`).
The architecture comes from the ModelConfig recorded in the weights file's metadata
(`kdcs.models.weights`); nothing is unpickled.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kdcs.config import ConfigError, from_dict
from kdcs.models import ARCHITECTURES, BeamTrackingModel, ModelConfig, build_model
from kdcs.models.weights import CheckpointError, load_model_weights, read_model_config

# Architectures that exist to teach: exporting one needs allow_teacher=True.
TEACHER_ARCHITECTURES = ("paper-teacher", "multimodal-teacher")
WEIGHT_FILE_NAMES = ("best.safetensors", "model.safetensors")
RUN_METRICS_FILE = "best.json"


class DeployError(ValueError):
    """A model, export folder or input that cannot be deployed; the message names the file or key."""


@dataclass(frozen=True)
class LoadedStudent:
    """A model in eval mode, its resolved config and where it came from."""

    model: BeamTrackingModel
    config: ModelConfig
    weights_path: Path
    weights_sha256: str
    metrics: dict[str, Any] | None


def resolve_weights_path(source: Path) -> Path:
    """The weights file behind a file, checkpoint folder or run folder; DeployError when there is none."""
    source = Path(source)
    if source.is_file():
        return source
    if source.is_dir():
        for name in WEIGHT_FILE_NAMES:
            if (source / name).is_file():
                return source / name
        raise DeployError(
            f"{source} holds no {' or '.join(WEIGHT_FILE_NAMES)}; give a trained model's weights"
        )
    raise DeployError(f"{source} does not exist; give a weights file, checkpoint folder or run folder")


def _model_config(weights: Path) -> ModelConfig:
    try:
        recorded = read_model_config(weights)
    except CheckpointError as error:
        raise DeployError(str(error)) from None
    if not isinstance(recorded, dict):
        raise DeployError(f"{weights} records no model config, so its architecture is unknown")
    architecture = recorded.get("architecture")
    if architecture not in ARCHITECTURES:
        raise DeployError(
            f"{weights} holds unknown architecture {architecture!r}; known: {', '.join(sorted(ARCHITECTURES))}"
        )
    try:
        return from_dict(ModelConfig, recorded)
    except (ConfigError, ValueError, TypeError) as error:
        raise DeployError(f"{weights} records a model config that does not load: {error}") from None


def _run_metrics(weights: Path) -> dict[str, Any] | None:
    """The validation metrics the trainer recorded beside `best.safetensors`, if any."""
    metrics_file = weights.parent / RUN_METRICS_FILE
    if weights.name != "best.safetensors" or not metrics_file.is_file():
        return None
    try:
        return json.loads(metrics_file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None  # metrics are informative only; a damaged file must not block an export


def load_student(source: Path, *, allow_teacher: bool = False) -> LoadedStudent:
    """Build the recorded architecture, load the weights strictly, switch to eval mode.

    Raises DeployError naming the file for a missing or corrupt file, a config without a known
    architecture, weights that do not fit it, or a teacher architecture (unless allow_teacher).
    """
    weights = resolve_weights_path(source)
    config = _model_config(weights)
    if config.architecture in TEACHER_ARCHITECTURES and not allow_teacher:
        raise DeployError(
            f"{weights} holds the teacher architecture {config.architecture!r}, not a student; "
            "export a distilled student, or pass allow_teacher=True to export the teacher anyway"
        )
    model = build_model(config)
    try:
        load_model_weights(weights, model)
    except CheckpointError as error:
        raise DeployError(str(error)) from None
    model.eval()
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    return LoadedStudent(model, model.config, weights, digest, _run_metrics(weights))
