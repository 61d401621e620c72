from __future__ import annotations

from pathlib import Path

import pytest
import torch

import kdcs.distill.losses as losses_package
from kdcs.deprecation import KdcsDeprecationWarning
from kdcs.distill.losses import (
    LOSS_REGISTRY,
    RelationalKDLoss,
    build_loss,
    loss_class,
    loss_parameters,
    mean_over_batch_and_slots,
)
from kdcs.distill.recipes import merge_recipe

LOSS_FOLDER = Path(losses_package.__file__).parent
TEST_FOLDER = Path(__file__).parent


def test_every_loss_file_is_registered_under_its_file_name_in_kebab_case():
    files = {path.stem for path in LOSS_FOLDER.glob("*.py") if not path.stem.startswith("_")}

    assert files == {key.replace("-", "_") for key in LOSS_REGISTRY}
    for key, cls in LOSS_REGISTRY.items():
        assert "_" not in key and cls.key == key
        assert cls.__module__ == f"kdcs.distill.losses.{key.replace('-', '_')}"


def test_every_registry_key_has_its_own_test_file():
    for key in LOSS_REGISTRY:
        assert (TEST_FOLDER / f"test_losses_{key.replace('-', '_')}.py").is_file(), key


def test_old_snake_case_keys_still_build_the_same_loss_and_say_so():
    with pytest.warns(KdcsDeprecationWarning, match="loss key 'logit_kd' is deprecated.*use 'logit-kd'"):
        loss = build_loss("logit_kd", temperature=2.0)
    with pytest.warns(KdcsDeprecationWarning, match="'rkd' is deprecated.*'rkd-park'"):
        park = loss_class("rkd")

    assert loss.key == "logit-kd" and loss.temperature == 2.0
    assert park is RelationalKDLoss  # the old "rkd" loss was Park's, whatever the recipe "rkd" uses


def test_a_recipe_term_with_an_old_key_is_rewritten_once():
    with pytest.warns(KdcsDeprecationWarning) as caught:
        recipe = merge_recipe(
            "logit", {"kd": {"loss": "self_kd"}, "extra": {"loss": "feature_kd", "weight": 0.1}}
        )

    assert recipe["kd"]["loss"] == "self-kd" and recipe["extra"]["loss"] == "feature-kd"
    assert len(caught) == 2


def test_every_loss_declares_its_inputs_and_is_kd_only():
    for key, cls in LOSS_REGISTRY.items():
        assert cls.reads and all(isinstance(name, str) for name in cls.reads), key
        assert cls.kd_only is True, key


def test_unknown_loss_key_is_named_with_the_known_ones():
    with pytest.raises(KeyError, match="'rdk'.*rkd"):
        loss_class("rdk")


def test_unknown_parameter_is_named():
    with pytest.raises(TypeError, match="'temprature'.*temperature"):
        build_loss("logit-kd", temprature=3.0)


def test_missing_required_parameter_is_named():
    with pytest.raises(TypeError, match="'teacher_dim'"):
        build_loss("feature-kd", student_dim=4)


def test_build_loss_passes_parameters():
    loss = build_loss("rkd-cosine", partners_per_anchor=2, scale=1.0)

    assert (loss.partners_per_anchor, loss.scale) == (2, 1.0)
    assert "slot_weights" in loss_parameters("logit-kd")


def test_reduction_weights_slots_relatively():
    per_item = torch.tensor([[1.0, 3.0], [3.0, 5.0]])  # slot means 2 and 4

    assert mean_over_batch_and_slots(per_item).item() == 3.0
    assert mean_over_batch_and_slots(per_item, torch.tensor([1.0, 3.0])).item() == pytest.approx(3.5)
