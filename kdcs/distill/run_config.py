"""The typed configuration of one training or distillation run (YAML files hold only overrides)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from kdcs.config import ConfigError
from kdcs.data.prepared import DataConfig
from kdcs.distill.data_free.config import DataFreeConfig
from kdcs.distill.recipes import merge_recipe, needs_teacher
from kdcs.distill.train_config import TrainConfig
from kdcs.models import ModelConfig, resolve_config


@dataclass(frozen=True)
class KDConfig:
    """Which knowledge moves: a named recipe (kdcs.distill.recipes), term overrides, and the teacher.

    recipe: "none", "logit", "feature", "rkd", "rkd-park", "cross-modal", "self-kd", "multi-teacher",
        "data-free" (trains on windows synthesised from the teacher, see `data_free`).
    terms: per-term overrides merged into the recipe, e.g. {"kd": {"temperature": 2.0}}.
    teacher: a run folder or weights file; required by every recipe but "none".
    cache_teacher_outputs: run the frozen teacher once over all windows instead of every batch.
    data_free: how the "data-free" recipe synthesises its windows (`kdcs.distill.data_free.config`).
    """

    recipe: str = "none"
    terms: dict[str, Any] = field(default_factory=dict)
    teacher: str | None = None
    cache_teacher_outputs: bool = True
    data_free: DataFreeConfig = field(default_factory=DataFreeConfig)


@dataclass(frozen=True)
class RunConfig:
    name: str = "run"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    kd: KDConfig = field(default_factory=KDConfig)


def with_model_window(config: RunConfig) -> RunConfig:
    """The run with the model's L and J filled in from the data's where the model leaves them unset:
    the window is stated once, in `data`, unless the model sees a shorter one."""
    model = config.model
    history = config.data.history if model.history is None else model.history
    horizon = config.data.horizon if model.horizon is None else model.horizon
    return dataclasses.replace(config, model=dataclasses.replace(model, history=history, horizon=horizon))


def checked_run_config(config: RunConfig, prefix: str = "", require_teacher: bool = True) -> RunConfig:
    """`with_model_window(config)` after every check that needs no data and no weights, so a bad config
    stops before anything is written: the architecture exists, the model's window fits the data's, the
    KD recipe and its term overrides build, a recipe that needs a teacher names one. A ConfigError
    names the key (after `prefix`, e.g. "students[1].run.")."""
    try:
        resolve_config(config.model)
    except ValueError as exc:
        raise ConfigError(f"config key '{prefix}model.architecture': {exc}") from None
    config = with_model_window(config)
    mismatch = window_mismatch(
        config.model.history, config.model.horizon, config.data.history, config.data.horizon
    )
    if mismatch:
        raise ConfigError(f"config key '{prefix}model.{mismatch[0]}' {mismatch[1]}")
    recipe = merge_recipe(config.kd.recipe, config.kd.terms, key=f"{prefix}kd")
    if require_teacher and needs_teacher(recipe) and not config.kd.teacher:
        raise ConfigError(
            f"KD recipe {config.kd.recipe!r} needs a teacher: set '{prefix}kd.teacher' to a run folder"
        )
    return config


def window_mismatch(
    model_history: int, model_horizon: int, data_history: int, data_horizon: int
) -> tuple[str, str] | None:
    """(model field, why) when a model of this window cannot read the data's windows, else None.

    A model may look at fewer past slots than the data holds (a student seeing a shorter window than
    its teacher) but must predict exactly the data's horizon.
    """
    if model_history > data_history:
        return "history", f"({model_history}) exceeds data.history ({data_history})"
    if model_horizon != data_horizon:
        return "horizon", f"({model_horizon}) differs from data.horizon ({data_horizon})"
    return None
