"""`export_onnx`: a trained student -> ONNX graphs (fp32 + int8) + model.json, checked for parity.

An export folder holds:

    model.onnx / model.int8.onnx                 window model, [B, L, ...] per modality -> logits [B, J+1, C]
    slot_encoder.onnx / slot_encoder.int8.onnx   per-frame encoders of one slot (streaming)
    window_head.onnx / window_head.int8.onnx     fusion + GRU (+ attention) + read-out on L buffered embeddings
    model.json                                   metadata (kdcs.deploy.export_metadata), written last

Everything is written into a staging folder inside `out_dir` and moved into place file by file,
model.json last, so a folder with a model.json is complete. Bad input (a teacher, an unknown
architecture, a corrupt file) raises DeployError before anything is written.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kdcs.atomic_files import write_json_atomically
from kdcs.config import to_dict
from kdcs.data.preprocess import PreprocessConfig
from kdcs.deploy.export_metadata import (
    EXPORT_FORMAT,
    METADATA_FILE,
    file_digest,
    input_description,
    preprocessing_description,
)
from kdcs.deploy.graphs import embedding_input_name
from kdcs.deploy.onnx_graphs import GRAPH_STEMS, LOGITS, export_graphs
from kdcs.deploy.onnx_model import make_session
from kdcs.deploy.quantize import FP32_LEADING_CONVS, QUANTISED_OPS, quantize_int8, top1_agreement
from kdcs.deploy.source import DeployError, LoadedStudent, load_student
from kdcs.eval.complexity import example_batch
from kdcs.models import count_parameters

# The dynamo exporter's own opset: converting down to 17 is slower and fails on some graphs
# (onnx's ReduceMax axes adapter), which then silently stay at 18.
DEFAULT_OPSET = 18
FP32_TOLERANCE = 1e-4  # max |PyTorch - ONNX Runtime| logit difference an fp32 export may show
RANDOM_PARITY_BATCHES, RANDOM_PARITY_BATCH_SIZE = 4, 32


def _parity_batches(
    loaded: LoadedStudent, calibration_batches: Iterable[Mapping[str, Any]] | None, name: str
):
    """(source name, list of numpy batches with the model's modalities only, [B, L, ...])."""
    modalities, history = loaded.model.modalities, loaded.config.history
    if calibration_batches is None:
        batches = [
            example_batch(loaded.config, RANDOM_PARITY_BATCH_SIZE, seed)
            for seed in range(RANDOM_PARITY_BATCHES)
        ]
        source = "random inputs"
    else:
        batches, source = list(calibration_batches), name
    if not batches:
        raise DeployError("calibration_batches is empty; give at least one batch or None for random inputs")
    # The graphs take the dtypes they were traced with; the cache keeps radar as float16 (half the
    # bytes), which PyTorch models upcast themselves but ONNX Runtime refuses.
    graph_dtypes = {m: x.numpy().dtype for m, x in example_batch(loaded.config, 1).items()}
    as_numpy = []
    for batch in batches:
        missing = [m for m in modalities if m not in batch]
        if missing:
            raise DeployError(f"calibration batch has no {missing[0]!r} input (the model reads {modalities})")
        as_numpy.append({m: np.asarray(batch[m])[:, -history:].astype(graph_dtypes[m]) for m in modalities})
    return source, as_numpy


def _torch_logits(loaded: LoadedStudent, batch: Mapping[str, np.ndarray]) -> np.ndarray:
    with torch.inference_mode():
        return loaded.model(
            {m: torch.from_numpy(np.ascontiguousarray(x)) for m, x in batch.items()}
        ).logits.numpy()


def _streamed_logits(
    encoder: Any, head: Any, modalities: tuple[str, ...], batch: Mapping[str, np.ndarray]
) -> np.ndarray:
    """Window logits computed slot by slot through the two streaming graphs."""
    history = next(iter(batch.values())).shape[1]
    per_slot = [encoder.run(None, {m: batch[m][:, t] for m in modalities}) for t in range(history)]
    windows = {
        embedding_input_name(m): np.stack([slot[i] for slot in per_slot], 1) for i, m in enumerate(modalities)
    }
    return head.run([LOGITS], windows)[0]  # [B, J+1, C]


def measure_parity(
    loaded: LoadedStudent, paths: Mapping[str, Mapping[str, Path]], batches: list
) -> dict[str, Any]:
    """fp32 max |diff| vs PyTorch (window and streaming graphs); int8 top-1 agreement with fp32."""
    modalities = loaded.model.modalities
    sessions = {
        (g, p): make_session(path) for g, by_precision in paths.items() for p, path in by_precision.items()
    }
    reference, fp32, streamed, int8 = [], [], [], []
    for batch in batches:
        feed = {m: np.ascontiguousarray(batch[m]) for m in modalities}
        reference.append(_torch_logits(loaded, feed))
        fp32.append(sessions["window", "fp32"].run([LOGITS], feed)[0])
        streamed.append(
            _streamed_logits(
                sessions["slot_encoder", "fp32"], sessions["window_head", "fp32"], modalities, feed
            )
        )
        if ("window", "int8") in sessions:
            int8.append(sessions["window", "int8"].run([LOGITS], feed)[0])
    reference, fp32, streamed = (np.concatenate(x) for x in (reference, fp32, streamed))
    report = {
        "windows": int(reference.shape[0]),
        "fp32_max_abs_diff": float(np.abs(fp32 - reference).max()),
        "streaming_fp32_max_abs_diff": float(np.abs(streamed - reference).max()),
    }
    if int8:
        int8 = np.concatenate(int8)
        report["int8_top1_agreement_with_fp32"] = top1_agreement(fp32, int8)
        report["int8_max_abs_diff"] = float(np.abs(int8 - reference).max())
    return report


def _build_files(
    loaded: LoadedStudent, staging: Path, opset: int, int8_ops: tuple[str, ...] | None
) -> dict[str, dict[str, Path]]:
    fp32_paths = export_graphs(loaded.model, staging, opset)
    paths = {graph: {"fp32": path} for graph, path in fp32_paths.items()}
    if int8_ops:
        for graph, path in fp32_paths.items():
            paths[graph]["int8"] = staging / f"{GRAPH_STEMS[graph]}.int8.onnx"
            quantize_int8(path, paths[graph]["int8"], int8_ops)
    return paths


def _file_opset(path: Path) -> int:
    import onnx  # optional heavy dependency: loaded only when exporting

    model = onnx.load(str(path), load_external_data=False)
    return int(next(entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx")))


def _metadata(
    loaded: LoadedStudent, paths, parity, opset: int, preprocess: PreprocessConfig
) -> dict[str, Any]:
    import onnxruntime  # optional heavy dependency: loaded only when exporting

    config = loaded.config
    names = {
        graph: {p: path.name for p, path in by_precision.items()} for graph, by_precision in paths.items()
    }
    all_paths = [path for by_precision in paths.values() for path in by_precision.values()]
    return {
        "format": EXPORT_FORMAT,
        "architecture": config.architecture,
        "modalities": list(config.modalities),
        "history": config.history,
        "horizon": config.horizon,
        "num_beams": config.num_beams,
        "parameters": count_parameters(loaded.model),
        "model_config": to_dict(config),
        "inputs": input_description(config),
        "output": {"name": LOGITS, "shape": ["batch", config.num_slots, config.num_beams], "slots": "t..t+J"},
        "preprocessing": preprocessing_description(config, preprocess),
        "files": names,
        "sha256": {path.name: file_digest(path) for path in all_paths},
        "bytes": {path.name: path.stat().st_size for path in all_paths},
        "opset": _file_opset(paths["window"]["fp32"]),
        "opset_requested": opset,
        "source": {
            "checkpoint": str(loaded.weights_path.resolve()),
            "sha256": loaded.weights_sha256,
            "metrics": loaded.metrics,
        },
        "parity": parity,
        "versions": {"torch": torch.__version__, "onnxruntime": onnxruntime.__version__},
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def export_onnx(
    checkpoint_path: Path,
    out_dir: Path,
    *,
    opset: int = DEFAULT_OPSET,
    int8: bool = True,
    calibration_batches: Iterable[Mapping[str, Any]] | None = None,
    allow_teacher: bool = False,
    preprocess: PreprocessConfig | None = None,
    int8_ops: tuple[str, ...] = QUANTISED_OPS,
    calibration_name: str = "calibration batches",
) -> dict[str, Any]:
    """Export a trained student; returns the model.json contents.

    Parameters:
        checkpoint_path: weights file, checkpoint folder or run folder (see `kdcs.deploy.source`).
        out_dir: export folder (created; files of an earlier export are replaced).
        opset: ONNX opset asked for, >= 17 (LayerNormalization is an opset-17 operator); model.json
            records the opset the files actually carry.
        int8: also write dynamically quantised int8 graphs.
        calibration_batches: WindowBatcher batches (numpy or torch) on which parity and int8
            agreement are measured and recorded; None uses random inputs.
        calibration_name: what those batches are, recorded as parity["inputs"].
        allow_teacher: export a teacher architecture too.
        int8_ops: ONNX node types quantised to int8 (see `kdcs.deploy.quantize` for why MatMul is
            not among the defaults).
        preprocess: how raw samples become inputs (recorded for `kdcs track`); default: the cache
            defaults at the model's image and radar sizes.
    Raises DeployError (nothing written) for unusable input, or when the fp32 graphs disagree with
    PyTorch by more than FP32_TOLERANCE.
    """
    if opset < 17:
        raise DeployError(f"opset {opset} is too old: LayerNormalization needs opset 17 or higher")
    loaded = load_student(Path(checkpoint_path), allow_teacher=allow_teacher)
    source, batches = _parity_batches(loaded, calibration_batches, calibration_name)
    preprocess = preprocess or PreprocessConfig(
        camera_size=loaded.config.image_size, radar_size=loaded.config.radar_size
    )
    out_dir = Path(out_dir)
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = out_dir / f".staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        paths = _build_files(loaded, staging, opset, tuple(int8_ops) if int8 else None)
        parity = {"inputs": source, **measure_parity(loaded, paths, batches)}
        if (
            parity["fp32_max_abs_diff"] > FP32_TOLERANCE
            or parity["streaming_fp32_max_abs_diff"] > FP32_TOLERANCE
        ):
            raise DeployError(f"ONNX export of {loaded.weights_path} disagrees with PyTorch: {parity}")
        metadata = _metadata(loaded, paths, parity, opset, preprocess)
        metadata["int8_quantised_ops"] = list(int8_ops) if int8 else None
        metadata["int8_fp32_leading_convs"] = FP32_LEADING_CONVS if int8 else None
        (out_dir / METADATA_FILE).unlink(missing_ok=True)  # the folder is incomplete until it is rewritten
        for by_precision in paths.values():
            for path in by_precision.values():
                os.replace(path, out_dir / path.name)
        write_json_atomically(out_dir / METADATA_FILE, metadata)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if created and not any(out_dir.iterdir()):  # a failed export leaves no empty folder behind
            out_dir.rmdir()
    return metadata
