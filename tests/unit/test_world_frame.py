"""World-frame knowledge: position fusion, soft labels through an AP's geometry, the position loss and head."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from kdcs.collab.world_frame import fuse_positions, soft_label_logits
from kdcs.data.synthetic import SynthConfig
from kdcs.models import ModelConfig, build_model
from kdcs.models.position_head import INITIAL_STD_M
from kdcs.phy.ap_geometry import ApGeometry
from kdcs.phy.street import access_point_poses


def position(east: float, north: float, std: float) -> np.ndarray:
    return np.array([east, north, math.log(std), math.log(std)], dtype=np.float32)


def test_fusion_weighs_estimates_by_their_precision():
    # Prepare: a sure estimate at x=10 and a vague one at x=20
    stack = np.stack([position(10, 0, 1.0), position(20, 0, 10.0)])

    fused = fuse_positions(stack)

    # the mean moves 1/101 of the way; the spread keeps the disagreement (not narrower than 1 m)
    assert fused[0] == pytest.approx(10 + 10 / 101, abs=1e-4)
    assert np.exp(fused[2]) > 1.0
    assert fused[1] == pytest.approx(0.0, abs=1e-6)


def test_copies_of_one_estimate_do_not_narrow_the_fusion():
    one = position(3.0, -2.0, 2.0)

    fused = fuse_positions(np.stack([one, one, one]))

    np.testing.assert_allclose(fused, one, atol=1e-5)


def test_fusion_over_peers_axis_keeps_windows_and_slots():
    stack = np.random.default_rng(0).normal(size=(5, 3, 2, 4)).astype(np.float32)  # [P, K, S, 4]

    assert fuse_positions(stack, axis=1).shape == (5, 2, 4)


def ap_geometry(k: int = 0) -> ApGeometry:
    config = SynthConfig()
    pose = access_point_poses(4, config.street)[k]
    return ApGeometry(f"ap{k + 1}", pose, config.codebook, target_height_m=1.6)


def test_soft_labels_peak_at_the_beam_toward_the_position():
    geometry = ap_geometry(1)
    points = np.array([[-20.0, -5.25], [0.0, 1.75], [15.0, 5.25]])
    positions = np.concatenate([points, np.full((3, 2), math.log(0.3))], axis=-1)

    logits = soft_label_logits(geometry, positions, power=6.0, temperature=4.0)

    assert logits.shape == (3, 64)
    np.testing.assert_array_equal(logits.argmax(-1), geometry.nearest_beam(points))


def test_soft_labels_at_temperature_are_the_gain_to_the_power():
    geometry = ap_geometry(2)
    positions = position(5.0, 1.75, 2.0)[None]

    logits = soft_label_logits(geometry, positions, power=3.0, temperature=4.0)

    probabilities = torch.softmax(torch.from_numpy(logits) / 4.0, dim=-1).numpy()
    gains = geometry.expected_beam_gains(positions[:, :2], np.exp(positions[:, 2:])) + 1e-6
    np.testing.assert_allclose(probabilities, gains**3 / (gains**3).sum(), rtol=1e-4)


def test_uncertain_positions_give_wider_soft_labels():
    geometry = ap_geometry(0)
    sure, vague = position(0.0, -1.75, 0.2), position(0.0, -1.75, 8.0)

    entropy = []
    for p in (sure, vague):
        probs = torch.softmax(torch.from_numpy(soft_label_logits(geometry, p[None], 6.0, 4.0)) / 4.0, -1)
        entropy.append(float(-(probs * probs.log()).sum()))

    assert entropy[1] > entropy[0] + 0.5


def test_position_output_is_an_extra_feature_of_any_student():
    torch.manual_seed(0)
    plain = build_model(ModelConfig(architecture="gps-beam-student", history=4, horizon=2))
    torch.manual_seed(0)
    model = build_model(
        ModelConfig(architecture="gps-beam-student", history=4, horizon=2, position_output=True)
    )
    batch = {"gps": torch.randn(3, 4, 4), "beam_history": torch.randint(0, 64, (3, 4))}

    output = model.eval()(batch)

    assert output.features["position"].shape == (3, 3, 4)
    # an untrained head is vague everywhere, and the beam logits do not change
    np.testing.assert_allclose(output.features["position"][..., 2:].exp().detach(), INITIAL_STD_M, rtol=1e-5)
    torch.testing.assert_close(output.logits, plain.eval()(batch).logits)
