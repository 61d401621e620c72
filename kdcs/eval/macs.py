"""Analytic MAC / FLOP counter: forward hooks on leaf layers plus a dispatch mode for functional ops.

Conventions (per inference = one window of L slots at batch 1; per frame = per inference / L):

- A MAC is one multiply-accumulate of a matmul-like op. Conv: out_elements * (C_in / groups) * kernel
  area. Linear: out_elements * in_features. GRU / LSTM / RNN: per step actually run, gates x
  hidden x (input + hidden) (3 gates for a GRU, 4 for an LSTM), every layer and direction, the
  J appended future steps included. MultiheadAttention: the q, k, v and output projections plus
  QK^T and AV (each Tq x Tk x E). Bias additions are not counted apart (they ride on the MAC).
- matmul FLOPs = 2 x MACs: the convention of `torch.utils.flop_counter`, so the two can be compared.
- Elementwise FLOPs, counted on top: BatchNorm 2 per element (inference: folded scale + shift),
  LayerNorm / GroupNorm 5 per element (+2 with affine), activations 1 per element (softmax 3),
  pooling one per input element read (kernel area per output element), GRU 11 and LSTM 13 per
  hidden unit and step (gate sums, non-linearities, state update), attention 1 per query element
  (scaling) + 3 per score (softmax). Functional ops outside those layers (residual adds, gating
  products, softmax in custom code, input scaling) are caught by a dispatch mode: 1 FLOP per output
  element of a pointwise aten op, 1 per input element of a reduction, 3 per element of a softmax.
- flops = matmul FLOPs + elementwise FLOPs.

Matmuls written functionally inside a custom module's forward (torch.matmul, bmm, einsum,
scaled_dot_product_attention) are caught by the same dispatch mode, counted with the formulas of
`torch.utils.flop_counter`, and listed as "aten.<op> (functional)". Ops inside a layer counted by a
hook are not seen twice.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry, sdpa_flop_count, shape_wrapper

aten = torch.ops.aten


@dataclass
class OpCount:
    """MACs and elementwise FLOPs of one group of ops (a layer type or a model component)."""

    macs: int = 0
    elementwise_flops: int = 0
    calls: int = 0

    @property
    def flops(self) -> int:
        return 2 * self.macs + self.elementwise_flops

    def add(self, macs: int, elementwise_flops: int) -> None:
        self.macs += int(macs)
        self.elementwise_flops += int(elementwise_flops)
        self.calls += 1

    def per_window(self, batch_size: int) -> dict[str, int]:
        return {
            "macs": round(self.macs / batch_size),
            "flops": round(self.flops / batch_size),
            "elementwise_flops": round(self.elementwise_flops / batch_size),
            "calls": self.calls,
        }


@dataclass
class MacReport:
    """Counts of one forward over `batch_size` windows of `history` slots (totals over the batch).

    by_type: layer class name (or "aten.bmm (functional)", "pointwise (functional)", ...) -> OpCount.
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


# ---- per-layer formulas: (module, args, kwargs, output) -> (macs, elementwise FLOPs) ----

LayerCount = tuple[int, int]


def _first_tensor(value: Any) -> Tensor:
    return value if isinstance(value, Tensor) else value[0]


