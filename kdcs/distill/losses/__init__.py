"""The KD loss zoo: one small file per loss, each a `LossTerm` that takes tensors and returns a scalar.

Registry key == config value == file name == test name, the key in kebab-case like every other kdcs
key and the file name its snake-case spelling: `"rkd-park"` -> `losses/rkd_park.py` ->
`tests/unit/test_losses_rkd_park.py`. Combine terms with `kdcs.distill.composer.LossComposer`.
The snake_case keys of the previous release (`logit_kd`, `rkd` for Park's RKD, ...) still work, with a
deprecation message (`OLD_LOSS_KEYS`).

Shapes: logits are [B, S, C] (S = J + 1 slots: the current slot t and J future slots; C = 64 beams);
features are named tensors such as "frame" [B, L, D], "temporal" [B, L, H], "final" [B, H].

One reduction rule, everywhere (the reference code normalised KD three different ways across its
scripts; this zoo does it once, in `_base.mean_over_batch_and_slots`):

1. Compute a per-item loss l[b, s] for each sample b and slot s, *summed* over the class axis
   (a KL or a cross-entropy is a sum over beams) or over the feature axis (a squared distance).
2. Average over the batch; average over slots, optionally with relative per-slot weights
   w_s >= 0: loss = sum_s w_s mean_b l[b, s] / sum_s w_s (all ones = the plain mean over B*S).
3. Temperature-softened KL terms carry T^2 (Hinton et al.), so their gradients keep the scale
   of the hard-label loss whatever T is.

Feature losses treat sequence steps like slots (mean over B and L). Relation losses (`rkd-park`,
`rkd-cosine`) have no per-sample item: their items are pairs and triplets, and they average over those.
Every loss detaches its teacher (and peer) tensors: no gradient reaches a teacher.
"""

from __future__ import annotations

import inspect
from typing import Any

from kdcs.deprecation import deprecated
from kdcs.distill.losses._base import LossTerm, mean_over_batch_and_slots
from kdcs.distill.losses.ce import CrossEntropyLoss, power_to_soft_labels
from kdcs.distill.losses.cross_modal import CrossModalKDLoss
from kdcs.distill.losses.dml import DeepMutualLearningLoss
from kdcs.distill.losses.feature_kd import FeatureKDLoss, TimeMap, WidthProjection
from kdcs.distill.losses.focal import FocalLoss
from kdcs.distill.losses.logit_kd import LogitKDLoss
from kdcs.distill.losses.multi_teacher import MultiTeacherKDLoss
from kdcs.distill.losses.position_nll import PositionNLLLoss
from kdcs.distill.losses.rkd_cosine import RelationalCosineKDLoss
from kdcs.distill.losses.rkd_park import RelationalKDLoss
from kdcs.distill.losses.self_kd import SelfKDLoss

LOSS_REGISTRY: dict[str, type[LossTerm]] = {
    cls.key: cls
    for cls in (
        CrossEntropyLoss,
        FocalLoss,
        LogitKDLoss,
        FeatureKDLoss,
        RelationalKDLoss,
        RelationalCosineKDLoss,
        CrossModalKDLoss,
        MultiTeacherKDLoss,
        DeepMutualLearningLoss,
        SelfKDLoss,
        PositionNLLLoss,
    )
}


# the previous release's keys; "rkd" was Park's RKD, which the recipe named "rkd" never used
OLD_LOSS_KEYS = {
    "logit_kd": "logit-kd",
    "feature_kd": "feature-kd",
    "rkd": "rkd-park",
    "rkd_cosine": "rkd-cosine",
    "cross_modal": "cross-modal",
    "multi_teacher": "multi-teacher",
    "self_kd": "self-kd",
}


def register_loss(cls: type[LossTerm]) -> type[LossTerm]:
    """Add a loss to the registry under `cls.key` (usable as a decorator); the key must be new and
    kebab-case, and the loss must declare the context keys it reads."""
    if not (isinstance(cls, type) and issubclass(cls, LossTerm)):
        raise TypeError(f"{cls!r} is not a LossTerm subclass")
    if not cls.key or cls.key != cls.key.lower() or "_" in cls.key or " " in cls.key:
        raise ValueError(f"loss key {cls.key!r} must be a non-empty kebab-case word (e.g. 'cosine-kd')")
    if cls.key in LOSS_REGISTRY or cls.key in OLD_LOSS_KEYS:
        raise ValueError(f"loss key {cls.key!r} is taken")
    if not cls.reads:
        raise ValueError(f"loss {cls.key!r} must declare the context keys it reads (`reads`)")
    LOSS_REGISTRY[cls.key] = cls
    return cls


def canonical_loss_key(key: str) -> str:
    """`key`, or the key an old spelling stands for (with a deprecation message)."""
    if key in OLD_LOSS_KEYS and key not in LOSS_REGISTRY:
        deprecated(f"loss key {key!r}", repr(OLD_LOSS_KEYS[key]))
        return OLD_LOSS_KEYS[key]
    return key


def loss_class(key: str) -> type[LossTerm]:
    """The loss class registered under `key`; a clear error naming the key otherwise."""
    try:
        return LOSS_REGISTRY[canonical_loss_key(key)]
    except KeyError:
        raise KeyError(f"unknown loss '{key}'; known losses: {', '.join(sorted(LOSS_REGISTRY))}") from None


def loss_parameters(key: str) -> tuple[str, ...]:
    """The constructor parameters a config may set for loss `key`."""
    return tuple(name for name in _constructor_parameters(key))


def _constructor_parameters(key: str) -> dict[str, inspect.Parameter]:
    """The named parameters of the loss's constructor (a loss without one of its own has none)."""
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    parameters = inspect.signature(loss_class(key).__init__).parameters
    return {name: p for name, p in parameters.items() if name != "self" and p.kind not in variadic}


def build_loss(key: str, **params: Any) -> LossTerm:
    """Construct loss `key` from config values; unknown or missing parameters are errors naming them."""
    key = canonical_loss_key(key)
    known = loss_parameters(key)
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise TypeError(
            f"loss '{key}' has no parameter '{unknown[0]}'; its parameters: {', '.join(known) or 'none'}"
        )
    missing = [
        name
        for name, parameter in _constructor_parameters(key).items()
        if parameter.default is inspect.Parameter.empty and name not in params
    ]
    if missing:
        raise TypeError(f"loss '{key}' needs parameter '{missing[0]}'")
    return loss_class(key)(**params)


__all__ = [
    "LOSS_REGISTRY",
    "CrossEntropyLoss",
    "CrossModalKDLoss",
    "DeepMutualLearningLoss",
    "FeatureKDLoss",
    "FocalLoss",
    "LogitKDLoss",
    "LossTerm",
    "MultiTeacherKDLoss",
    "RelationalCosineKDLoss",
    "RelationalKDLoss",
    "SelfKDLoss",
    "TimeMap",
    "WidthProjection",
    "build_loss",
    "canonical_loss_key",
    "register_loss",
    "loss_class",
    "loss_parameters",
    "mean_over_batch_and_slots",
    "power_to_soft_labels",
]
