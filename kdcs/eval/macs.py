"""MACs and FLOPs of one forward: torch.utils.flop_counter counts the matmuls, this module only what it cannot.

The source of truth for MACs is `torch.utils.flop_counter.FlopCounterMode` (convolution, mm, addmm,
bmm, scaled dot-product attention, a GRU's matmuls): MACs = its FLOPs / 2, the factor it uses. Two
things it cannot count are added here, and only these:

- CPU kernels missing from its registry (`EXTRA_FLOP_FORMULAS`): nn.MultiheadAttention's inference
  fast path (`aten._native_multi_head_attention`: q, k, v and output projections plus QK^T and AV),
  the CPU flash-attention kernel, and the oneDNN LSTM layer (both gate matmuls per step). Without
  them every attention and LSTM MAC on CPU would be missed.
- Elementwise FLOPs, which it does not count at all: one per output element of every pointwise op
  run (activations, residual adds, gates, a GRU's state update), softmax 3 per element, a reduction
  1 per element read, pooling 1 per element read, inference batch norm 2 per element (folded scale
  and shift), layer / group norm 5 per element (+2 with affine); inside the opaque CPU kernels
  above, attention 1 per query element (scaling) + 3 per score (softmax) and an LSTM 13 per hidden
  unit and step. Composite ops are decomposed so the pointwise ops inside them are seen.

Per inference = one window of L slots at batch 1; per frame = per inference / L. flops = 2 x MACs +
elementwise FLOPs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count
from torch.utils.module_tracker import ModuleTracker

aten = torch.ops.aten


@dataclass
class OpCount:
    """MACs and elementwise FLOPs of one group of ops (an op kind or a model component)."""

    macs: int = 0
    elementwise_flops: int = 0

    @property
    def flops(self) -> int:
        return 2 * self.macs + self.elementwise_flops

    def per_window(self, batch_size: int) -> dict[str, int]:
        return {
            "macs": round(self.macs / batch_size),
            "flops": round(self.flops / batch_size),
            "elementwise_flops": round(self.elementwise_flops / batch_size),
        }


@dataclass
class MacReport:
    """Counts of one forward over `batch_size` windows of `history` slots (totals over the batch).

    by_type: "aten.convolution", "aten.addmm", ... (MACs) and "pointwise", "softmax", ... (elementwise).
    by_component: top-level part of the model ("encoders.camera_motion", "temporal", ...) -> OpCount.
    """

    batch_size: int
    history: int
    by_type: dict[str, OpCount] = field(default_factory=dict)
    by_component: dict[str, OpCount] = field(default_factory=dict)

    def _total(self, attribute: str) -> int:
        return sum(getattr(count, attribute) for count in self.by_type.values())

    @property
    def macs_per_inference(self) -> int:
        return round(self._total("macs") / self.batch_size)

    @property
    def elementwise_flops_per_inference(self) -> int:
        return round(self._total("elementwise_flops") / self.batch_size)

    @property
    def matmul_flops_per_inference(self) -> int:
        return 2 * self.macs_per_inference

    @property
    def flops_per_inference(self) -> int:
        return self.matmul_flops_per_inference + self.elementwise_flops_per_inference

    @property
    def macs_per_frame(self) -> float:
        return self.macs_per_inference / self.history

    @property
    def flops_per_frame(self) -> float:
        return self.flops_per_inference / self.history

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary, every count per inference (batch 1)."""
        return {
            "history": self.history,
            "macs_per_inference": self.macs_per_inference,
            "macs_per_frame": self.macs_per_frame,
            "matmul_flops_per_inference": self.matmul_flops_per_inference,
            "elementwise_flops_per_inference": self.elementwise_flops_per_inference,
            "flops_per_inference": self.flops_per_inference,
            "flops_per_frame": self.flops_per_frame,
            "by_type": {k: v.per_window(self.batch_size) for k, v in sorted(self.by_type.items())},
            "by_component": {k: v.per_window(self.batch_size) for k, v in sorted(self.by_component.items())},
        }


# ---- what torch.utils.flop_counter cannot count ----


