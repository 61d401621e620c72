"""The trainer's fast path (bf16 autocast + channels-last) computes the same model as the plain one.

Tolerances, measured on these random-init models at 32x32: bf16 moves logits by at most 1.2% of
their largest magnitude and keeps the whole gradient within cosine 0.988 of float32; the tests
allow 5% and 0.97. Exact rewrites (max-pool before ReLU) are checked to float32 rounding.
"""

from __future__ import annotations

import copy
import json
import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from kdcs.config import ConfigError
from kdcs.distill import fast_path
from kdcs.distill.composer import build_composer
from kdcs.distill.fast_path import float32_output, resolve_precision, training_precision, use_memory_format
from kdcs.distill.prediction import EVAL_BATCH
from kdcs.distill.train_config import TrainConfig
from kdcs.distill.trainer import Trainer
from kdcs.models import ARCHITECTURES, ModelConfig, build_model
from kdcs.models.encoders import PaperStudentCNN, PaperTeacherCNN
from kdcs.models.encoders.float32_grad_conv import Float32GradConv2d
from kdcs.models.weights import load_model_weights
from tests.fixtures.training import make_batchers, quick_config, tiny_model
from tests.unit.test_models import SMALL, random_batch

LOGIT_TOLERANCE = 0.05  # of the largest |logit|
GRADIENT_COSINE = 0.97


def loss_and_gradients(model: nn.Module, batch: dict, precision: str) -> tuple[torch.Tensor, dict]:
    model.train()
    torch.manual_seed(1)  # the same dropout masks in both runs
    with training_precision(precision, "cpu"):
        output = model(batch)
    logits = float32_output(output).logits
    loss = F.cross_entropy(logits.flatten(0, 1), batch["target"].flatten())
    model.zero_grad(set_to_none=True)
    loss.backward()
    grads = {name: p.grad.detach().clone() for name, p in model.named_parameters() if p.grad is not None}
    return logits.detach(), grads


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_fast_path_matches_the_plain_path_on_one_batch(architecture):
    # Prepare
    torch.manual_seed(0)
    plain = build_model(ModelConfig(architecture=architecture, **SMALL))
    fast = use_memory_format(copy.deepcopy(plain), channels_last=True)
    batch = random_batch(8, 8, plain.config, seed=1)
    # Execute
    plain_logits, plain_grads = loss_and_gradients(plain, batch, "fp32")
    fast_logits, fast_grads = loss_and_gradients(fast, batch, "bf16")
    # Assert
    assert fast_logits.dtype == torch.float32
    scale = plain_logits.abs().max()
    assert (fast_logits - plain_logits).abs().max() <= LOGIT_TOLERANCE * scale
    assert plain_grads.keys() == fast_grads.keys()
    assert all(torch.isfinite(g).all() for g in fast_grads.values())
    assert all(g.dtype == torch.float32 for g in fast_grads.values())
    plain_flat = torch.cat([g.flatten() for g in plain_grads.values()])
    fast_flat = torch.cat([fast_grads[name].flatten() for name in plain_grads])
    assert F.cosine_similarity(plain_flat, fast_flat, dim=0) >= GRADIENT_COSINE


def test_float32_grad_conv_is_a_plain_conv_outside_bf16_and_close_inside():
    # Prepare
    torch.manual_seed(0)
    conv = Float32GradConv2d(8, 16, kernel_size=5, stride=2, padding=2)
    reference = nn.Conv2d(8, 16, kernel_size=5, stride=2, padding=2)
    reference.load_state_dict(conv.state_dict())
    frames = torch.randn(4, 8, 20, 20)
    # Execute
    reference(frames).square().sum().backward()
    conv(frames).square().sum().backward()
    plain_grad = conv.weight.grad.clone()
    conv.weight.grad = None
    inputs = frames.clone().requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        output = conv(inputs)
    output.float().square().sum().backward()
    # Assert
    assert torch.allclose(plain_grad, reference.weight.grad, rtol=1e-5, atol=1e-6)
    assert output.dtype == torch.bfloat16 and conv.weight.grad.dtype == torch.float32
    assert F.cosine_similarity(conv.weight.grad.flatten(), plain_grad.flatten(), dim=0) > 0.999
    assert inputs.grad is not None and torch.isfinite(inputs.grad).all()


