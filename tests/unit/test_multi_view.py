"""Multi-view pieces: joining APs by instant, and a teacher with one head per AP."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kdcs.config import ConfigError
from kdcs.data.multi_view import aligned_rows, split_view, view_key
from kdcs.models import ModelConfig
from kdcs.models.multi_view_teacher import MultiViewConfig, MultiViewTeacher, split_head_logits
from kdcs.models.weights import load_model_weights, save_model_weights

TINY = {"hidden": 16, "feature_size": 16, "gps_hidden": 16, "beam_embedding_dim": 8, "dropout": 0.0}


def tiny_teacher(aps=("ap1", "ap2"), horizon: int = 1, **model) -> MultiViewTeacher:
    torch.manual_seed(0)
    views = tuple(view_key(ap, m) for ap in aps for m in ("gps", "beam_history"))
    config = ModelConfig(architecture="gps-beam-student", history=4, horizon=horizon, **{**TINY, **model})
    return MultiViewTeacher(MultiViewConfig(aps, views, config))


def test_aligned_rows_match_instants_across_aps():
    # Prepare: ap2 logged the instants in another row order and missed one
    index = {"ap1": np.array([10, 11, 12, 20, 21]), "ap2": np.array([21, 20, 12, 10, 11, 99])}
    seq = {"ap1": np.array([1, 1, 1, 2, 2]), "ap2": np.array([2, 2, 1, 1, 1, 3])}
    del_index = {"ap1": index["ap1"], "ap2": np.delete(index["ap2"], 2)}
    del_seq = {"ap1": seq["ap1"], "ap2": np.delete(seq["ap2"], 2)}

    # Execute
    rows = aligned_rows(index, seq)
    partial = aligned_rows(del_index, del_seq)

    # Assert: the same instants in the first AP's order; the missing one is dropped everywhere
    np.testing.assert_array_equal(index["ap1"][rows["ap1"]], index["ap2"][rows["ap2"]])
    np.testing.assert_array_equal(index["ap1"][rows["ap1"]], [10, 11, 12, 20, 21])
    np.testing.assert_array_equal(del_index["ap2"][partial["ap2"]], [10, 11, 20, 21])


def test_an_instant_in_two_sequences_is_refused():
    index = {"ap1": np.array([1, 2]), "ap2": np.array([1, 2])}
    seq = {"ap1": np.array([5, 5]), "ap2": np.array([5, 6])}

    with pytest.raises(ConfigError, match="sample index 2 is in seq_index 5 at ap1 but 6 at ap2"):
        aligned_rows(index, seq)


def test_view_keys_name_ap_and_modality():
    assert split_view(view_key("ap3", "radar")) == ("ap3", "radar")
    with pytest.raises(ValueError, match="<ap>/<modality>"):
        split_view("radar")
    with pytest.raises(ValueError, match="view 'ap9/gps'"):
        MultiViewConfig(("ap1",), ("ap9/gps",))


def test_teacher_scores_every_ap_codebook_with_its_own_head():
    # Prepare
    teacher = tiny_teacher(aps=("ap1", "ap2", "ap3"), horizon=2).eval()
    batch = {}
    for ap in ("ap1", "ap2", "ap3"):
        batch[f"{ap}/gps"] = torch.randn(5, 4, 4)
        batch[f"{ap}/beam_history"] = torch.randint(0, 64, (5, 4))

    # Execute
    logits = teacher(batch).logits

    # Assert: AP-major stacking, each head its own classifier
    assert logits.shape == (5, 3 * 3, 64)
    assert teacher.config.num_slots == 9
    for k, ap in enumerate(("ap1", "ap2", "ap3")):
        head = split_head_logits(logits, teacher.config, ap)
        expected = teacher.classifier.heads[k](teacher(batch).features["slots"])
        torch.testing.assert_close(head, expected)
    with pytest.raises(KeyError, match="no head for 'ap4'"):
        split_head_logits(logits, teacher.config, "ap4")


def test_teacher_weights_round_trip_with_their_config(tmp_path):
    teacher = tiny_teacher()
    save_model_weights(tmp_path / "w.safetensors", teacher)
    other = tiny_teacher(modality_dropout=0.0)
    torch.nn.init.zeros_(other.classifier.heads[1].mlp[0].weight)

    load_model_weights(tmp_path / "w.safetensors", other)

    torch.testing.assert_close(other.state_dict(), teacher.state_dict())
