"""KD recipes: a named recipe (`kdcs.distill.named_recipes`) with a run's term overrides, plus dimension filling.

A recipe is a mapping {term_name: {"weight": w, "loss": registry key, **params}} for
`kdcs.distill.composer.build_composer`. Named recipes carry PAPER.md's settings; a run config
may add or override terms key by key. Losses with learned adapters (feature-kd, cross-modal)
need the student's and teacher's widths and lengths: `resolve_recipe` reads them from one
forward pass of each model, so a recipe never hard-codes model sizes.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from kdcs.config import ConfigError
from kdcs.distill.batch_context import inputs_for, model_history
from kdcs.distill.composer import RECIPE_RESERVED_KEYS
from kdcs.distill.losses import LOSS_REGISTRY, OLD_LOSS_KEYS, canonical_loss_key, loss_parameters
from kdcs.distill.named_recipes import NAMED_RECIPES

# losses whose constructor needs model widths / lengths, and the feature each aligns
_DIMENSIONED = {"feature-kd": "frame", "cross-modal": "final"}


def merge_recipe(
    name: str, overrides: Mapping[str, Mapping[str, Any]] | None = None, key: str = "kd"
) -> dict[str, dict[str, Any]]:
    """A named recipe with per-term overrides merged in (a term set to {} or None is removed), checked:
    a ConfigError names `<key>.recipe` or `<key>.terms.<term>[.<parameter>]` for what could not build."""
    if name not in NAMED_RECIPES:
        raise ConfigError(
            f"config key '{key}.recipe': unknown recipe {name!r}; known: {', '.join(NAMED_RECIPES)}"
        )
    recipe = copy.deepcopy(NAMED_RECIPES[name])
    for term, spec in (overrides or {}).items():
        if not spec:
            recipe.pop(term, None)
        else:
            recipe[term] = {**recipe.get(term, {}), **spec}
    for term, spec in recipe.items():
        check_term(term, spec, f"{key}.terms.{term}")
        loss = spec.get("loss", term)
        if (
            canonical_loss_key(loss) != loss
        ):  # an old loss key is said once, here, then read in its new spelling
            recipe[term] = {**spec, "loss": OLD_LOSS_KEYS[loss]}
    return recipe


def check_term(term: str, spec: Any, key: str) -> None:
    """ConfigError naming `key` (or `key.<parameter>`) unless `spec` builds a loss term: a mapping with a
    numeric weight, a registered loss (default: the term's name) and only that loss's parameters (the
    widths and lengths of adapter losses are filled in later from the models)."""
    if not isinstance(spec, Mapping):
        raise ConfigError(f"config key '{key}' must be a mapping with 'weight' and 'loss', got {spec!r}")
    if not isinstance(spec.get("weight"), int | float) or isinstance(spec.get("weight"), bool):
        raise ConfigError(f"config key '{key}.weight' must be a number, got {spec.get('weight')!r}")
    loss = spec.get("loss", term)
    if not isinstance(loss, str) or OLD_LOSS_KEYS.get(loss, loss) not in LOSS_REGISTRY:
        raise ConfigError(
            f"config key '{key}': no loss named {loss!r} (a term's loss defaults to its name; set "
            f"{key}.loss to one of {', '.join(sorted(LOSS_REGISTRY))})"
        )
    parameters = loss_parameters(OLD_LOSS_KEYS.get(loss, loss))
    unknown = [name for name in spec if name not in (*RECIPE_RESERVED_KEYS, *parameters)]
    if unknown:
        raise ConfigError(
            f"config key '{key}.{unknown[0]}': loss {loss!r} has no parameter {unknown[0]!r}; "
            f"its parameters: {', '.join(parameters) or 'none'}"
        )


def needs_teacher(recipe: Mapping[str, Mapping[str, Any]]) -> bool:
    """True when any term reads teacher outputs (every loss except the task losses)."""
    return any(spec.get("loss", term) not in ("focal", "ce") for term, spec in recipe.items())


@torch.no_grad()
def _feature_shapes(model: nn.Module, batch: Mapping[str, torch.Tensor]) -> dict[str, tuple[int, ...]]:
    was_training = model.training
    model.eval()
    try:
        output = model(inputs_for(batch, model_history(model)))
    finally:
        model.train(was_training)
    return {name: tuple(value.shape) for name, value in output.features.items()}


def resolve_recipe(
    recipe: Mapping[str, Mapping[str, Any]], student: nn.Module, teacher: nn.Module | None, example: Mapping
) -> dict[str, dict[str, Any]]:
    """Fill student/teacher widths (and lengths) into terms whose losses learn adapters."""
    resolved = copy.deepcopy(dict(recipe))
    dimensioned = [t for t, s in resolved.items() if s.get("loss", t) in _DIMENSIONED]
    if not dimensioned:
        return resolved
    if teacher is None:
        raise ConfigError(f"KD term {dimensioned[0]!r} needs a teacher ('kd.teacher')")
    student_shapes, teacher_shapes = _feature_shapes(student, example), _feature_shapes(teacher, example)
    for term in dimensioned:
        spec = resolved[term]
        feature = _DIMENSIONED[spec.get("loss", term)]
        spec.setdefault("student_dim", student_shapes[feature][-1])
        spec.setdefault("teacher_dim", teacher_shapes[feature][-1])
        if feature == "frame":
            spec.setdefault("student_len", student_shapes[feature][1])
            spec.setdefault("teacher_len", teacher_shapes[feature][1])
    return resolved
