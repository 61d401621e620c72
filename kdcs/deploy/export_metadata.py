"""`model.json`: what an export folder holds and how to feed it, written last (the commit point).

Keys: format, architecture, modalities, history L, horizon J, num_beams, model_config, inputs
(per-modality shape and dtype of the window graph), preprocessing, files (graph -> precision ->
file name), sha256 and bytes of every file, opset, source (checkpoint path, its sha256, the
validation metrics recorded beside it), parity (PyTorch vs ONNX Runtime), versions.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from kdcs.data.preprocess import PreprocessConfig
from kdcs.deploy.source import DeployError
from kdcs.models import ModelConfig

METADATA_FILE = "model.json"
EXPORT_FORMAT = "kdcs-onnx-export-v1"
PRECISIONS = ("fp32", "int8")

# How the cache turns raw samples into each modality's model input (see kdcs.data.preprocess).
PREPROCESSING_STEPS = {
    "camera": "JPEG -> grayscale -> resized to camera_size (uint8 0..255)",
    "camera_motion": "grayscale frames resized to camera_size, Gaussian blur mask_blur_sigma, |difference| "
    "with the previous frame of the sequence, 1 where above mask_threshold x its maximum (uint8 0/1; "
    "all zero at a sequence's first slot)",
    "radar": "range-angle map in dB, resized to radar_size, minus its median, rounded to radar_dtype (float32)",
    "gps": "east, north, range (m), bearing (rad) of the vehicle around its base station (float32 [4])",
    "beam_history": "best beam of the previous slot, 0-based; num_beams (pad) at a sequence's first slot (int64)",
}


def input_description(config: ModelConfig) -> dict[str, dict[str, Any]]:
    """Per modality: window-graph input shape (symbolic batch) and dtype."""
    per_slot = {
        "camera": (list(config.image_size), "uint8"),
        "camera_motion": (list(config.image_size), "uint8"),
        "radar": (list(config.radar_size), "float32"),
        "gps": ([4], "float32"),
        "beam_history": ([], "int64"),
    }
    return {
        m: {"shape": ["batch", config.history, *per_slot[m][0]], "dtype": per_slot[m][1]}
        for m in config.modalities
    }


def preprocessing_description(config: ModelConfig, preprocess: PreprocessConfig) -> dict[str, Any]:
    return {"config": preprocess.to_dict(), "steps": {m: PREPROCESSING_STEPS[m] for m in config.modalities}}


def file_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_metadata(folder: Path) -> dict[str, Any]:
    """The parsed, checked model.json of an export folder; DeployError naming the file otherwise."""
    path = Path(folder) / METADATA_FILE
    if not path.is_file():
        raise DeployError(
            f"{folder} is not a kdcs export folder ({METADATA_FILE} missing); run `kdcs export`"
        )
    try:
        metadata = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DeployError(f"{path} is unreadable or corrupt: {error}") from None
    if not isinstance(metadata, dict) or metadata.get("format") != EXPORT_FORMAT:
        raise DeployError(f"{path} is not a kdcs export description ({EXPORT_FORMAT})")
    for key in ("modalities", "history", "horizon", "num_beams", "files", "sha256", "inputs"):
        if key not in metadata:
            raise DeployError(f"{path} lacks key '{key}'")
    return metadata


def checked_file(folder: Path, metadata: dict[str, Any], graph: str, precision: str) -> Path:
    """Path of one graph file, after checking it exists and matches the sha256 in model.json."""
    if precision not in PRECISIONS:
        raise DeployError(f"unknown precision {precision!r}; known: {PRECISIONS}")
    name = metadata["files"].get(graph, {}).get(precision)
    if name is None:
        raise DeployError(f"{Path(folder) / METADATA_FILE} lists no {precision} file for graph '{graph}'")
    path = Path(folder) / name
    if not path.is_file():
        raise DeployError(f"{path} is missing from the export folder")
    if file_digest(path) != metadata["sha256"].get(name):
        raise DeployError(f"{path} does not match the sha256 in {METADATA_FILE} (corrupt or replaced)")
    return path
