from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kdcs.config import ConfigError, load_config, parse_dotted, to_dict


@dataclass(frozen=True)
class Inner:
    size: tuple[int, int] = (64, 64)
    sigma: float = 1.0
    name: str | None = None


@dataclass(frozen=True)
class Outer:
    epochs: int = 3
    flag: bool = True
    inner: Inner = field(default_factory=Inner)


def test_dotted_overrides_are_typed_and_nested():
    config = load_config(
        Outer(), overrides=["epochs=5", "inner.size=[32, 48]", "inner.sigma=2", "inner.name=x"]
    )
    assert config.epochs == 5
    assert config.inner == Inner(size=(32, 48), sigma=2.0, name="x")


def test_unknown_key_is_named():
    with pytest.raises(ConfigError, match="inner.sizee"):
        load_config(Outer(), overrides=["inner.sizee=3"])


@pytest.mark.parametrize("override", ["epochs=three", "flag=3", "inner.size=[1,2,3]", "epochs=1.5"])
def test_wrong_types_are_refused(override):
    with pytest.raises(ConfigError, match=override.split("=")[0]):
        load_config(Outer(), overrides=[override])


def test_yaml_file_then_overrides(tmp_path: Path):
    path = tmp_path / "c.yaml"
    path.write_text("epochs: 7\ninner:\n  sigma: 0.5\n")
    config = load_config(Outer(), path, ["epochs=9"])
    assert (config.epochs, config.inner.sigma, config.inner.size) == (9, 0.5, (64, 64))


def test_missing_yaml_and_bad_override_syntax(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(Outer(), tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="key.sub=value"):
        parse_dotted(["epochs"])


def test_to_dict_round_trip():
    config = load_config(Outer(), overrides=["inner.size=[8, 8]"])
    assert to_dict(config) == {
        "epochs": 3,
        "flag": True,
        "inner": {"size": [8, 8], "sigma": 1.0, "name": None},
    }
    assert load_config(Outer(), overrides=[]) == Outer()


@dataclass(frozen=True)
class WithMapping:
    recipe: dict = field(default_factory=lambda: {"task": {"weight": 1.0, "loss": "focal"}})


def test_free_form_mappings_merge_key_by_key():
    config = load_config(WithMapping(), overrides=["recipe.task.weight=0.3", "recipe.kd.loss=logit_kd"])
    assert config.recipe == {"task": {"weight": 0.3, "loss": "focal"}, "kd": {"loss": "logit_kd"}}


def test_exponent_without_dot_is_a_float():
    assert load_config(Inner(), overrides=["sigma=3e-3"]).sigma == 0.003