def _native_attention_flops(query, key, value, embed_dim, num_heads, *args, out_shape=None, **kwargs) -> int:
    """aten._native_multi_head_attention (MHA's inference fast path): projections + QK^T + AV."""
    batch, q_len, k_len = query[0], query[1], key[1]
    projections = (2 * q_len + 2 * k_len) * embed_dim * embed_dim
    return 2 * batch * (projections + 2 * q_len * k_len * embed_dim)


def _cpu_sdpa_flops(query, key, value, *args, out_shape=None, **kwargs) -> int:
    return sdpa_flop_count(query, key, value)


def _mkldnn_rnn_layer_flops(inputs, input_weights, hidden_weights, *args, out_shape=None, **kwargs) -> int:
    """aten.mkldnn_rnn_layer (one layer and direction of a CPU LSTM): both gate matmuls per step."""
    steps = math.prod(inputs) // inputs[-1]
    return 2 * steps * (math.prod(input_weights) + math.prod(hidden_weights))


# torch's formulas take shapes: FlopCounterMode(custom_mapping=...) wraps these for it
EXTRA_FLOP_FORMULAS: dict[Any, Callable[..., int]] = {
    aten._scaled_dot_product_flash_attention_for_cpu: _cpu_sdpa_flops,
    aten._native_multi_head_attention: _native_attention_flops,
    aten.mkldnn_rnn_layer: _mkldnn_rnn_layer_flops,
}


def _first_tensor(value: Any) -> Tensor:
    return value[0] if isinstance(value, tuple | list) else value


def _attention_elementwise(query: Tensor, key: Tensor, heads: int) -> int:
    """Scaling (1 per query element) + softmax (3 per score) inside a fused attention kernel."""
    scores = math.prod(query.shape[:-1]) * heads * key.shape[-2]
    return query.numel() + 3 * scores


def _layer_norm_elementwise(args: tuple, out: Any) -> int:
    affine = len(args) > 2 and args[2] is not None
    return (5 + 2 * affine) * _first_tensor(out).numel()


_SOFTMAXES = {aten._softmax, aten._log_softmax}
_REDUCTIONS = {aten.sum, aten.mean, aten.amax, aten.amin, aten.max, aten.min, aten.var, aten.std}
_POOLS = {
    aten.max_pool2d_with_indices, aten.max_pool1d, aten.avg_pool2d, aten.avg_pool1d,
    aten._adaptive_avg_pool2d, aten.adaptive_max_pool2d, aten.adaptive_avg_pool1d,
}  # fmt: skip
# op -> (kind, elementwise FLOPs of one call from its args and output)
_ELEMENTWISE: dict[Any, tuple[str, Callable[[tuple, Any], int]]] = {
    **{op: ("softmax", lambda args, out: 3 * _first_tensor(args[0]).numel()) for op in _SOFTMAXES},
    **{op: ("reduction", lambda args, out: _first_tensor(args[0]).numel()) for op in _REDUCTIONS},
    **{op: ("pool", lambda args, out: _first_tensor(args[0]).numel()) for op in _POOLS},
    aten._native_batch_norm_legit_no_training: ("norm", lambda args, out: 2 * _first_tensor(out).numel()),
    aten.native_layer_norm: ("norm", _layer_norm_elementwise),
    aten.native_group_norm: ("norm", _layer_norm_elementwise),
    # query [B, Tq, E], key [B, Tk, E], args[4] heads; sdpa: query [B, H, Tq, E_h], key [B, H, Tk, E_h]
    aten._native_multi_head_attention: (
        "attention (CPU kernel)",
        lambda a, out: _attention_elementwise(a[0], a[1], a[4]),
    ),
    aten._scaled_dot_product_flash_attention_for_cpu: (
        "attention (CPU kernel)",
        lambda a, out: _attention_elementwise(a[0], a[1], 1),
    ),
    aten.mkldnn_rnn_layer: ("lstm (CPU kernel)", lambda args, out: 13 * _first_tensor(out).numel()),
}