def put_relu_before_pool(module: nn.Module) -> int:
    """Swap every (MaxPool2d, ReLU) pair back into the reference's ReLU-first order; returns the count."""
    swaps = 0
    for sequential in [m for m in module.modules() if isinstance(m, nn.Sequential)]:
        for index in range(len(sequential) - 1):
            if isinstance(sequential[index], nn.MaxPool2d) and isinstance(sequential[index + 1], nn.ReLU):
                sequential[index], sequential[index + 1] = sequential[index + 1], sequential[index]
                swaps += 1
    return swaps


@pytest.mark.parametrize(
    "cnn",
    [PaperTeacherCNN((32, 32), attention=False).blocks, PaperStudentCNN().convs],
    ids=["teacher", "student"],
)
def test_max_pool_before_relu_is_the_reference_order_to_rounding(cnn):
    # Prepare: a binary motion mask, where ties in the max-pool are common
    torch.manual_seed(0)
    frames = (torch.rand(6, 1, 32, 32) > 0.7).float()
    reference = copy.deepcopy(cnn)
    assert put_relu_before_pool(reference) >= 2
    # Execute
    outputs = []
    for module in (cnn, reference):
        module.train()
        out = module(frames)
        out.square().sum().backward()
        outputs.append(out.detach())
    # Assert
    assert torch.allclose(outputs[0], outputs[1], rtol=1e-5, atol=1e-6)
    for (name, mine), theirs in zip(cnn.named_parameters(), reference.parameters(), strict=True):
        assert torch.allclose(mine.grad, theirs.grad, rtol=1e-4, atol=1e-6), name


def test_auto_precision_is_bf16_only_for_cnn_models_on_cpus_with_native_bf16(monkeypatch):
    cnn = build_model(ModelConfig(architecture="paper-student", **SMALL))
    no_cnn = build_model(ModelConfig(architecture="gps-beam-student"))
    monkeypatch.setattr(fast_path, "native_bf16", lambda device: True)
    assert resolve_precision("auto", cnn, "cpu") == "bf16"
    assert resolve_precision("auto", no_cnn, "cpu") == "fp32"
    assert resolve_precision("fp32", cnn, "cpu") == "fp32"
    assert resolve_precision("bf16", no_cnn, "cpu") == "bf16"
    monkeypatch.setattr(fast_path, "native_bf16", lambda device: False)
    assert resolve_precision("auto", cnn, "cpu") == "fp32"


def test_trainer_runs_the_bf16_path_and_its_weights_load_into_a_plain_model(tmp_path):
    # Prepare
    train, val, _ = make_batchers()
    config = quick_config(epochs=2, precision="bf16", channels_last=True)
    # Execute
    result = Trainer(
        tiny_model(), build_composer({"ce": {"weight": 1.0}}), train, val, config, tmp_path
    ).fit()
    # Assert
    assert all(math.isfinite(row["train_loss"]) for row in result.history)
    assert json.loads((tmp_path / "run_config.json").read_text())["train_precision"] == "bf16"
    plain = tiny_model(seed=1)
    load_model_weights(tmp_path / "best.safetensors", plain)
    assert all(p.dtype == torch.float32 for p in plain.parameters())


def test_precision_is_checked_and_the_plain_path_stays_available():
    assert TrainConfig().precision == "auto" and TrainConfig().channels_last
    assert TrainConfig(precision="fp32", channels_last=False).precision == "fp32"
    with pytest.raises(ConfigError, match="precision"):
        TrainConfig(precision="fp16")
    with pytest.raises(ValueError, match="precision"):
        with training_precision("half", "cpu"):
            pass


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_evaluation_in_batches_of_eval_batch_matches_one_large_batch(architecture):
    # Prepare: validation and test run in batches of EVAL_BATCH (fastest on CPU); eval mode, no gradients
    torch.manual_seed(0)
    model = build_model(ModelConfig(architecture=architecture, **SMALL)).eval()
    batch = random_batch(EVAL_BATCH + 8, 8, model.config, seed=2)
    # Execute
    with torch.no_grad():
        whole = model(batch).logits
        parts = [
            model({key: value[start : start + EVAL_BATCH] for key, value in batch.items()}).logits
            for start in (0, EVAL_BATCH)
        ]
    # Assert: the same logits to float rounding (the demo's models gave bit-identical ones)
    torch.testing.assert_close(torch.cat(parts), whole, rtol=1e-5, atol=1e-5)
