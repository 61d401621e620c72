"""Complexity of a model: parameters (deployable vs KD-only), MACs / FLOPs, bytes, CPU latency.

Parameters: `deployable` counts what the student carries at inference; `kd_only` counts modules that
exist only to train (width projections, time maps: `kd_only = True`, see
`kdcs.distill.losses._base.LossTerm`), whether they sit inside the model or in an extra module
passed in (a loss composer). A parameter shared by both counts as deployable.

Bytes (see `model_bytes`): fp32 = 4 bytes per parameter + buffers at their stored size; int8 = what
dynamic int8 quantisation (`torch.ao.quantization.quantize_dynamic`: Linear, GRU, LSTM, RNN and
their cells) stores: 1 byte per quantised weight + an fp32 scale and an int32 zero point per
weight tensor, with biases, convolutions, norms, embeddings and MultiheadAttention (its in-projection
is a bare parameter and its out_proj a NonDynamicallyQuantizableLinear) left in fp32. Convolutions
are not covered by dynamic quantisation, so a conv-heavy student shrinks far less than an FC-heavy
teacher. When quantize_dynamic runs here, the serialised sizes (torch.save of the state dict,
container overhead included) of both the fp32 and the quantised model are measured as well.

MACs / FLOPs: `kdcs.eval.macs` (torch.utils.flop_counter for the matmuls, hand counts only for what
it cannot count).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import Tensor, nn

from kdcs.eval.latency import measure_latency
from kdcs.eval.macs import count_macs
from kdcs.models.config import ModelConfig
from kdcs.models.zoo import resolve_config

# Layer types whose weights dynamic int8 quantisation stores as int8.
DYNAMIC_QUANTISED_TYPES = (nn.Linear, nn.GRU, nn.LSTM, nn.RNN, nn.GRUCell, nn.LSTMCell, nn.RNNCell)
# Per quantised weight tensor: fp32 scale + int32 zero point (per-tensor affine qint8).
QUANTISATION_OVERHEAD_BYTES = 8
FP32_BYTES = 4


def _as_modules(modules: nn.Module | Iterable[nn.Module] | None) -> list[nn.Module]:
    if modules is None:
        return []
    return [modules] if isinstance(modules, nn.Module) else list(modules)


def _kd_only_parameter_ids(model: nn.Module) -> set[int]:
    """Ids of parameters under any submodule marked `kd_only = True` (the model itself included)."""
    return {
        id(parameter)
        for module in model.modules()
        if getattr(module, "kd_only", False)
        for parameter in module.parameters()
    }


def count_parameters(
    model: nn.Module, kd_only_modules: nn.Module | Iterable[nn.Module] | None = ()
) -> dict[str, int]:
    """Parameter elements: {"deployable": in the model and not KD-only, "kd_only": the rest}.

    Input: the model; optional extra modules (e.g. the loss composer) whose parameters all count
        as KD-only. Each parameter is counted once, even when shared.
    """
    kd_ids = _kd_only_parameter_ids(model)
    seen: set[int] = set()
    deployable = kd_only = 0
    for parameter in model.parameters():
        seen.add(id(parameter))
        if id(parameter) in kd_ids:
            kd_only += parameter.numel()
        else:
            deployable += parameter.numel()
    for extra in _as_modules(kd_only_modules):
        for parameter in extra.parameters():
            if id(parameter) not in seen:
                seen.add(id(parameter))
                kd_only += parameter.numel()
    return {"deployable": deployable, "kd_only": kd_only}


def _quantised_weight_ids(model: nn.Module) -> dict[int, int]:
    """id -> element count of every weight tensor (not bias) that dynamic int8 quantisation stores as int8."""
    weights: dict[int, int] = {}
    for module in model.modules():
        if not isinstance(module, DYNAMIC_QUANTISED_TYPES):
            continue
        if type(module).__name__ == "NonDynamicallyQuantizableLinear":
            continue
        for name, parameter in module.named_parameters(recurse=False):
            if name.startswith("weight"):
                weights[id(parameter)] = parameter.numel()
    return weights


def analytic_model_bytes(model: nn.Module) -> dict[str, int]:
    """{"fp32", "int8"} bytes of the deployable model, computed from the tensors (see module docstring)."""
    buffers = sum(b.numel() * b.element_size() for b in model.buffers())
    parameters = sum(p.numel() for p in model.parameters())
    quantised = _quantised_weight_ids(model)
    quantised_elements = sum(quantised.values())
    fp32 = FP32_BYTES * parameters + buffers
    int8 = (
        FP32_BYTES * (parameters - quantised_elements)
        + quantised_elements
        + QUANTISATION_OVERHEAD_BYTES * len(quantised)
        + buffers
    )
    return {"fp32": fp32, "int8": int8}


def _serialised_size(state: Mapping[str, Any]) -> int:
    buffer = io.BytesIO()
    torch.save(dict(state), buffer)
    return len(buffer.getvalue())


def serialised_model_bytes(model: nn.Module) -> dict[str, int] | None:
    """{"fp32", "int8"} bytes of torch.save(state_dict) before / after quantize_dynamic, or None
    when dynamic quantisation is unavailable in this torch build."""
    try:
        from torch.ao.quantization import quantize_dynamic  # optional: absent from some torch builds

        with warnings.catch_warnings():
            # torch.ao.quantization is deprecated in favour of torchao, which is not installed.
            warnings.simplefilter("ignore")
            quantised = quantize_dynamic(model, set(DYNAMIC_QUANTISED_TYPES), dtype=torch.qint8)
            int8 = _serialised_size(quantised.state_dict())
    except (ImportError, RuntimeError, AssertionError) as error:  # no quantised engine on this CPU
        warnings.warn(f"dynamic int8 quantisation unavailable: {error}", stacklevel=2)
        return None
    return {"fp32": _serialised_size(model.state_dict()), "int8": int8}


def model_bytes(model: nn.Module, measure: bool = True) -> dict[str, Any]:
    """Model size: {"fp32", "int8"} analytic bytes, plus "serialised" ({"fp32", "int8"} measured with
    torch.save, or None) when `measure`."""
    sizes: dict[str, Any] = analytic_model_bytes(model)
    if measure:
        sizes["serialised"] = serialised_model_bytes(model)
    return sizes


def example_batch(config: ModelConfig, batch_size: int = 1, seed: int = 0) -> dict[str, Tensor]:
    """Random inputs in the WindowBatcher layout for the config's modalities (resolved from its
    architecture when None): camera uint8 [B, L, H, W] 0..255, camera_motion uint8 0/1, radar
    float32 dB [B, L, R, A], gps float32 [B, L, 4], beam_history int64 [B, L] in 0..num_beams."""
    config = resolve_config(config)
    generator = torch.Generator().manual_seed(seed)
    lead = (batch_size, config.history)
    makers = {
        "camera": lambda: torch.randint(0, 256, (*lead, *config.image_size), generator=generator).to(
            torch.uint8
        ),
        "camera_motion": lambda: torch.randint(0, 2, (*lead, *config.image_size), generator=generator).to(
            torch.uint8
        ),
        "radar": lambda: 10.0 * torch.randn(*lead, *config.radar_size, generator=generator),
        "gps": lambda: 20.0 * torch.randn(*lead, 4, generator=generator),
        "beam_history": lambda: torch.randint(0, config.num_beams + 1, lead, generator=generator),
    }
    return {modality: makers[modality]() for modality in config.modalities}


def complexity_report(
    model: nn.Module,
    example_batch: Mapping[str, Tensor],
    kd_extra: nn.Module | Iterable[nn.Module] | None = None,
    latency: bool = True,
    latency_repeats: int = 50,
) -> dict[str, Any]:
    """Everything above for one model, JSON-ready (plain ints, floats, strings, dicts).

    Input: the model, a batch-1 example batch (see `example_batch`), optional KD-only extras.
    Output: {"architecture", "parameters", "macs", "bytes", "latency"}; latency is
        None when not asked for.
    """
    macs = count_macs(model, example_batch)
    config = getattr(model, "config", None)
    return {
        "architecture": getattr(config, "architecture", type(model).__name__),
        "parameters": count_parameters(model, kd_extra),
        "macs": macs.to_dict(),
        "bytes": model_bytes(model),
        "latency": measure_latency(model, example_batch, repeats=latency_repeats) if latency else None,
    }
