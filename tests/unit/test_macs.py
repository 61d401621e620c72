"""MAC counts (torch.utils.flop_counter plus the CPU kernels it lacks) against hand-computed layers, and the
elementwise FLOPs counted on top."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from kdcs.eval.complexity import example_batch
from kdcs.eval.macs import count_macs
from kdcs.models import ARCHITECTURES, ModelConfig, build_model


class SelfAttentionWrapper(nn.Module):
    """nn.MultiheadAttention called the way SelfTemporalAttention calls it."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.attention = nn.MultiheadAttention(width, heads, batch_first=True)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return self.attention(states, states, states, need_weights=False)[0]


class EinsumAttention(nn.Module):
    """Attention written with functional matmuls (einsum, matmul) behind a Linear."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.project = nn.Linear(width, width, bias=False)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        keys = self.project(states)  # [B, T, D]
        scores = torch.einsum("bid,bjd->bij", states, keys)  # [B, T, T]
        return torch.matmul(scores.softmax(dim=-1), keys)  # [B, T, D]


def test_conv2d_macs_are_outputs_times_fan_in():
    # Prepare: 3 -> 8 channels, 3x3 kernel, same padding on a 10x10 map
    conv = nn.Conv2d(3, 8, kernel_size=3, padding=1)

    # Execute
    report = count_macs(conv, torch.zeros(1, 3, 10, 10))

    # Assert: 8*10*10 outputs x 3*3*3 inputs each
    assert report.macs_per_inference == 8 * 10 * 10 * 27
    assert report.flops_per_inference == 2 * 21_600


def test_strided_conv_counts_only_the_outputs_it_computes():
    conv = nn.Conv2d(1, 4, kernel_size=5, stride=2, padding=2)

    report = count_macs(conv, torch.zeros(1, 1, 16, 16))

    assert report.macs_per_inference == 4 * 8 * 8 * 25


def test_depthwise_conv_divides_fan_in_by_groups():
    conv = nn.Conv2d(6, 6, kernel_size=3, padding=1, groups=6, bias=False)

    report = count_macs(conv, torch.zeros(1, 6, 8, 8))

    assert report.macs_per_inference == 6 * 8 * 8 * 9  # one 3x3 filter per channel


def test_linear_on_a_sequence_counts_every_position():
    linear = nn.Linear(10, 5)

    report = count_macs(linear, torch.zeros(1, 3, 10))

    assert report.macs_per_inference == 3 * 5 * 10
    assert report.history == 3
    assert report.macs_per_frame == 50


def test_gru_counts_three_gates_per_step_and_its_elementwise_update():
    gru = nn.GRU(4, 6, batch_first=True)

    report = count_macs(gru, torch.zeros(1, 7, 4))

    assert report.macs_per_inference == 7 * 3 * 6 * (4 + 6)
    # r, z: add + sigmoid each; n: mul, add, tanh; h' = n + z (h - n): sub, mul, add -> 10 per unit and step
    assert report.elementwise_flops_per_inference == 7 * 6 * 10


def test_stacked_bidirectional_lstm_feeds_both_directions_to_layer_two():
    lstm = nn.LSTM(4, 6, num_layers=2, bidirectional=True, batch_first=True)
    inputs = torch.zeros(1, 5, 4)

    report = count_macs(lstm, inputs)

    expected = 2 * 5 * 4 * 6 * (4 + 6) + 2 * 5 * 4 * 6 * (12 + 6)
    assert report.macs_per_inference == expected  # the oneDNN LSTM kernel torch's counter lacks


def test_multihead_attention_counts_projections_scores_and_mixing():
    # Prepare: E = 16, 4 heads, T = 5 steps
    model = SelfAttentionWrapper(16, 4)
    states = torch.randn(1, 5, 16)

    # Execute
    report = count_macs(model, states)

    # Assert: q, k, v, out projections 4*T*E*E; QK^T and AV T*T*E each
    expected = 4 * 5 * 16 * 16 + 2 * 5 * 5 * 16
    assert report.macs_per_inference == expected
    assert report.by_type["aten._native_multi_head_attention"].macs == expected  # out_proj not counted again
    # scaling of every query element + a 3-FLOP softmax of every score of each of the 4 heads
    assert report.by_type["attention (CPU kernel)"].elementwise_flops == 5 * 16 + 3 * 4 * 5 * 5


def test_functional_matmuls_are_counted_once():
    model = EinsumAttention(8)

    report = count_macs(model, torch.randn(1, 5, 8))

    assert report.by_type["aten.bmm"].macs == 2 * 5 * 5 * 8  # scores and mixing
    assert report.by_type["aten.mm"].macs == 5 * 8 * 8  # the bias-free Linear
    assert report.macs_per_inference == 5 * 8 * 8 + 2 * 5 * 5 * 8
    assert report.by_type["softmax"].elementwise_flops == 3 * 5 * 5


def test_batchnorm_is_elementwise_flops_not_macs():
    norm = nn.BatchNorm2d(4)

    report = count_macs(norm, torch.randn(1, 4, 5, 5))

    assert report.macs_per_inference == 0
    assert report.elementwise_flops_per_inference == 2 * 4 * 5 * 5


def test_counts_are_per_window_whatever_the_batch_size():
    config = ModelConfig(architecture="paper-student", image_size=(32, 32))
    model = build_model(config)

    single = count_macs(model, example_batch(config, batch_size=1))
    triple = count_macs(model, example_batch(config, batch_size=3))

    assert triple.macs_per_inference == single.macs_per_inference
    assert single.macs_per_frame * model.config.history == single.macs_per_inference


def test_zoo_gru_runs_over_the_appended_future_steps():
    config = ModelConfig(architecture="paper-student", image_size=(32, 32), history=8, horizon=3)

    report = count_macs(build_model(config), example_batch(config))

    assert report.by_component["temporal"].macs == (8 + 3) * 3 * 64 * (64 + 64)


def test_paper_encoders_per_frame_match_the_hand_count_at_224():
    # Prepare: hand counts per 224x224 frame (see the layouts in kdcs/models/encoders)
    student_convs = 112 * 112 * 32 * 49 + 28 * 28 * 64 * 800 + 7 * 7 * 128 * 576
    student_frame = student_convs + 128 * 64 + 64 * 64
    teacher_convs = 224 * 224 * 4 * 9 + 3_612_672 * 4
    teacher_frame = (
        teacher_convs + 2 * 64 * 32 + 7 * 7 * 64 * 49 + 3136 * 512 + 512 * 128 + 128 * 64 + 64 * 64
    )
    expected = {"paper-student": student_frame, "paper-teacher": teacher_frame}

    for name, per_frame in expected.items():
        config = ModelConfig(architecture=name, image_size=(224, 224), history=2)

        # Execute
        report = count_macs(build_model(config), example_batch(config))

        # Assert: the student does more work per frame than the teacher (63.4 M vs 18.1 M)
        assert report.by_component["encoders.camera_motion"].macs == 2 * per_frame, name
    assert student_frame > 3 * teacher_frame


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_components_account_for_every_mac(architecture):
    config = ModelConfig(architecture=architecture, image_size=(32, 32), radar_size=(32, 32))
    model = build_model(config)

    report = count_macs(model, example_batch(config))

    assert sum(c.macs for c in report.by_component.values()) == sum(t.macs for t in report.by_type.values())
    assert report.by_component.get("(top level)", None) is None or report.by_component["(top level)"].macs == 0
    assert report.macs_per_inference > 0 and report.elementwise_flops_per_inference > 0
