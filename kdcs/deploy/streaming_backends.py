"""The two halves of a streaming step, on PyTorch or on ONNX Runtime.

A backend answers two calls (B = 1 for a tracker):
    encode(slot)     one slot's input per modality [B, ...]  -> embeddings [B, D_m] per modality
    read(windows)    L buffered embeddings [B, L, D_m]        -> logits [B, J+1, C]
and describes its inputs (modalities, L, J, num_beams, per-slot shape and dtype of each input).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from kdcs.deploy.export_metadata import input_description
from kdcs.deploy.graphs import SlotEncoderGraph, WindowHeadGraph
from kdcs.deploy.onnx_model import INPUT_DTYPES, OnnxBeamModel
from kdcs.models import BeamTrackingModel


@dataclass(frozen=True)
class SlotInputSpec:
    """Per-slot shape (no batch, no time axis) and numpy dtype of one modality's input."""

    shape: tuple[int, ...]
    dtype: type


def _specs_from_inputs(inputs: Mapping[str, Mapping]) -> dict[str, SlotInputSpec]:
    """From model.json-style input descriptions ("shape": ["batch", L, *per_slot])."""
    return {
        m: SlotInputSpec(tuple(int(v) for v in d["shape"][2:]), INPUT_DTYPES[d["dtype"]])
        for m, d in inputs.items()
    }


class TorchStreamingBackend:
    """Streaming graphs as PyTorch modules sharing the model's weights (eval mode, inference_mode)."""

    name = "torch"

    def __init__(self, model: BeamTrackingModel) -> None:
        model.eval()
        config = model.config
        self.modalities = tuple(model.modalities)
        self.history, self.horizon, self.num_beams = config.history, config.horizon, config.num_beams
        self.input_specs = _specs_from_inputs(input_description(config))
        self._encoder, self._head = SlotEncoderGraph(model), WindowHeadGraph(model)

    def encode(self, slot: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        with torch.inference_mode():
            outputs = self._encoder(*(torch.from_numpy(slot[m]) for m in self.modalities))
        return {m: e.numpy() for m, e in zip(self.modalities, outputs, strict=True)}

    def read(self, windows: Mapping[str, np.ndarray]) -> np.ndarray:
        with torch.inference_mode():
            return self._head(*(torch.from_numpy(windows[m]) for m in self.modalities)).numpy()


class OnnxStreamingBackend:
    """Streaming graphs of an export folder on ONNX Runtime, at "fp32" or "int8"."""

    name = "onnx"

    def __init__(self, model: OnnxBeamModel, precision: str = "fp32") -> None:
        self.model, self.precision = model, precision
        self.modalities = model.modalities
        self.history, self.horizon, self.num_beams = model.history, model.horizon, model.num_beams
        self.input_specs = _specs_from_inputs(model.metadata["inputs"])
        # Open both sessions now, so the first slot is not slowed by loading them.
        model.session("slot_encoder", precision)
        model.session("window_head", precision)

    def encode(self, slot: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return self.model.encode_slot(slot, self.precision)

    def read(self, windows: Mapping[str, np.ndarray]) -> np.ndarray:
        return self.model.read_window(windows, self.precision)