def _conv(module: nn.Module, args: tuple, kwargs: dict, output: Any) -> LayerCount:
    fan_in = (module.in_channels // module.groups) * math.prod(module.kernel_size)
    return output.numel() * fan_in, 0


def _linear(module: nn.Module, args: tuple, kwargs: dict, output: Any) -> LayerCount:
    return output.numel() * module.in_features, 0


# gates and elementwise FLOPs per hidden unit and step of each recurrent layer type
_RECURRENT_GATES = {"GRU": (3, 11), "LSTM": (4, 13), "RNN": (1, 2)}


def _recurrent_steps(module: nn.Module, inputs: Any) -> int:
    """Batch items x time steps the layer ran (a PackedSequence runs only its real steps)."""
    if isinstance(inputs, nn.utils.rnn.PackedSequence):
        return int(inputs.data.shape[0])
    return inputs.shape[0] if inputs.dim() == 2 else inputs.shape[0] * inputs.shape[1]


def _recurrent(module: nn.Module, args: tuple, kwargs: dict, output: Any) -> LayerCount:
    gates, per_unit = _RECURRENT_GATES[type(module).__name__]
    steps = _recurrent_steps(module, args[0] if args else kwargs["input"])
    directions = 2 if module.bidirectional else 1
    hidden = module.hidden_size
    state_width = getattr(module, "proj_size", 0) or hidden  # what h_{t-1} feeds back
    macs = elementwise = 0
    for layer in range(module.num_layers):
        in_width = module.input_size if layer == 0 else state_width * directions
        macs += steps * gates * hidden * (in_width + state_width)
        if state_width != hidden:  # LSTM projection h = W_hr h
            macs += steps * hidden * state_width
        elementwise += steps * hidden * per_unit
    return directions * macs, directions * elementwise


def _recurrent_cell(module: nn.Module, args: tuple, kwargs: dict, output: Any) -> LayerCount:
    name = type(module).__name__.removesuffix("Cell")
    gates, per_unit = _RECURRENT_GATES[name]
    inputs = args[0]
    batch = inputs.shape[0] if inputs.dim() == 2 else 1
    hidden = module.hidden_size
    return batch * gates * hidden * (module.input_size + hidden), batch * hidden * per_unit


def _attention_lengths(module: nn.Module, query: Tensor, key: Tensor) -> tuple[int, int, int]:
    """(batch, query length Tq, key length Tk) for batched or unbatched MHA inputs."""
    if query.dim() == 2:
        return 1, query.shape[0], key.shape[0]
    if module.batch_first:
        return query.shape[0], query.shape[1], key.shape[1]
    return query.shape[1], query.shape[0], key.shape[0]


def _multihead_attention(module: nn.Module, args: tuple, kwargs: dict, output: Any) -> LayerCount:
    names = ("query", "key", "value")
    query, key = (args[i] if len(args) > i else kwargs[names[i]] for i in range(2))
    batch, q_len, k_len = _attention_lengths(module, query, key)
    width = module.embed_dim
    projections = q_len * width * width + k_len * (module.kdim + module.vdim) * width + q_len * width * width
    scores_and_mix = 2 * q_len * k_len * width  # QK^T and AV summed over heads
    elementwise = q_len * width + 3 * module.num_heads * q_len * k_len
    return batch * (projections + scores_and_mix), batch * elementwise


def _per_element(flops_per_element: int, of_input: bool = False) -> Callable[..., LayerCount]:
    def count(module: nn.Module, args: tuple, kwargs: dict, output: Any) -> LayerCount:
        tensor = _first_tensor(args[0] if of_input else output)
        return 0, flops_per_element * tensor.numel()

    return count


def _norm(module: nn.Module, args: tuple, kwargs: dict, output: Any) -> LayerCount:
    affine = getattr(module, "elementwise_affine", getattr(module, "affine", False))
    return 0, (5 + (2 if affine else 0)) * output.numel()


def _pool(module: nn.Module, args: tuple, kwargs: dict, output: Any) -> LayerCount:
    kernel = module.kernel_size
    area = math.prod(kernel) if isinstance(kernel, tuple) else kernel ** (output.dim() - 2)
    return 0, area * _first_tensor(output).numel()


def _free(module: nn.Module, args: tuple, kwargs: dict, output: Any) -> LayerCount:
    return 0, 0


# Checked in order with isinstance, so subclasses (e.g. MHA's NonDynamicallyQuantizableLinear) match.
LAYER_FORMULAS: tuple[
    tuple[type[nn.Module] | tuple[type[nn.Module], ...], Callable[..., LayerCount]], ...
] = (
    ((nn.Conv1d, nn.Conv2d, nn.Conv3d), _conv),
    (nn.Linear, _linear),
    ((nn.GRU, nn.LSTM, nn.RNN), _recurrent),
    ((nn.GRUCell, nn.LSTMCell, nn.RNNCell), _recurrent_cell),
    (nn.MultiheadAttention, _multihead_attention),
    (nn.modules.batchnorm._BatchNorm, _per_element(2)),
    ((nn.LayerNorm, nn.GroupNorm), _norm),
    ((nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d), _pool),
    (
        (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d),
        _per_element(1, True),
    ),
    ((nn.Softmax, nn.LogSoftmax), _per_element(3)),
    ((nn.ReLU, nn.Sigmoid, nn.Tanh, nn.GELU, nn.SiLU, nn.LeakyReLU, nn.ELU, nn.Hardswish), _per_element(1)),
    ((nn.Dropout, nn.Identity, nn.Embedding, nn.Flatten, nn.Unflatten), _free),
)


def layer_formula(module: nn.Module) -> Callable[..., LayerCount] | None:
    """The formula counting `module` as one leaf, or None when its children are counted instead."""
    for types, formula in LAYER_FORMULAS:
        if isinstance(module, types):
            return formula
    return None


# ---- functional ops: a dispatch mode that sees what no leaf hook covers ----


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


# torch's matmul formulas plus the CPU kernels it does not list (attention, the oneDNN LSTM layer).
EXTRA_FLOP_FORMULAS: dict[Any, Callable[..., int]] = {
    aten._scaled_dot_product_flash_attention_for_cpu: _cpu_sdpa_flops,
    aten._native_multi_head_attention: _native_attention_flops,
    aten.mkldnn_rnn_layer: _mkldnn_rnn_layer_flops,
}
_MATMUL_FLOPS = {**flop_registry, **{op: shape_wrapper(f) for op, f in EXTRA_FLOP_FORMULAS.items()}}
_REDUCTIONS = {aten.sum, aten.mean, aten.amax, aten.amin, aten.max, aten.min, aten.var, aten.std}
_SOFTMAXES = {aten._softmax, aten._log_softmax}


class _Tally:
    """Running counts plus where the forward currently is (inside a counted leaf? which component?)."""

    def __init__(self, report: MacReport) -> None:
        self.report = report
        self.leaf_depth = 0
        self.components: list[str] = ["(top level)"]

    def add(self, kind: str, macs: int, elementwise: int) -> None:
        for table, key in ((self.report.by_type, kind), (self.report.by_component, self.components[-1])):
            table.setdefault(key, OpCount()).add(macs, elementwise)


class _FunctionalOpCounter(TorchDispatchMode):
    """Counts aten ops run outside every hooked leaf layer (see the module docstring)."""

    def __init__(self, tally: _Tally) -> None:
        super().__init__()
        self.tally = tally

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if self.tally.leaf_depth > 0:
            return func(*args, **kwargs)
        packet = func._overloadpacket
        if packet not in _MATMUL_FLOPS:
            with self:  # composite ops (matmul, einsum, linear) split into the mm / bmm counted below
                decomposed = func.decompose(*args, **kwargs)
            if decomposed is not NotImplemented:
                return decomposed
        out = func(*args, **kwargs)
        if packet in _MATMUL_FLOPS:
            flops = _MATMUL_FLOPS[packet](*args, **kwargs, out_val=out)
            self.tally.add(f"aten.{packet.__name__} (functional)", flops // 2, 0)
        elif torch.Tag.pointwise in func.tags and isinstance(out, Tensor):
            self.tally.add("pointwise (functional)", 0, out.numel())
        elif packet in _REDUCTIONS or packet in _SOFTMAXES:
            per_element = 3 if packet in _SOFTMAXES else 1
            self.tally.add("reduction (functional)", 0, per_element * _first_tensor(args[0]).numel())
        return out


def _component_name(path: str, model: nn.Module) -> str:
    """Top-level part a module belongs to; children of a ModuleDict / ModuleList keep one more level."""
    parts = path.split(".")
    top = getattr(model, parts[0])
    keep = 2 if isinstance(top, nn.ModuleDict | nn.ModuleList) and len(parts) > 1 else 1
    return ".".join(parts[:keep])


def _attach_hooks(model: nn.Module, tally: _Tally) -> list[Any]:
    """Leaf hooks on counted layers (their children are skipped), component tracking on the rest."""
    handles: list[Any] = []

    def enter(component: str, leaf: bool) -> Callable[..., None]:
        def hook(module: nn.Module, args: tuple, kwargs: dict) -> None:
            tally.components.append(component)
            tally.leaf_depth += int(leaf)

        return hook

    def leave(formula: Callable[..., LayerCount] | None) -> Callable[..., None]:
        def hook(module: nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
            if formula is not None and tally.leaf_depth == 1:
                tally.add(type(module).__name__, *formula(module, args, kwargs, output))
            tally.leaf_depth -= int(formula is not None)
            tally.components.pop()

        return hook

    def visit(module: nn.Module, path: str) -> None:
        formula = layer_formula(module)
        if path:
            component = _component_name(path, model)
            handles.append(
                module.register_forward_pre_hook(enter(component, formula is not None), with_kwargs=True)
            )
            handles.append(module.register_forward_hook(leave(formula), with_kwargs=True))
        if formula is None:
            for name, child in module.named_children():
                visit(child, f"{path}.{name}" if path else name)

    visit(model, "")
    return handles


def batch_shape(example_batch: Mapping[str, Tensor] | Tensor) -> tuple[int, int]:
    """(batch size B, history L) of a WindowBatcher-style dict (first tensor) or of one tensor."""
    first = example_batch if isinstance(example_batch, Tensor) else next(iter(example_batch.values()))
    return int(first.shape[0]), int(first.shape[1]) if first.dim() > 1 else 1


def count_macs(model: nn.Module, example_batch: Mapping[str, Tensor] | Tensor) -> MacReport:
    """Analytic MACs / FLOPs of one eval-mode forward of `model` on `example_batch`.

    Input: a batch dict as WindowBatcher yields (or one tensor for a bare layer; then L is its
        second dimension). Output: MacReport (counts are divided by B for the per-inference view).
    """
    batch_size, history = batch_shape(example_batch)
    report = MacReport(batch_size=batch_size, history=history)
    tally = _Tally(report)
    handles = _attach_hooks(model, tally)
    was_training = model.training
    model.eval()
    try:
        root_formula = layer_formula(model)
        tally.leaf_depth = int(root_formula is not None)  # a bare layer is its own (unhooked) leaf
        with torch.inference_mode(), _FunctionalOpCounter(tally):
            output = model(example_batch)
        if root_formula is not None:
            tally.add(type(model).__name__, *root_formula(model, (example_batch,), {}, output))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return report
