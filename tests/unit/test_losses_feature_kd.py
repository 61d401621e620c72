from __future__ import annotations

import pytest
import torch

from kdcs.distill.losses.feature_kd import FeatureKDLoss, TimeMap, end_aligned_time_init


def _features(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def test_zero_when_student_equals_teacher_through_identity_projection():
    loss = FeatureKDLoss(student_dim=16, teacher_dim=16)
    features = _features(0, 4, 8, 16)

    assert loss(features, features.clone()).item() == pytest.approx(0.0, abs=1e-6)


def test_zero_when_teacher_is_the_projected_student():
    loss = FeatureKDLoss(student_dim=4, teacher_dim=6)
    with torch.no_grad():
        loss.projection.linear.weight.copy_(_features(1, 6, 4))
        loss.projection.linear.bias.zero_()
    student = _features(2, 3, 5, 4)
    teacher = student @ loss.projection.linear.weight.T  # [3, 5, 6]

    assert loss(student, teacher).item() == pytest.approx(0.0, abs=1e-6)


def test_orthogonal_features_give_two():
    # ||a/|a| - b/|b|||^2 = 2 - 2 cos = 2 for orthogonal a, b
    loss = FeatureKDLoss(student_dim=2, teacher_dim=2)
    student = torch.tensor([[3.0, 0.0]])
    teacher = torch.tensor([[0.0, 5.0]])

    assert loss(student, teacher).item() == pytest.approx(2.0)


def test_unchanged_when_teacher_features_are_scaled():
    loss = FeatureKDLoss(student_dim=8, teacher_dim=8)
    student, teacher = _features(3, 2, 4, 8), _features(4, 2, 4, 8)

    assert loss(student, 50 * teacher).item() == pytest.approx(loss(student, teacher).item(), rel=1e-5)


def test_time_map_takes_three_student_steps_to_eight_teacher_steps():
    loss = FeatureKDLoss(student_dim=16, teacher_dim=32, student_len=3, teacher_len=8)

    aligned = loss.align(_features(5, 2, 3, 16))

    assert aligned.shape == (2, 8, 32)
    assert loss.time_map.linear.weight.shape == (8, 3)


def test_time_map_starts_end_aligned():
    # both windows end at slot t: teacher step 7 <- student step 2, 6 <- 1, 5 <- 0, older ones <- 0
    expected_source = [0, 0, 0, 0, 0, 0, 1, 2]
    student = _features(6, 1, 3, 4)

    mapped = TimeMap(3, 8)(student)

    assert end_aligned_time_init(3, 8).argmax(dim=1).tolist() == expected_source
    assert torch.allclose(mapped, student[:, expected_source])


def test_no_time_map_when_lengths_match():
    assert FeatureKDLoss(8, 8, student_len=5, teacher_len=5).time_map is None


def test_adapters_are_marked_kd_only_and_learnable():
    loss = FeatureKDLoss(student_dim=16, teacher_dim=32, student_len=3, teacher_len=8)

    assert loss.kd_only and loss.projection.kd_only and loss.time_map.kd_only
    assert sum(p.numel() for p in loss.parameters()) == (16 * 32 + 32) + (3 * 8 + 8)


def test_gradients_reach_student_and_adapters_but_not_teacher():
    loss = FeatureKDLoss(student_dim=4, teacher_dim=6, student_len=3, teacher_len=8)
    student = _features(7, 2, 3, 4).requires_grad_()
    teacher = _features(8, 2, 8, 6).requires_grad_()

    loss(student, teacher).backward()

    assert student.grad is not None and loss.time_map.linear.weight.grad is not None
    assert teacher.grad is None


def test_shape_mismatch_names_the_lengths():
    loss = FeatureKDLoss(student_dim=4, teacher_dim=4)

    with pytest.raises(ValueError, match="student_len"):
        loss(_features(9, 2, 3, 4), _features(10, 2, 8, 4))
