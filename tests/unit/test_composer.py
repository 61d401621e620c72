from __future__ import annotations

import pytest
import torch

from kdcs.distill.composer import LossComposer, alpha_recipe, build_composer
from kdcs.distill.losses import FocalLoss, LogitKDLoss


def _context(seed: int = 0) -> dict:
    generator = torch.Generator().manual_seed(seed)
    return {
        "student_logits": torch.randn(4, 7, 64, generator=generator, requires_grad=True),
        "teacher_logits": torch.randn(4, 7, 64, generator=generator),
        "target": torch.randint(0, 64, (4, 7), generator=generator),
        "student_features": {"final": torch.randn(4, 16, generator=generator)},
        "teacher_features": {"final": torch.randn(4, 32, generator=generator)},
    }


def test_total_is_the_weighted_sum_of_the_terms():
    composer = LossComposer({"focal": (0.3, FocalLoss()), "logit-kd": (0.7, LogitKDLoss())})
    context = _context()

    total, values = composer(context)

    focal = FocalLoss()(context["student_logits"], context["target"])
    kd = LogitKDLoss()(context["student_logits"], context["teacher_logits"])
    assert values["focal"].item() == pytest.approx(focal.item())
    assert values["logit-kd"].item() == pytest.approx(kd.item())
    assert total.item() == pytest.approx(0.3 * focal.item() + 0.7 * kd.item())


def test_total_backpropagates_and_logged_values_are_detached():
    total, values = build_composer(alpha_recipe("focal", "logit-kd", 0.7))(_context())

    total.backward()

    assert all(not value.requires_grad for value in values.values())


def test_describe_prints_the_equation():
    composer = build_composer(alpha_recipe("focal", "logit-kd", alpha=0.7))

    assert composer.describe() == (
        "total = 0.3*focal(student_logits, target) + 0.7*logit-kd(student_logits, teacher_logits)"
    )


def test_describe_shows_the_loss_key_when_the_term_is_renamed():
    composer = build_composer({"task": {"weight": 0.5, "loss": "ce"}})

    assert composer.describe() == "total = 0.5*task[ce](student_logits, target)"


def test_dotted_keys_reach_nested_feature_dicts():
    composer = build_composer({"rkd": {"weight": 1.0, "loss": "rkd-park"}})

    total, values = composer(_context())

    assert values["rkd"].item() > 0
    assert total.item() == pytest.approx(values["rkd"].item())


def test_reads_can_be_re_pointed_from_the_recipe():
    context = _context()
    context["ensemble_logits"] = torch.stack([context["teacher_logits"]] * 2)
    composer = build_composer(
        {"ens": {"weight": 1.0, "loss": "multi-teacher", "reads": ["student_logits", "ensemble_logits"]}}
    )

    _, values = composer(context)

    expected = LogitKDLoss()(context["student_logits"], context["teacher_logits"])
    assert values["ens"].item() == pytest.approx(expected.item(), rel=1e-5)


def test_recipe_parameters_reach_the_loss_and_adapters_become_parameters():
    composer = build_composer(
        {
            "feat": {
                "weight": 2.0,
                "loss": "feature-kd",
                "student_dim": 16,
                "teacher_dim": 32,
                "reads": ["student_features.final", "teacher_features.final"],
            }
        }
    )

    assert sum(p.numel() for p in composer.parameters()) == 16 * 32 + 32
    assert composer(_context())[0].requires_grad


def test_self_kd_recipe_uses_the_paper_settings():
    recipe = alpha_recipe("focal", "self-kd", 0.5)
    composer = build_composer(recipe)

    assert composer.weights == {"focal": 0.5, "self-kd": 0.5}
    assert composer.terms["self-kd"].temperature == 3.0


def test_unknown_loss_key_is_named():
    with pytest.raises(KeyError, match="'focla'"):
        build_composer({"task": {"weight": 1.0, "loss": "focla"}})


def test_unknown_parameter_is_named_with_its_term():
    with pytest.raises(TypeError, match="term 'kd'.*'temp'"):
        build_composer({"kd": {"weight": 1.0, "loss": "logit-kd", "temp": 4.0}})


def test_missing_weight_is_named():
    with pytest.raises(KeyError, match="'kd' has no 'weight'"):
        build_composer({"kd": {"loss": "logit-kd"}})


def test_missing_context_key_is_named():
    composer = build_composer({"logit-kd": {"weight": 1.0}})

    with pytest.raises(KeyError, match="'teacher_logits'"):
        composer({"student_logits": torch.zeros(1, 1, 4)})


def test_set_weight_changes_the_total():
    composer = build_composer(alpha_recipe("focal", "logit-kd", alpha=0.7))
    context = _context()
    composer.set_weight("logit-kd", 0.0)

    total, values = composer(context)

    assert total.item() == pytest.approx(0.3 * values["focal"].item())
    with pytest.raises(KeyError, match="'kd'"):
        composer.set_weight("kd", 1.0)
