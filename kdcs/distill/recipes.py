"""Named KD recipes: the reference's settings as composer recipes, plus dimension filling.

A recipe is a mapping {term_name: {"weight": w, "loss": registry key, **params}} for
`kdcs.distill.composer.build_composer`. Named recipes carry PAPER.md's settings; a run config
may add or override terms key by key. Losses with learned adapters (feature_kd, cross_modal)
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

FOCAL = "focal"

NAMED_RECIPES: dict[str, dict[str, dict[str, Any]]] = {
    # no KD: the task loss alone (the "no KD" rows of the paper's table)
    "none": {"task": {"loss": FOCAL, "weight": 1.0}},
    # Hinton logit KD, T=4, alpha=0.7 (the paper's student setting)
    "logit": {
        "task": {"loss": FOCAL, "weight": 0.3},
        "kd": {"loss": "logit_kd", "weight": 0.7, "temperature": 4.0},
    },
    # FitNets-style feature KD on the per-slot embedding, alpha=0.5, plus logit KD as in the reference's combined mode
    "feature": {
        "task": {"loss": FOCAL, "weight": 0.3},
        "kd": {"loss": "logit_kd", "weight": 0.35, "temperature": 4.0},
        "feature": {"loss": "feature_kd", "weight": 0.35},
    },
    # the reference's relational KD: random partners, distance 1, angle 2, scale 10, alpha=0.5
    "rkd": {
        "task": {"loss": FOCAL, "weight": 0.5},
        "rkd": {
            "loss": "rkd_cosine",
            "weight": 0.5,
            "distance_weight": 1.0,
            "angle_weight": 2.0,
            "scale": 10.0,
        },
    },
    # Park et al.'s RKD (all pairs / triplets, Huber), alpha=0.5
    "rkd-park": {"task": {"loss": FOCAL, "weight": 0.5}, "rkd": {"loss": "rkd", "weight": 0.5}},
    # multi-modal teacher -> single-sensor student: embedding alignment + logit KD
    "cross-modal": {"task": {"loss": FOCAL, "weight": 0.3}, "kd": {"loss": "cross_modal", "weight": 0.7}},
    # born-again: a trained model teaches a fresh copy, T=3, alpha=0.5 (the paper's teacher setting)
    "self-kd": {
        "task": {"loss": FOCAL, "weight": 0.5},
        "kd": {"loss": "self_kd", "weight": 0.5, "temperature": 3.0},
    },
    # several teachers' tempered predictions averaged (optionally confidence-weighted)
    "multi-teacher": {"task": {"loss": FOCAL, "weight": 0.3}, "kd": {"loss": "multi_teacher", "weight": 0.7}},
}

# losses whose constructor needs model widths / lengths, and the feature each aligns
_DIMENSIONED = {"feature_kd": "frame", "cross_modal": "final"}


def merge_recipe(
    name: str, overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, dict[str, Any]]:
    """A named recipe with per-term overrides merged in (a term set to {} or None is removed)."""
    if name not in NAMED_RECIPES:
        raise ConfigError(
            f"config key 'kd.recipe': unknown recipe {name!r}; known: {', '.join(NAMED_RECIPES)}"
        )
    recipe = copy.deepcopy(NAMED_RECIPES[name])
    for term, spec in (overrides or {}).items():
        if not spec:
            recipe.pop(term, None)
        else:
            recipe[term] = {**recipe.get(term, {}), **spec}
    return recipe


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
