"""An exported student behind ONNX Runtime sessions: `load_exported(folder)`.

Sessions are created lazily, one per (graph, precision), single-threaded by default: an access
point runs one student per slot on one core, and one thread also keeps test machines quiet.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from kdcs.deploy.export_metadata import checked_file, read_metadata
from kdcs.deploy.graphs import embedding_input_name
from kdcs.deploy.onnx_graphs import LOGITS
from kdcs.deploy.source import DeployError

INPUT_DTYPES = {"uint8": np.uint8, "float32": np.float32, "int64": np.int64}


def make_session(path: Path, threads: int = 1) -> Any:
    """An ONNX Runtime CPU session with all graph optimisations and `threads` intra-op threads."""
    import onnxruntime as ort  # optional heavy dependency: loaded only to run an export

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own types for every kind of bad file
        raise DeployError(f"{path} cannot be loaded by ONNX Runtime: {error}") from None


class OnnxBeamModel:
    """The graphs of one export folder (see `kdcs.deploy.export`).

    Attributes: folder, metadata (model.json), modalities, history L, horizon J, num_beams,
        input_dtypes (modality -> numpy dtype of its input).
    """

    def __init__(self, folder: Path, threads: int = 1) -> None:
        self.folder = Path(folder)
        self.metadata = read_metadata(self.folder)
        self.threads = threads
        self.modalities = tuple(self.metadata["modalities"])
        self.history = int(self.metadata["history"])
        self.horizon = int(self.metadata["horizon"])
        self.num_beams = int(self.metadata["num_beams"])
        self.input_dtypes = {m: INPUT_DTYPES[self.metadata["inputs"][m]["dtype"]] for m in self.modalities}
        self._sessions: dict[tuple[str, str], Any] = {}

    def session(self, graph: str, precision: str = "fp32") -> Any:
        """The (cached) session of "window", "slot_encoder" or "window_head" at "fp32" or "int8"."""
        key = (graph, precision)
        if key not in self._sessions:
            self._sessions[key] = make_session(
                checked_file(self.folder, self.metadata, graph, precision), self.threads
            )
        return self._sessions[key]

    def file_bytes(self, graph: str, precision: str = "fp32") -> int:
        return int(self.metadata["bytes"][self.metadata["files"][graph][precision]])

    def _feed(self, batch: Mapping[str, Any]) -> dict[str, np.ndarray]:
        missing = [m for m in self.modalities if m not in batch]
        if missing:
            raise DeployError(f"input has no {missing[0]!r} (the exported model reads {self.modalities})")
        return {
            m: np.ascontiguousarray(np.asarray(batch[m]), dtype=self.input_dtypes[m]) for m in self.modalities
        }

    def predict(self, batch: Mapping[str, Any], precision: str = "fp32") -> np.ndarray:
        """Window model: [B, L, ...] per modality (WindowBatcher layout) -> logits [B, J+1, C]."""
        return self.session("window", precision).run([LOGITS], self._feed(batch))[0]

    def encode_slot(self, slot: Mapping[str, Any], precision: str = "fp32") -> dict[str, np.ndarray]:
        """One slot [B, ...] per modality -> embeddings [B, D_m] per modality."""
        outputs = self.session("slot_encoder", precision).run(None, self._feed(slot))
        return dict(zip(self.modalities, outputs, strict=True))

    def read_window(self, embeddings: Mapping[str, np.ndarray], precision: str = "fp32") -> np.ndarray:
        """Embedding windows [B, L, D_m] per modality -> logits [B, J+1, C]."""
        feed = {embedding_input_name(m): embeddings[m] for m in self.modalities}
        return self.session("window_head", precision).run([LOGITS], feed)[0]


def load_exported(folder: Path, threads: int = 1) -> OnnxBeamModel:
    """Open an export folder written by `export_onnx` (model.json is checked; files on first use)."""
    return OnnxBeamModel(Path(folder), threads)
