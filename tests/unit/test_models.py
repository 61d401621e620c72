"""Named architectures: shapes, read-outs, fusions, parameter counts, time folding, gradients."""

from __future__ import annotations

import pytest
import torch

from kdcs.models import ARCHITECTURES, ModelConfig, ModelOutput, build_model, count_parameters, resolve_config

SMALL = {"image_size": (32, 32), "radar_size": (32, 32)}


def random_batch(
    batch_size: int, history: int, config: ModelConfig, seed: int = 0
) -> dict[str, torch.Tensor]:
    """Every modality a WindowBatcher can deliver, with its cached dtype."""
    generator = torch.Generator().manual_seed(seed)
    height, width = config.image_size
    ranges, angles = config.radar_size
    return {
        "camera": torch.randint(
            0, 256, (batch_size, history, height, width), generator=generator, dtype=torch.uint8
        ),
        "camera_motion": torch.randint(0, 2, (batch_size, history, height, width), generator=generator).to(
            torch.uint8
        ),
        "radar": 10.0 * torch.randn(batch_size, history, ranges, angles, generator=generator),
        "gps": 30.0 * torch.randn(batch_size, history, 4, generator=generator),
        "beam_history": torch.randint(0, config.num_beams + 1, (batch_size, history), generator=generator),
        "target": torch.randint(0, config.num_beams, (batch_size, config.horizon + 1), generator=generator),
    }


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_every_architecture_returns_logits_and_features(architecture):
    # Prepare
    config = ModelConfig(architecture=architecture, **SMALL)
    model = build_model(config).eval()
    batch = random_batch(2, 8, model.config)
    # Execute
    with torch.no_grad():
        output = model(batch)
    # Assert
    assert isinstance(output, ModelOutput)
    assert output.logits.shape == (2, 4, 64)
    assert output.features["frame"].shape == (2, 8, 64)
    assert output.features["temporal"].shape == (2, 8, 64)
    assert output.features["final"].shape == (2, 64)
    assert output.features["slots"].shape == (2, 4, 64)
    assert torch.isfinite(output.logits).all()


@pytest.mark.parametrize("readout", ["zero-append", "multi-head"])
@pytest.mark.parametrize("fusion", ["concat", "attention"])
def test_multimodal_teacher_runs_with_both_readouts_and_fusions(readout, fusion):
    # Prepare
    config = ModelConfig(
        architecture="multimodal-teacher", readout=readout, fusion=fusion, horizon=5, **SMALL
    )
    model = build_model(config).eval()
    # Execute
    with torch.no_grad():
        output = model(random_batch(3, 6, config))
    # Assert
    assert output.logits.shape == (3, 6, 64)
    assert output.features["camera_motion"].shape == (3, 6, 64)
    assert output.features["beam_history"].shape == (3, 6, 32)
    if fusion == "attention":
        weights = output.features["modality_weights"]
        assert weights.shape == (3, 6, 4)
        torch.testing.assert_close(weights.sum(-1), torch.ones(3, 6))
    else:
        assert "modality_weights" not in output.features


def test_paper_teacher_has_the_published_parameter_count_at_224():
    config = ModelConfig(architecture="paper-teacher", image_size=(224, 224), readout="zero-append")
    assert count_parameters(build_model(config)) == 1_762_458


def test_paper_student_has_the_published_parameter_count():
    config = ModelConfig(architecture="paper-student", image_size=(224, 224))
    assert count_parameters(build_model(config)) == 172_992


def test_depthwise_student_has_about_100k_parameters():
    count = count_parameters(build_model(ModelConfig(architecture="ds-student")))
    assert 80_000 <= count <= 120_000
    assert count == 107_193  # the long-term sister paper's student


def test_multi_head_readout_adds_its_slot_maps_only():
    zero_append = count_parameters(build_model(ModelConfig(architecture="paper-student")))
    multi_head = count_parameters(
        build_model(ModelConfig(architecture="paper-student", readout="multi-head"))
    )
    assert multi_head - zero_append == 4 * (64 * 64 + 64)


def test_encoder_runs_once_per_forward_on_time_folded_batch():
    # Prepare
    model = build_model(ModelConfig(architecture="paper-teacher", **SMALL)).eval()
    calls: list[tuple[int, ...]] = []
    model.encoders["camera_motion"].register_forward_hook(
        lambda module, args, out: calls.append(tuple(args[0].shape))
    )
    # Execute
    with torch.no_grad():
        model(random_batch(4, 8, model.config))
    # Assert
    assert calls == [(32, 32, 32)]  # one call on B*L = 4*8 frames


