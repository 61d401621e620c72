"""Rows over seeds: mean +- sample std from hand-made per-seed results, verdicts judged against the spread,
and how each model stopped (plateau, or the epoch cap while still improving)."""

from __future__ import annotations

from typing import Any

import pytest

from kdcs.distill.train_config import TrainConfig
from kdcs.experiments.report.findings import findings, ratios
from kdcs.experiments.report.markdown import render
from kdcs.experiments.report.paper_checks import paper_checks
from kdcs.experiments.study.results import stop_summary
from kdcs.experiments.study.seeds import aggregate_collab, aggregate_metric, aggregate_model, mean_std


def seed_entry(
    group: str, recipe: str, seed: int, top1: float, val: float, history: int = 8
) -> dict[str, Any]:
    """One seed's model entry as `results.model_entry` writes it (two slots, top-1 +- 0.02 around the mean)."""
    return {
        "seed": seed,
        "group": group,
        "recipe": recipe,
        "teacher": None if recipe == "none" else "teacher",
        "architecture": "multimodal-teacher" if group == "teacher" else "ds-student",
        "modalities": ["camera_motion", "beam_history"],
        "history": history,
        "run_dir": f"/nowhere/{group}-{recipe}-seed{seed}",
        "best_epoch": 5,
        "epochs_run": 9,
        "stop": {
            "by": "plateau",
            "epochs": 9,
            "best_epoch": 5,
            "patience": 4,
            "cap": 30,
            "still_improving": False,
        },
        "train_seconds": 2.0,
        "windows": {"train": 10, "val": 5, "test": 5},
        "val": {"top1": val},
        "test": {"top1": {"per_slot": [top1 + 0.02, top1 - 0.02], "mean": top1}},
        "test_windows": 5,
    }


def row(group: str, recipe: str, top1s: list[float], history: int = 8) -> dict[str, Any]:
    return aggregate_model([seed_entry(group, recipe, s, t, t, history) for s, t in enumerate(top1s)])


def test_metrics_over_seeds_are_mean_and_sample_std():
    metric = aggregate_metric(
        [
            {"per_slot": [0.4, 0.2], "mean": 0.3},
            {"per_slot": [0.5, 0.3], "mean": 0.4},
            {"per_slot": [0.6, 0.4], "mean": 0.5},
        ]
    )

    assert metric["per_slot"] == pytest.approx([0.5, 0.3])
    assert metric["mean"] == pytest.approx(0.4)
    assert metric["std"] == pytest.approx(0.1)  # sample std (ddof=1) of 0.3, 0.4, 0.5
    assert metric["per_slot_std"] == pytest.approx([0.1, 0.1])
    assert mean_std([0.7]) == (0.7, None)  # one seed: no spread


def test_a_model_row_keeps_every_seed_and_averages_validation():
    model = row("camera", "logit", [0.30, 0.40, 0.50])

    assert model["seeds"] == [0, 1, 2] and len(model["runs"]) == 3
    assert model["val"]["top1"] == pytest.approx(0.40) and model["val_std"]["top1"] == pytest.approx(0.1)
    assert model["test"]["top1"]["std"] == pytest.approx(0.1)
    assert model["train_seconds"] == pytest.approx(6.0)


def test_collaboration_rows_average_node_accuracy_over_seeds():
    def run(seed: int, top1: float, up: int) -> dict[str, Any]:
        node = {"test": {"top1_mean": top1, "top5_mean": 0.8}}
        return {
            "seed": seed,
            "protocol": "fedavg",
            "rounds": 2,
            "bytes": {"up": up, "down": 1},
            "nodes": {"a": node},
        }

    collab = aggregate_collab([run(0, 0.2, 100), run(1, 0.4, 300)])

    assert collab["mean_node_top1"]["mean"] == pytest.approx(0.3)
    assert collab["mean_node_top1"]["std"] == pytest.approx(0.1414, abs=1e-4)
    assert collab["nodes"]["a"]["test"]["top1_mean"] == pytest.approx(0.3) and collab["bytes"]["up"] == 200