class _ElementwiseCounter(TorchDispatchMode):
    """Elementwise FLOPs of every aten op run, by kind and by the model component running it."""

    def __init__(self, tracker: ModuleTracker, component_of: Callable[[set[str]], str]) -> None:
        super().__init__()
        self.tracker, self.component_of = tracker, component_of
        self.by_kind: dict[str, int] = {}
        self.by_component: dict[str, int] = {}

    def _add(self, kind: str, flops: int) -> None:
        self.by_kind[kind] = self.by_kind.get(kind, 0) + flops
        component = self.component_of(self.tracker.parents)
        self.by_component[component] = self.by_component.get(component, 0) + flops

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        packet = func._overloadpacket
        if packet not in _ELEMENTWISE and torch.Tag.pointwise not in func.tags:
            with self:  # composite ops (a GRU, linear, einsum) split into the ops counted here
                decomposed = func.decompose(*args, **kwargs)
            if decomposed is not NotImplemented:
                return decomposed
        out = func(*args, **kwargs)
        if packet in _ELEMENTWISE:
            kind, count = _ELEMENTWISE[packet]
            self._add(kind, count(args, out))
        elif torch.Tag.pointwise in func.tags and isinstance(out, Tensor):
            self._add("pointwise", out.numel())
        return out


# ---- the whole count ----


def _component_name(path: str, model: nn.Module) -> str:
    """Top-level part a module belongs to; children of a ModuleDict / ModuleList keep one more level."""
    parts = path.split(".")
    top = getattr(model, parts[0], None)
    keep = 2 if isinstance(top, nn.ModuleDict | nn.ModuleList) and len(parts) > 1 else 1
    return ".".join(parts[:keep])


def _components(model: nn.Module) -> dict[str, str]:
    """Tracker name ("Root.encoders.camera_motion.backbone.0") -> component ("encoders.camera_motion")."""
    root = type(model).__name__
    return {f"{root}.{path}": _component_name(path, model) for path, _ in model.named_modules() if path}


TOP_LEVEL = "(top level)"


def batch_shape(example_batch: Mapping[str, Tensor] | Tensor) -> tuple[int, int]:
    """(batch size, L) of a batch: [B, L, ...] tensors."""
    first = example_batch if isinstance(example_batch, Tensor) else next(iter(example_batch.values()))
    return int(first.shape[0]), int(first.shape[1])


def count_macs(model: nn.Module, example_batch: Mapping[str, Tensor] | Tensor) -> MacReport:
    """MACs (torch.utils.flop_counter) and elementwise FLOPs of one eval-mode forward, by op kind and component.

    Input: a batch of [B, L, ...] tensors (or one tensor) in the layout the model reads.
    Output: MacReport; its per-inference numbers divide by B.
    """
    batch_size, history = batch_shape(example_batch)
    names = _components(model)

    def component_of(parents: set[str]) -> str:
        inside = [names[p] for p in parents if p in names]
        return min(inside, key=len) if inside else TOP_LEVEL

    tracker = ModuleTracker()
    counter = FlopCounterMode(display=False, custom_mapping=EXTRA_FLOP_FORMULAS)
    elementwise = _ElementwiseCounter(tracker, component_of)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), counter, tracker, elementwise:
            model(example_batch)
    finally:
        model.train(was_training)
    report = MacReport(batch_size, history)
    flops = counter.get_flop_counts()
    for op, count in flops.get("Global", {}).items():
        report.by_type[f"aten.{op.__name__}"] = OpCount(macs=count // 2)
    for kind, count in elementwise.by_kind.items():
        report.by_type.setdefault(kind, OpCount()).elementwise_flops += count
    _split_by_component(report, flops, names, elementwise.by_component)
    return report


def _split_by_component(
    report: MacReport,
    flops: Mapping[str, Mapping[Any, int]],
    names: Mapping[str, str],
    elementwise: Mapping[str, int],
) -> None:
    """MACs per component from flop_counter's per-module totals. A module's total holds its subtree, and
    a component's own module may never run (a read-out called through its methods), so each
    component sums its outermost modules that ran."""
    ran = [name for name in names if name in flops]
    counted = 0
    for name in ran:
        component = names[name]
        if any(name.startswith(other + ".") and names[other] == component for other in ran):
            continue  # inside a module of the same component that is already summed
        macs = sum(flops[name].values()) // 2
        report.by_component.setdefault(component, OpCount()).macs += macs
        counted += macs
    rest = sum(flops.get("Global", {}).values()) // 2 - counted
    if rest:
        report.by_component.setdefault(TOP_LEVEL, OpCount()).macs += rest
    for component, count in elementwise.items():
        report.by_component.setdefault(component, OpCount()).elementwise_flops += count