def test_time_folding_keeps_each_slot_with_its_own_frame():
    # Prepare: in eval mode a frame's embedding must not depend on which (window, slot) it sits in
    model = build_model(ModelConfig(architecture="paper-student", **SMALL)).eval()
    batch = random_batch(3, 5, model.config, seed=1)
    encoder = model.encoders["camera_motion"]
    # Execute
    with torch.no_grad():
        folded = model(batch).features["camera_motion"]  # [B, L, D]
        one_frame = encoder(batch["camera_motion"][2, 3:4])  # [1, D]
    # Assert
    torch.testing.assert_close(folded[2, 3], one_frame[0])


def test_models_accept_any_history_length():
    model = build_model(ModelConfig(architecture="ds-student", **SMALL)).eval()
    with torch.no_grad():
        output = model(random_batch(2, 3, model.config))
    assert output.logits.shape == (2, 4, 64)
    assert output.features["temporal"].shape == (2, 3, 64)


def backpropagate_once(model) -> dict[str, float]:
    """One cross-entropy backward pass; parameter name -> largest absolute gradient."""
    batch = random_batch(4, 5, model.config)
    logits = model(batch).logits
    torch.nn.functional.cross_entropy(logits.flatten(0, 1), batch["target"].flatten()).backward()
    return {
        name: (p.grad.abs().max().item() if p.grad is not None else 0.0)
        for name, p in model.named_parameters()
    }


@pytest.mark.parametrize(
    "overrides",
    [
        {"architecture": "gps-beam-student", "fusion": "attention", "readout": "multi-head"},
        {"architecture": "ds-student", "modalities": ("camera", "gps"), **SMALL},
    ],
)
def test_gradients_reach_every_parameter(overrides):
    # Prepare
    torch.manual_seed(0)
    model = build_model(ModelConfig(dropout=0.0, **overrides)).train()
    # Execute
    gradients = backpropagate_once(model)
    # Assert
    assert [name for name, largest in gradients.items() if not largest > 0] == []


def test_paper_teacher_keeps_the_reference_parameters_that_learn_nothing():
    # Prepare: conv biases right before a BatchNorm and the bias before the softmax over time
    # are cancelled exactly; the reference has them, so the published count includes them.
    torch.manual_seed(0)
    model = build_model(ModelConfig(architecture="paper-teacher", dropout=0.0, **SMALL)).train()
    # Execute
    gradients = backpropagate_once(model)
    # Assert: only rounding noise reaches them
    dead = sorted(name for name, largest in gradients.items() if largest < 1e-6)
    conv_biases = [f"encoders.camera_motion.backbone.blocks.{i}.0.bias" for i in range(5)]
    assert dead == sorted([*conv_biases, "temporal.attention.scorer.2.bias"])


def test_unknown_architecture_is_named_in_the_error():
    with pytest.raises(ValueError, match="'paper-tutor'.*paper-teacher"):
        build_model(ModelConfig(architecture="paper-tutor"))


def test_defaults_are_resolved_on_the_model_config():
    model = build_model(ModelConfig(architecture="multimodal-teacher"))
    assert model.modalities == ("camera_motion", "radar", "gps", "beam_history")
    assert model.config.temporal_attention == "additive"
    assert model.config.modalities == model.modalities


def test_missing_modality_in_batch_is_named():
    model = build_model(ModelConfig(architecture="radar-student", **SMALL))
    batch = random_batch(2, 4, model.config)
    del batch["radar"]
    with pytest.raises(KeyError, match="radar"):
        model(batch)


def test_wrong_image_size_points_at_the_config_key():
    model = build_model(ModelConfig(architecture="paper-teacher", image_size=(64, 64)))
    batch = random_batch(1, 2, resolve_config(ModelConfig(image_size=(32, 32))))
    with pytest.raises(ValueError, match="image_size"):
        model(batch)


@pytest.mark.parametrize(
    ("architecture", "expected"),
    [("paper-teacher", "zero-append"), ("ds-student", "zero-append"), ("gps-beam-student", "multi-head")],
)
def test_readout_default_is_the_architectures_and_an_explicit_choice_wins(architecture, expected):
    from kdcs.models.zoo import resolve_config

    assert resolve_config(ModelConfig(architecture=architecture)).readout == expected
    assert (
        resolve_config(ModelConfig(architecture=architecture, readout="zero-append")).readout == "zero-append"
    )