def study(kd_top1s: list[float], no_kd_top1s: list[float]) -> dict[str, Any]:
    return {
        "experiment": "seeds",
        "machine": {"cpu_count": 2},
        "dataset": {
            "name": "ap1",
            "samples": 100,
            "sequences": 4,
            "modalities": {"camera": 100},
            "window_spec": {"history": 8, "horizon": 1},
            "splits": {s: {"windows": 10} for s in ("train", "val", "test")},
        },
        "models": {
            "teacher": row("teacher", "none", [0.50, 0.50, 0.50]),
            "camera/none": row("camera", "none", no_kd_top1s),
            "camera/logit": row("camera", "logit", kd_top1s),
        },
    }


def test_a_lift_smaller_than_the_seed_spread_is_within_noise():
    noisy = study(kd_top1s=[0.28, 0.34, 0.40], no_kd_top1s=[0.26, 0.32, 0.38])  # +0.02, spread 0.085
    steady = study(kd_top1s=[0.335, 0.34, 0.345], no_kd_top1s=[0.315, 0.32, 0.325])  # +0.02, spread 0.007

    noisy_checks = {c["claim"]: c for c in paper_checks(noisy)}
    steady_checks = {c["claim"]: c for c in paper_checks(steady)}

    assert noisy_checks["KD lifts students toward the teacher"]["verdict"] == "within noise"
    assert steady_checks["KD lifts students toward the teacher"]["verdict"] == "held"
    assert "noise 0.085" in noisy_checks["KD lifts students toward the teacher"]["ours"]
    # both close 11% of a 0.18 gap: not the half that counts, and the noisy lift is within noise
    assert noisy_checks["KD closes the student-teacher gap"]["verdict"] == "within noise"
    assert steady_checks["KD closes the student-teacher gap"]["verdict"] == "did not hold"
    closing = study(kd_top1s=[0.435, 0.44, 0.445], no_kd_top1s=[0.315, 0.32, 0.325])  # 67% of the gap
    assert {c["claim"]: c["verdict"] for c in paper_checks(closing)}[
        "KD closes the student-teacher gap"
    ] == "held"
    noisy["ratios"] = ratios(noisy)
    camera = next(s for s in findings(noisy) if s.startswith("Student 'camera'"))
    assert "Within noise of no KD: logit" in camera and "0.340 ± 0.060" in camera


def test_one_seed_falls_back_to_a_fixed_noise_threshold():
    one_seed = study(kd_top1s=[0.34], no_kd_top1s=[0.32])

    verdict = {c["claim"]: c["verdict"] for c in paper_checks(one_seed)}[
        "KD lifts students toward the teacher"
    ]

    assert verdict == "held"  # +0.02 > 0.01


def test_stop_reason_says_plateau_or_cap_hit_while_improving():
    train = TrainConfig(epochs=20, patience=4)

    plateau = stop_summary(
        {"epochs_run": 11, "best_epoch": 7, "stopped_reason": "early stop: val top1_mean did not improve"},
        train,
    )
    capped = stop_summary(
        {"epochs_run": 20, "best_epoch": 19, "stopped_reason": "completed 20 epochs"}, train
    )

    assert plateau["by"] == "plateau" and not plateau["still_improving"] and plateau["best_epoch"] == 7
    assert capped["by"] == "epoch cap" and capped["still_improving"]


def test_report_flags_a_model_that_hit_its_cap_while_improving():
    results = study(kd_top1s=[0.34, 0.35, 0.36], no_kd_top1s=[0.31, 0.32, 0.33])
    capped = {
        "by": "epoch cap",
        "epochs": 30,
        "best_epoch": 30,
        "patience": 4,
        "cap": 30,
        "still_improving": True,
    }
    results["models"]["camera/logit"]["runs"][1]["stop"] = capped
    results["ratios"], results["paper_checks"] = ratios(results), paper_checks(results)
    results["findings"] = findings(results)

    text = render(results)

    assert "## How each model stopped" in text
    assert "| camera/logit | 1 | 30 | 30 | 30 | 4 | **epoch cap, still improving** |" in text
    assert "| camera/none | 0 | 9 | 5 | 30 | 4 | plateau (no gain for 4 epochs) |" in text
    assert any(
        "8 of 9 trained models stopped" in s and "camera/logit (seed 1" in s for s in results["findings"]
    )
    assert "| camera/logit | 0.370 ± 0.010 | 0.330 ± 0.010 | 0.350 ± 0.010 |" in text
    assert "## The paper's table, this run" in text
    assert "| camera (ds-student, L=8) | KD: logit | 0.350 ± 0.010 | - | - |" in text
