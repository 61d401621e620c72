"""Model parts with known values: input scaling, encoders, fusion, temporal attention, read-outs, config."""

from __future__ import annotations

import math

import pytest
import torch

from kdcs.config import ConfigError, from_dict
from kdcs.models import ModelConfig, count_parameters, resolve_config
from kdcs.models.classifier import SlotClassifier
from kdcs.models.encoders import BeamHistoryEncoder, GpsEncoder, ImageEncoder, PaperTeacherCNN, scale_gps
from kdcs.models.encoders.conv_attention import ChannelAttention, SpatialAttention
from kdcs.models.fusion import AttentionFusion, ConcatFusion
from kdcs.models.readout import MultiHeadReadout, ZeroAppendReadout
from kdcs.models.temporal import AdditiveTemporalAttention, SelfTemporalAttention, TemporalBlock


def test_scale_gps_divides_metres_and_turns_bearing_into_sin_cos():
    positions = torch.tensor([[50.0, -25.0, 100.0, math.pi / 2]])
    scaled = scale_gps(positions)
    torch.testing.assert_close(scaled, torch.tensor([[1.0, -0.5, 2.0, 1.0, 0.0]]), atol=1e-6, rtol=0)


def test_bearing_minus_pi_and_plus_pi_give_the_same_gps_input():
    scaled = scale_gps(torch.tensor([[3.0, 0.0, 3.0, -math.pi], [3.0, 0.0, 3.0, math.pi]]))
    torch.testing.assert_close(scaled[0], scaled[1])


def test_image_encoder_scales_each_modality_to_its_fixed_range():
    backbone = PaperTeacherCNN((32, 32))
    camera = ImageEncoder("camera", backbone, (32, 32))
    motion = ImageEncoder("camera_motion", backbone, (32, 32))
    radar = ImageEncoder("radar", backbone, (32, 32))
    assert camera.scale(torch.tensor([[0, 255]], dtype=torch.uint8)).tolist() == [[0.0, 1.0]]
    assert motion.scale(torch.tensor([[0, 1]], dtype=torch.uint8)).tolist() == [[0.0, 1.0]]
    assert radar.scale(torch.tensor([[20.0, -10.0]])).tolist() == [[1.0, -0.5]]
    # Only the radar has a learned input BatchNorm(1): 2 extra parameters.
    assert count_parameters(radar) - count_parameters(camera) == 2


def test_image_encoder_refuses_other_modalities():
    with pytest.raises(ValueError, match="gps"):
        ImageEncoder("gps", PaperTeacherCNN((32, 32)), (32, 32))


def test_teacher_cnn_refuses_images_smaller_than_its_pools():
    with pytest.raises(ValueError, match="too small"):
        PaperTeacherCNN((16, 64))


def test_teacher_cnn_reference_count_at_224():
    assert count_parameters(PaperTeacherCNN((224, 224))) == 1_716_441


def test_channel_and_spatial_attention_keep_the_shape_and_counts():
    feature_map = torch.randn(2, 64, 7, 7)
    assert ChannelAttention(64)(feature_map).shape == feature_map.shape
    assert SpatialAttention(64)(feature_map).shape == feature_map.shape
    assert count_parameters(ChannelAttention(64)) == 4_192
    assert count_parameters(SpatialAttention(64)) == 3_137


def test_gps_encoder_maps_folded_slots_to_embeddings():
    assert GpsEncoder(hidden=16, out_features=8)(torch.zeros(6, 4)).shape == (6, 8)


def test_beam_history_pad_token_has_its_own_embedding():
    encoder = BeamHistoryEncoder(num_beams=64, embedding_dim=4)
    out = encoder(torch.tensor([0, 63, 64]))
    assert out.shape == (3, 4)
    assert not torch.equal(out[1], out[2])


def test_beam_history_features_separate_neighbours_and_mark_the_pad():
    encoder = BeamHistoryEncoder(num_beams=64, embedding_dim=4)
    features = encoder.ordinal_features(torch.tensor([0, 1, 63, 64]))
    assert features[3, :-1].abs().sum() == 0 and features[3, -1] == 1  # pad: only its flag
    assert features[:3, -1].abs().sum() == 0
    assert (features[0] - features[1]).abs().max() > 0.05  # neighbouring beams stay distinguishable
    assert features[:3, -2].tolist() == pytest.approx([-1.0, -1.0 + 2.0 / 63.0, 1.0])  # linear position channel


def test_beam_history_out_of_range_is_a_clear_error():
    with pytest.raises(ValueError, match="0..64"):
        BeamHistoryEncoder(num_beams=64)(torch.tensor([65]))


