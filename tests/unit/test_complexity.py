"""Parameters (deployable vs KD-only), bytes at fp32 / int8, example batches, the gathered report."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from kdcs.distill.losses.feature_kd import TimeMap, WidthProjection
from kdcs.eval.complexity import (
    analytic_model_bytes,
    complexity_report,
    count_parameters,
    example_batch,
    model_bytes,
)
from kdcs.models import ModelConfig, build_model


class StudentWithAttachedAdapter(nn.Module):
    """A deployable Linear plus a KD-only adapter that someone stored on the model."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(4, 3)  # 15 parameters
        self.adapter = WidthProjection(3, 5)  # 20 parameters, kd_only


def test_kd_adapters_inside_the_model_are_counted_apart():
    counts = count_parameters(StudentWithAttachedAdapter())

    assert counts == {"deployable": 15, "kd_only": 20}


def test_extra_kd_modules_count_as_kd_only_and_shared_parameters_once():
    # Prepare: a composer-like holder of a time map and of a reference to the student's own head
    student = nn.Linear(4, 3)
    holder = nn.ModuleList([TimeMap(3, 8), student])

    # Execute
    counts = count_parameters(student, kd_only_modules=holder)

    # Assert: TimeMap is Linear(3, 8) = 32 parameters; the shared head stays deployable
    assert counts == {"deployable": 15, "kd_only": 32}


@pytest.mark.parametrize(
    ("architecture", "expected"), [("paper-teacher", 1_762_458), ("paper-student", 172_992)]
)
def test_paper_models_have_the_reference_parameter_counts_at_224(architecture, expected):
    model = build_model(ModelConfig(architecture=architecture, image_size=(224, 224)))

    assert count_parameters(model) == {"deployable": expected, "kd_only": 0}


def test_bytes_of_a_linear_layer():
    # Prepare: 50 weights + 5 biases
    linear = nn.Linear(10, 5)

    # Execute
    sizes = analytic_model_bytes(linear)

    # Assert: int8 keeps the bias in fp32 and adds one scale + zero point
    assert sizes == {"fp32": 55 * 4, "int8": 50 + 8 + 5 * 4}


def test_batchnorm_buffers_count_at_their_stored_size_and_stay_fp32():
    norm = nn.BatchNorm2d(4)  # 8 parameters; running mean / var (fp32) + num_batches_tracked (int64)

    sizes = analytic_model_bytes(norm)

    assert sizes == {"fp32": 8 * 4 + 8 * 4 + 8, "int8": 8 * 4 + 8 * 4 + 8}


def test_multihead_attention_weights_are_not_quantised():
    attention = nn.MultiheadAttention(16, 4)

    sizes = analytic_model_bytes(attention)

    assert sizes["int8"] == sizes["fp32"]


def test_measured_int8_model_is_smaller_than_fp32():
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 8))

    serialised = model_bytes(model)["serialised"]

    if serialised is None:
        pytest.skip("dynamic int8 quantisation is not available in this torch build")
    assert serialised["int8"] < 0.5 * serialised["fp32"]
    assert serialised["fp32"] >= analytic_model_bytes(model)["fp32"]  # container overhead on top


def test_example_batch_has_the_window_batcher_layout():
    config = ModelConfig(
        architecture="multimodal-teacher", image_size=(16, 24), radar_size=(8, 12), history=5
    )

    batch = example_batch(config, batch_size=2)

    assert set(batch) == {"camera_motion", "radar", "gps", "beam_history"}
    assert batch["camera_motion"].shape == (2, 5, 16, 24) and batch["camera_motion"].dtype == torch.uint8
    assert int(batch["camera_motion"].max()) <= 1
    assert batch["radar"].shape == (2, 5, 8, 12) and batch["radar"].dtype == torch.float32
    assert batch["gps"].shape == (2, 5, 4)
    assert batch["beam_history"].dtype == torch.int64 and int(batch["beam_history"].max()) <= 64


def test_report_is_json_ready():
    # Prepare
    config = ModelConfig(architecture="gps-beam-student")
    model = build_model(config)
    projection = WidthProjection(64, 128)

    # Execute
    report = complexity_report(model, example_batch(config), kd_extra=projection, latency_repeats=3)

    # Assert
    json.dumps(report)
    assert report["architecture"] == "gps-beam-student"
    assert report["parameters"]["kd_only"] == 64 * 128 + 128
    assert report["macs"]["macs_per_inference"] > 0
    assert report["bytes"]["fp32"] == 4 * report["parameters"]["deployable"] + sum(
        b.numel() * b.element_size() for b in model.buffers()
    )
    assert report["latency"]["median_ms"] > 0


def test_report_without_latency():
    config = ModelConfig(architecture="gps-beam-student")

    report = complexity_report(build_model(config), example_batch(config), latency=False)

    assert report["latency"] is None
