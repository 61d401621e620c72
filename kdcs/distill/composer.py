"""A composer of named, weighted loss terms: total = sum_i w_i * term_i(context).

It replaces the reference code's `kd_mode` numbers (0..5, one if/elif branch each): a recipe names
the terms it wants, e.g. total = (1 - alpha) * task + alpha * KD, and the composer prints its own
equation. The trainer hands it one context of tensors per batch and never needs to know which
losses are on (the torchdistill pattern).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from torch import Tensor, nn

from kdcs.distill.losses import build_loss, canonical_loss_key, loss_class

RECIPE_RESERVED_KEYS = ("weight", "loss", "reads")


def read_context(context: Mapping[str, Any], key: str, term: str) -> Tensor:
    """context[key]; a dotted key "student_features.final" may also reach into a nested dict."""
    if key in context:
        return context[key]
    head, _, tail = key.partition(".")
    if tail and isinstance(context.get(head), Mapping) and tail in context[head]:
        return context[head][tail]
    raise KeyError(
        f"loss term '{term}' reads '{key}', which the context lacks; it has: {', '.join(sorted(context))}"
    )


class LossComposer(nn.Module):
    """total = sum_i w_i * term_i(inputs_i), with every term's value returned for logging.

    Parameters: terms {name: (weight, loss module)}; each module declares `reads`, the context keys
    its forward arguments come from (see `kdcs.distill.losses.LossTerm`). Learnable KD adapters
    inside the terms are this module's parameters (all KD-only: optimise them with the student,
    never ship them).

    Input: context {key: tensor} (dotted keys may reach nested dicts). Output: (total scalar,
    {name: detached scalar}).
    """

    def __init__(self, terms: Mapping[str, tuple[float, nn.Module]]) -> None:
        super().__init__()
        if not terms:
            raise ValueError("a loss composer needs at least one term")
        self.weights: dict[str, float] = {}
        self.terms = nn.ModuleDict()
        for name, (weight, module) in terms.items():
            if "." in name or not name:
                raise ValueError(f"loss term name '{name}' must be non-empty and contain no '.'")
            if not isinstance(getattr(module, "reads", None), tuple):
                raise TypeError(
                    f"loss term '{name}' ({type(module).__name__}) does not declare the context keys it reads"
                )
            self.terms[name] = module
            self.set_weight(name, weight)

    def set_weight(self, name: str, weight: float) -> None:
        """Change one term's weight (e.g. an alpha warm-up schedule)."""
        if name not in self.terms:
            raise KeyError(f"no loss term '{name}'; terms: {', '.join(self.terms)}")
        if not math.isfinite(float(weight)):
            raise ValueError(f"loss term '{name}' has a non-finite weight {weight}")
        self.weights[name] = float(weight)

    def forward(self, context: Mapping[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        total: Tensor | None = None
        values: dict[str, Tensor] = {}
        for name, term in self.terms.items():
            value = term(*(read_context(context, key, name) for key in term.reads))
            values[name] = value.detach()
            weighted = self.weights[name] * value
            total = weighted if total is None else total + weighted
        return total, values

    def describe(self) -> str:
        """The equation, e.g. "total = 0.3*focal(student_logits, target) + 0.7*logit-kd(student_logits, teacher_logits)".

        A term whose name differs from its loss key shows the key in brackets: "0.5*task[ce](...)".
        """
        parts = []
        for name, term in self.terms.items():
            key = getattr(term, "key", "")
            label = name if not key or key == name else f"{name}[{key}]"
            parts.append(f"{self.weights[name]:g}*{label}({', '.join(term.reads)})")
        return "total = " + " + ".join(parts)


def build_term(name: str, spec: Mapping[str, Any]) -> tuple[float, nn.Module]:
    """(weight, loss) from one recipe entry {"weight": w, "loss": key, "reads": [...], **params}."""
    if not isinstance(spec, Mapping):
        raise TypeError(f"loss term '{name}' must be a mapping with 'weight' and 'loss', got {spec!r}")
    if "weight" not in spec:
        raise KeyError(f"loss term '{name}' has no 'weight'")
    key = canonical_loss_key(spec.get("loss", name))
    loss_class(key)  # an unknown key fails here, naming it
    params = {k: v for k, v in spec.items() if k not in RECIPE_RESERVED_KEYS}
    try:
        loss = build_loss(key, **params)
    except TypeError as error:
        raise TypeError(f"loss term '{name}': {error}") from None
    if "reads" in spec:
        loss.read_from(*spec["reads"])
    return float(spec["weight"]), loss


def build_composer(recipe: Mapping[str, Mapping[str, Any]]) -> LossComposer:
    """A composer from a config mapping {term_name: {"weight": w, "loss": key, **params}}.

    "loss" defaults to the term name; "reads" optionally re-points the term's inputs. An unknown
    loss key or parameter raises an error naming it.
    """
    return LossComposer({name: build_term(name, spec) for name, spec in recipe.items()})


def alpha_recipe(
    task: str,
    kd: str,
    alpha: float,
    task_params: Mapping[str, Any] | None = None,
    kd_params: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """The reference's total = (1 - alpha) * task + alpha * KD as a recipe for `build_composer`.

    The reference's alphas are those of the named recipes (`kdcs.distill.named_recipes`: logit 0.7,
    self-kd 0.5, rkd 0.5, ...), stated there only.
    """
    if task == kd:
        raise ValueError(f"task and KD terms must differ, both are '{task}'")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    return {
        task: {"weight": 1.0 - alpha, "loss": task, **(task_params or {})},
        kd: {"weight": alpha, "loss": kd, **(kd_params or {})},
    }
