"""Modality dropout (kdcs.models.modality_dropout) and its config key."""

from __future__ import annotations

import pytest
import torch

from kdcs.models import ModelConfig, build_model
from kdcs.models.modality_dropout import ModalityDropout


def _embeddings(batch: int = 2000, modalities: int = 3) -> list[torch.Tensor]:
    return [torch.ones(batch, 4, 5) * (m + 1) for m in range(modalities)]


def test_training_drops_whole_windows_at_the_rate_and_keeps_one_modality():
    torch.manual_seed(0)
    dropped = ModalityDropout(0.5).train()(_embeddings())
    kept = torch.stack(
        [(e != 0).all(dim=(1, 2)) for e in dropped], dim=1
    )  # [B, M]: a window keeps all slots or none
    zeroed = torch.stack([(e == 0).all(dim=(1, 2)) for e in dropped], dim=1)
    assert torch.equal(kept, ~zeroed)
    assert kept.any(dim=1).all()
    # P(kept) = 0.5 plus the rescue of windows that lost all three: 0.5 + 0.125 / 3
    assert kept.float().mean().item() == pytest.approx(0.5 + 0.125 / 3, abs=0.02)
    for m, e in enumerate(dropped):  # what is kept is unchanged (no rescaling)
        assert set(e.unique().tolist()) <= {0.0, float(m + 1)}


def test_evaluation_and_single_modality_pass_through():
    embeddings = _embeddings(batch=8)
    assert ModalityDropout(0.9).eval()(embeddings) is embeddings
    single = embeddings[:1]
    assert ModalityDropout(0.9).train()(single) is single


def test_a_model_applies_it_in_training_only():
    model = build_model(ModelConfig(architecture="gps-beam-student", modality_dropout=0.9, dropout=0.0))
    batch = {"gps": torch.randn(16, 8, 4), "beam_history": torch.randint(0, 64, (16, 8))}
    model.eval()
    first, second = model(batch).logits, model(batch).logits
    assert torch.equal(first, second)
    model.train()
    torch.manual_seed(1)
    assert not torch.equal(model(batch).logits, first)


def test_the_config_key_is_range_checked():
    with pytest.raises(ValueError, match="modality_dropout"):
        ModelConfig(modality_dropout=1.0)
