"""Data-free KD's motion masks drawn as moving boxes (`kd.data_free.masks.kind: boxes`): shapes, dtype,
sparsity, consistent motion, the prior's ranges, seeding, and that the teacher's gradient reaches them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kdcs.config import ConfigError, load_config
from kdcs.distill.data_free.config import DataFreeConfig, MaskPrior
from kdcs.distill.data_free.inversion import WindowShape, synthesise_batch
from kdcs.distill.data_free.mask_boxes import MaskBoxes
from kdcs.distill.data_free.sensor_subset import SensorSubsetTeacher
from kdcs.distill.run_config import RunConfig
from kdcs.models import ModelConfig, build_model

L, J, SIZE = 4, 1, (32, 32)


def test_boxes_are_binary_sparse_masks_in_the_cache_dtype():
    boxes = MaskBoxes(50, L, SIZE, MaskPrior(kind="boxes", boxes=2), np.random.default_rng(0))
    values = boxes().detach()
    assert values.shape == (50, L, *SIZE) and set(torch.unique(values).tolist()) <= {0.0, 1.0}
    cached = boxes.cached()
    assert cached.dtype == np.uint8 and np.array_equal(cached, values.numpy().astype(np.uint8))
    density = cached.mean()
    assert 0.0 < density < 0.1  # two boxes of at most 20% x 20% of the image each: sparse


def test_box_sizes_and_speeds_stay_inside_the_prior():
    prior = MaskPrior(kind="boxes", boxes=3, min_half=0.05, max_half=0.1, max_speed=0.1)
    boxes = MaskBoxes(40, L, SIZE, prior, np.random.default_rng(1))
    with torch.no_grad():
        boxes.half_size.mul_(50.0)  # saturate the squashing: still inside the prior
        boxes.velocity.mul_(50.0)
    with torch.no_grad():
        centres, half = boxes.boxes()
    assert float(half.min()) >= 0.05 * 32 - 1e-4 and float(half.max()) <= 0.1 * 32 + 1e-4
    step = (centres[:, 1:] - centres[:, :-1]).abs()
    assert float(step.max()) <= 0.1 * 32 + 1e-4
    assert torch.allclose(step, step[:, :1].expand_as(step), atol=1e-4)  # constant velocity in a window


def test_boxes_are_seeded_and_the_gradient_reaches_every_parameter():
    prior = MaskPrior(kind="boxes")
    first = MaskBoxes(8, L, SIZE, prior, np.random.default_rng(3))
    again = MaskBoxes(8, L, SIZE, prior, np.random.default_rng(3))
    other = MaskBoxes(8, L, SIZE, prior, np.random.default_rng(4))
    assert np.array_equal(first.cached(), again.cached()) and not np.array_equal(
        first.cached(), other.cached()
    )
    (first() * torch.linspace(0, 1, SIZE[1])).sum().backward()  # straight-through: gradients flow
    assert all(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in first.parameters())


def test_mask_prior_keys_are_checked_and_read_from_overrides():
    config = load_config(RunConfig(), None, ["kd.data_free.masks.kind=boxes", "kd.data_free.masks.boxes=2"])
    assert config.kd.data_free.masks == MaskPrior(kind="boxes", boxes=2)
    for bad, key in (
        ({"kind": "blobs"}, "masks.kind"),
        ({"boxes": 0}, "masks.boxes"),
        ({"min_half": 0.2, "max_half": 0.1}, "min_half"),
        ({"max_speed": -1.0}, "max_speed"),
    ):
        with pytest.raises(ConfigError, match=key):
            MaskPrior(**bad)


def test_a_camera_motion_student_gets_box_masks_from_synthesis():
    torch.manual_seed(0)
    config = ModelConfig(
        architecture="ds-student", modalities=("camera_motion", "beam_history"), history=L, horizon=J,
        image_size=SIZE, hidden=16, feature_size=16, beam_embedding_dim=8, depthwise_channels=(4, 8, 8, 8),
        attention_heads=2,
    )  # fmt: skip
    teacher = build_model(config).eval().requires_grad_(False)
    subset = SensorSubsetTeacher(teacher, ("camera_motion",))
    settings = DataFreeConfig(steps=3, masks=MaskPrior(kind="boxes", boxes=2))
    windows = synthesise_batch(
        subset, 6, WindowShape(L, J, 64, SIZE, SIZE), settings, np.random.default_rng(0)
    )
    masks = windows["camera_motion"]
    assert masks.shape == (6, L, *SIZE) and masks.dtype == np.uint8 and set(np.unique(masks)) <= {0, 1}
    assert masks.mean() < 0.1  # boxes, not the free-pixel start
