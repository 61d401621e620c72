"""Load a trained model from a run folder or a weights file, rebuilding it from its recorded config."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from kdcs.config import ConfigError, from_dict
from kdcs.distill.trainer import BEST_WEIGHTS
from kdcs.models import ModelConfig, build_model
from kdcs.models.multi_view_teacher import MultiViewConfig, MultiViewTeacher
from kdcs.models.weights import CheckpointError, load_model_weights, read_model_config


def weights_file(path: Path | str) -> Path:
    """A run folder's best weights, or the .safetensors file itself."""
    path = Path(path)
    if path.is_dir():
        candidate = path / BEST_WEIGHTS
        if not candidate.is_file():
            raise CheckpointError(
                f"run folder {path} has no {BEST_WEIGHTS} (did its training finish an epoch?)"
            )
        return candidate
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    return path


def load_trained_model(path: Path | str) -> nn.Module:
    """The model saved at `path` (run folder or weights file), in eval mode; strict, config-checked."""
    weights = weights_file(path)
    recorded = read_model_config(weights)
    if not recorded:
        raise CheckpointError(f"{weights} records no model config, so its architecture is unknown")
    try:
        if "views" in recorded:  # a multi-view teacher: one head per AP
            model = MultiViewTeacher(from_dict(MultiViewConfig, recorded))
        else:
            model = build_model(from_dict(ModelConfig, recorded))
    except (ConfigError, ValueError) as exc:
        raise CheckpointError(f"{weights} describes a model kdcs cannot build: {exc}") from None
    load_model_weights(weights, model)
    return model.eval()
