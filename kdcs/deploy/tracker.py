"""BeamTracker: one observation in per slot, top-k beams for t..t+J out, without re-encoding the window.

Each slot the tracker runs the per-frame encoders on the new observation only, pushes the
embeddings into a ring buffer of the last L slots, and runs the window head (fusion, GRU from a
fresh state, attention, read-out, classifier) over the buffer. The window head restarts the GRU
at slot t-L+1 exactly as the window model does, so its predictions equal the window model's on
rows t-L+1..t (the expensive CNN work per slot drops from L frames to 1). A prediction is made
once L slots are buffered since the last `reset()` (a window model has no window before that).

A missing or late modality (None, absent, or non-finite values) never stops the stream: under
policy "hold" the modality's last observation is used again (a blank input when there is none
yet), under "zero" a blank input (zeros; the pad token for beam_history) is used. Both are
counted in `stats`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from kdcs.deploy.onnx_model import load_exported
from kdcs.deploy.source import DeployError, load_student
from kdcs.deploy.streaming_backends import OnnxStreamingBackend, TorchStreamingBackend

MISSING_POLICIES = ("hold", "zero")


class StreamingBackend(Protocol):
    """See `kdcs.deploy.streaming_backends`."""

    name: str
    modalities: tuple[str, ...]
    history: int
    horizon: int
    num_beams: int
    input_specs: Mapping[str, Any]

    def encode(self, slot: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]: ...

    def read(self, windows: Mapping[str, np.ndarray]) -> np.ndarray: ...


@dataclass(frozen=True)
class SlotPrediction:
    """What one slot gives.

    ready: L slots are buffered, so logits / top_k exist. logits: [J+1, C] for slots t..t+J.
    top_k: [J+1, k] beams (0-based), best first. missing: modalities filled in by the policy.
    latency_ms: wall time of this `step` call.
    """

    ready: bool
    logits: np.ndarray | None
    top_k: np.ndarray | None
    missing: tuple[str, ...]
    latency_ms: float


@dataclass
class TrackerStats:
    """Counts since the tracker was built (resets keep them)."""

    slots: int = 0
    predictions: int = 0
    missing: dict[str, int] = field(default_factory=dict)
    held: int = 0
    zeroed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "missing": dict(self.missing)}


class BeamTracker:
    """Streaming beam tracker over a backend (`TorchStreamingBackend` or `OnnxStreamingBackend`).

    Parameters:
        backend: the streaming graphs.
        missing_policy: "hold" or "zero" (see the module docstring).
        top_k: beams returned per slot.
    """

    def __init__(self, backend: StreamingBackend, *, missing_policy: str = "hold", top_k: int = 3) -> None:
        if missing_policy not in MISSING_POLICIES:
            raise ValueError(f"unknown missing_policy {missing_policy!r}; known: {MISSING_POLICIES}")
        if not 1 <= top_k <= backend.num_beams:
            raise ValueError(f"top_k must lie in 1..{backend.num_beams}, got {top_k}")
        self.backend, self.missing_policy, self.top_k = backend, missing_policy, top_k
        self.modalities, self.history = backend.modalities, backend.history
        self.stats = TrackerStats(missing={m: 0 for m in self.modalities})
        self.reset()

    @classmethod
    def from_export(
        cls, folder: Path, *, precision: str = "fp32", threads: int = 1, **options: Any
    ) -> BeamTracker:
        """A tracker on ONNX Runtime over an export folder written by `export_onnx`."""
        return cls(OnnxStreamingBackend(load_exported(folder, threads), precision), **options)

    @classmethod
    def from_checkpoint(cls, source: Path, *, allow_teacher: bool = False, **options: Any) -> BeamTracker:
        """A tracker on PyTorch over a trained model's weights (file, checkpoint or run folder)."""
        return cls(TorchStreamingBackend(load_student(source, allow_teacher=allow_teacher).model), **options)

    def reset(self) -> None:
        """Forget the buffered slots and last observations (call at the start of every sequence)."""
        self._buffers: dict[str, np.ndarray] | None = None  # modality -> [L, D_m]
        self._filled = 0
        self._last_inputs: dict[str, np.ndarray] = {}

    # ------------------------------------------------------------------ one slot

    def step(self, observation: Mapping[str, Any]) -> SlotPrediction:
        """Ingest one slot's observation (modality -> per-slot input, or None when missing)."""
        start = time.perf_counter_ns()
        inputs, missing, all_held = self._complete(observation)
        if all_held and self._buffers is not None:
            embeddings = {m: buffer[-1:].copy() for m, buffer in self._buffers.items()}  # nothing new
        else:
            embeddings = self.backend.encode({m: x[None] for m, x in inputs.items()})  # [1, D_m] each
        self._push(embeddings)
        self.stats.slots += 1
        logits = top = None
        if self._filled == self.history:
            windows = {m: buffer[None] for m, buffer in self._buffers.items()}  # [1, L, D_m]
            logits = self.backend.read(windows)[0]  # [J+1, C]
            top = np.argsort(-logits, axis=-1, kind="stable")[:, : self.top_k]  # [J+1, k]
            self.stats.predictions += 1
        latency_ms = (time.perf_counter_ns() - start) / 1e6
        return SlotPrediction(logits is not None, logits, top, missing, latency_ms)

    def _complete(
        self, observation: Mapping[str, Any]
    ) -> tuple[dict[str, np.ndarray], tuple[str, ...], bool]:
        """(inputs for every modality, modalities filled in by the policy, whether all were held)."""
        inputs, missing, held = {}, [], 0
        for modality in self.modalities:
            value = self._checked(modality, observation.get(modality))
            if value is None:
                missing.append(modality)
                self.stats.missing[modality] += 1
                if self.missing_policy == "hold" and modality in self._last_inputs:
                    value, held = self._last_inputs[modality], held + 1
                    self.stats.held += 1
                else:
                    value = self._blank(modality)
                    self.stats.zeroed += 1
            inputs[modality] = value
            self._last_inputs[modality] = value
        return inputs, tuple(missing), held == len(self.modalities)

    def _checked(self, modality: str, value: Any) -> np.ndarray | None:
        """The value as the backend's dtype and shape; None when missing or not finite."""
        if value is None:
            return None
        spec = self.backend.input_specs[modality]
        array = np.asarray(value)
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            return None  # a garbled reading counts as a missing one
        if array.shape != spec.shape:
            raise DeployError(
                f"{modality!r} observation has shape {array.shape}, the model needs {spec.shape}"
            )
        array = np.asarray(array, dtype=spec.dtype, order="C")  # ascontiguousarray would make 0-d arrays 1-d
        if modality == "beam_history" and not 0 <= int(array) <= self.backend.num_beams:
            raise DeployError(
                f"beam_history {int(array)} lies outside 0..{self.backend.num_beams} (pad = {self.backend.num_beams})"
            )
        return array

    def _blank(self, modality: str) -> np.ndarray:
        spec = self.backend.input_specs[modality]
        if modality == "beam_history":
            return np.full(spec.shape, self.backend.num_beams, dtype=spec.dtype)  # "unknown", not beam 0
        return np.zeros(spec.shape, dtype=spec.dtype)

    def _push(self, embeddings: Mapping[str, np.ndarray]) -> None:
        if self._buffers is None:
            self._buffers = {
                m: np.zeros((self.history, e.shape[-1]), dtype=np.float32) for m, e in embeddings.items()
            }
        for modality, buffer in self._buffers.items():
            buffer[:-1] = buffer[1:]  # oldest slot out (numpy handles the overlapping copy)
            buffer[-1] = embeddings[modality][0]
        self._filled = min(self._filled + 1, self.history)