def test_concat_fusion_of_one_full_width_modality_is_the_identity():
    fusion = ConcatFusion({"camera": 64}, out_features=64)
    embedding = torch.randn(2, 3, 64)
    fused, weights = fusion([embedding])
    assert count_parameters(fusion) == 0
    assert weights is None
    torch.testing.assert_close(fused, embedding)


def test_concat_fusion_maps_the_concatenation_to_the_output_width():
    fusion = ConcatFusion({"gps": 64, "beam_history": 32}, out_features=64)
    fused, _ = fusion([torch.randn(2, 3, 64), torch.randn(2, 3, 32)])
    assert fused.shape == (2, 3, 64)
    assert count_parameters(fusion) == 96 * 64 + 64


def test_attention_fusion_of_identical_embeddings_returns_that_embedding():
    # Prepare: equal inputs get equal scores, so the weights are uniform and the sum is the input
    fusion = AttentionFusion({"camera": 8, "radar": 8, "gps": 8}, out_features=8)
    embedding = torch.randn(2, 5, 8)
    # Execute
    fused, weights = fusion([embedding, embedding, embedding])
    # Assert
    torch.testing.assert_close(weights, torch.full((2, 5, 3), 1 / 3))
    torch.testing.assert_close(fused, embedding)


def test_additive_attention_of_a_constant_sequence_doubles_it():
    # A constant sequence's context vector is that constant, added back to every step.
    states = torch.arange(4.0).repeat(2, 6, 1)  # [2, 6, 4]
    torch.testing.assert_close(AdditiveTemporalAttention(4, scorer_hidden=8)(states), 2 * states)


def test_attention_parameter_counts_match_the_reference():
    assert count_parameters(AdditiveTemporalAttention(64, scorer_hidden=128)) == 8_449
    assert count_parameters(SelfTemporalAttention(64, heads=8)) == 16_640


def test_self_attention_needs_width_divisible_by_heads():
    with pytest.raises(ValueError, match="divisible"):
        SelfTemporalAttention(30, heads=8)


def test_temporal_block_returns_gru_states_and_attended_states():
    block = TemporalBlock(8, 16, attention="additive")
    states, attended = block(torch.randn(3, 7, 8))
    assert states.shape == attended.shape == (3, 7, 16)
    assert not torch.equal(states, attended)
    assert torch.equal(*TemporalBlock(8, 16, attention="none")(torch.randn(1, 2, 8)))


def test_zero_append_readout_appends_zeros_and_reads_the_last_slots():
    readout = ZeroAppendReadout(horizon=3)
    sequence = torch.ones(2, 8, 5)
    extended = readout.extend(sequence)
    assert extended.shape == (2, 11, 5)
    assert torch.equal(extended[:, 8:], torch.zeros(2, 3, 5))
    states = torch.arange(11.0).view(1, 11, 1)
    assert readout.read(states, observed=8).flatten().tolist() == [7.0, 8.0, 9.0, 10.0]


def test_multi_head_readout_with_zero_maps_repeats_the_final_state():
    readout = MultiHeadReadout(horizon=2, hidden_size=4)
    torch.nn.init.zeros_(readout.slot_maps.weight)
    torch.nn.init.zeros_(readout.slot_maps.bias)
    states = torch.randn(3, 5, 4)
    assert torch.equal(readout.extend(states), states)
    torch.testing.assert_close(readout.read(states, observed=5), states[:, 4:5].expand(3, 3, 4))


def test_slot_classifier_layer_counts():
    assert count_parameters(SlotClassifier(64, 64, num_layers=3)) == 12_480
    assert count_parameters(SlotClassifier(64, 64, num_layers=2)) == 8_320
    assert SlotClassifier(64, 10)(torch.randn(2, 4, 64)).shape == (2, 4, 10)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("modalities", ("camera", "lidar"), "lidar"),
        ("readout", "last-state", "last-state"),
        ("fusion", "sum", "sum"),
        ("temporal_attention", "lstm", "lstm"),
        ("hidden", 0, "hidden"),
    ],
)
def test_model_config_rejects_bad_values_naming_them(field, value, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig(**{field: value})


def test_model_config_loads_from_yaml_style_overrides():
    config = from_dict(
        ModelConfig, {"architecture": "ds-student", "modalities": ["radar", "gps"], "image_size": [32, 48]}
    )
    assert config.modalities == ("radar", "gps")
    assert config.image_size == (32, 48)
    assert resolve_config(config).num_slots == 4  # J unset: the default window's, J=3
    with pytest.raises(ConfigError, match="widths"):
        from_dict(ModelConfig, {"widths": 3})
