"""The named KD recipes (`kd.recipe`), PAPER.md's settings: {recipe: {term: {"loss": key, "weight": w, **params}}}.

Plain data (nothing but typing is imported), so the `kdcs` command can list the recipes in its help without loading
torch; `kdcs.distill.recipes` merges a run's overrides into them.
"""

from __future__ import annotations

from typing import Any

FOCAL = "focal"
DATA_FREE = "data-free"

NAMED_RECIPES: dict[str, dict[str, dict[str, Any]]] = {
    # no KD: the task loss alone (the "no KD" rows of the paper's table)
    "none": {"task": {"loss": FOCAL, "weight": 1.0}},
    # Hinton logit KD, T=4, alpha=0.7 (the paper's student setting)
    "logit": {
        "task": {"loss": FOCAL, "weight": 0.3},
        "kd": {"loss": "logit-kd", "weight": 0.7, "temperature": 4.0},
    },
    # FitNets-style feature KD on the per-slot embedding, alpha=0.5, plus logit KD as in the reference's combined mode
    "feature": {
        "task": {"loss": FOCAL, "weight": 0.3},
        "kd": {"loss": "logit-kd", "weight": 0.35, "temperature": 4.0},
        "feature": {"loss": "feature-kd", "weight": 0.35},
    },
    # the reference's relational KD: random partners, distance 1, angle 2, scale 10, alpha=0.5
    "rkd": {
        "task": {"loss": FOCAL, "weight": 0.5},
        "rkd": {
            "loss": "rkd-cosine",
            "weight": 0.5,
            "distance_weight": 1.0,
            "angle_weight": 2.0,
            "scale": 10.0,
        },
    },
    # Park et al.'s RKD (all pairs / triplets, Huber), alpha=0.5
    "rkd-park": {"task": {"loss": FOCAL, "weight": 0.5}, "rkd": {"loss": "rkd", "weight": 0.5}},
    # multi-modal teacher -> single-sensor student: embedding alignment + logit KD
    "cross-modal": {"task": {"loss": FOCAL, "weight": 0.3}, "kd": {"loss": "cross-modal", "weight": 0.7}},
    # born-again: a trained model teaches a fresh copy, T=3, alpha=0.5 (the paper's teacher setting)
    "self-kd": {
        "task": {"loss": FOCAL, "weight": 0.5},
        "kd": {"loss": "self-kd", "weight": 0.5, "temperature": 3.0},
    },
    # several teachers' tempered predictions averaged (optionally confidence-weighted)
    "multi-teacher": {"task": {"loss": FOCAL, "weight": 0.3}, "kd": {"loss": "multi-teacher", "weight": 0.7}},
    # logit KD on windows synthesised from the teacher (kd.data_free.*; kdcs.distill.data_free): the task
    # term's targets are the teacher's own top beams on synthetic windows, real labels on real ones
    DATA_FREE: {
        "task": {"loss": FOCAL, "weight": 0.3},
        "kd": {"loss": "logit-kd", "weight": 0.7, "temperature": 4.0},
    },
}
