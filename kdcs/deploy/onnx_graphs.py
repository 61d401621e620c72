"""Export the deployment graphs (`kdcs.deploy.graphs`) of one model to ONNX files.

torch.onnx's dynamo exporter (torch.export + onnxscript) is used: the TorchScript exporter is
deprecated and, on these models, produced graphs that disagreed with PyTorch. Each file is
written under a temporary name and os.replace'd into place.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import Tensor, nn

from kdcs.deploy.graphs import SlotEncoderGraph, WindowGraph, WindowHeadGraph, embedding_input_name
from kdcs.models import BeamTrackingModel
from kdcs.models.config import ModelConfig

# File stem of each graph; "<stem>.onnx" is fp32, "<stem>.int8.onnx" its int8 version.
GRAPH_STEMS = {"window": "model", "slot_encoder": "slot_encoder", "window_head": "window_head"}
LOGITS = "logits"
# Example batch for tracing: above 1, so torch.export does not specialise the batch dimension to 1.
TRACE_BATCH = 2
MAX_DIM = 1 << 16


def slot_example(config: ModelConfig, batch: int) -> dict[str, Tensor]:
    """Zero inputs of one slot per modality in the WindowBatcher dtypes: [B, ...] (no time axis)."""
    shapes = {
        "camera": (tuple(config.image_size), torch.uint8),
        "camera_motion": (tuple(config.image_size), torch.uint8),
        "radar": (tuple(config.radar_size), torch.float32),
        "gps": ((4,), torch.float32),
        "beam_history": ((), torch.int64),
    }
    return {m: torch.zeros((batch, *shapes[m][0]), dtype=shapes[m][1]) for m in config.modalities}


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence the exporter's progress prints and warnings about optional packages (torchvision)."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "torch._dynamo")]
    levels = [logger.level for logger in loggers]
    try:
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        with warnings.catch_warnings(), open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def export_module(
    module: nn.Module,
    example: tuple[Tensor, ...],
    path: Path,
    input_names: list[str],
    output_names: list[str],
    dynamic_axes: list[dict[int, str]],
    opset: int,
) -> None:
    """Trace `module` on `example` and write it to `path` atomically (weights inside the file).

    dynamic_axes[i] maps axis -> name for positional input i ("batch", "batch"); the same name
    means the same symbolic size across inputs.
    """
    dims = {
        name: torch.export.Dim(name, min=1, max=MAX_DIM) for axes in dynamic_axes for name in axes.values()
    }
    shapes = tuple({axis: dims[name] for axis, name in axes.items()} for axes in dynamic_axes)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with _quiet_exporter(), torch.inference_mode(False), torch.no_grad():
            program = torch.onnx.export(
                module,
                example,
                input_names=input_names,
                output_names=output_names,
                opset_version=opset,
                dynamo=True,
                dynamic_shapes=(shapes,),
            )
            program.save(str(temporary), external_data=False)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def export_graphs(model: BeamTrackingModel, folder: Path, opset: int) -> dict[str, Path]:
    """Write the fp32 window, slot-encoder and window-head graphs into `folder`; graph -> path.

    Only the batch dimension is dynamic. The window length stays L: torch.export unrolls the GRU
    over time, so a graph traced at L runs at L only (and a window model sees exactly L slots).
    """
    config, modalities = model.config, list(model.modalities)
    embedding_names = [embedding_input_name(m) for m in modalities]
    history = config.history
    slot = slot_example(config, TRACE_BATCH * history)
    window = tuple(x.reshape(TRACE_BATCH, history, *x.shape[1:]) for x in slot.values())  # [B, L, ...]
    with torch.no_grad():
        embeddings = SlotEncoderGraph(model)(*slot.values())  # [B*L, D_m] each
    windows = tuple(e.reshape(TRACE_BATCH, history, -1) for e in embeddings)  # [B, L, D_m]
    paths = {graph: folder / f"{stem}.onnx" for graph, stem in GRAPH_STEMS.items()}
    export_module(
        WindowGraph(model), window, paths["window"], modalities, [LOGITS],
        [{0: "batch"}] * len(modalities), opset,
    )  # fmt: skip
    export_module(
        SlotEncoderGraph(model), tuple(slot.values()), paths["slot_encoder"], modalities, embedding_names,
        [{0: "batch"}] * len(modalities), opset,
    )  # fmt: skip
    export_module(
        WindowHeadGraph(model), windows, paths["window_head"], embedding_names, [LOGITS],
        [{0: "batch"}] * len(modalities), opset,
    )  # fmt: skip
    return paths
