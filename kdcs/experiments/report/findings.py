"""Numbers derived from results.json, and one sentence per finding, written from those numbers.

Nothing here is hard-coded about the outcome: every comparison reads the results and says what it
found, including where knowledge distillation did not help. A "best KD recipe" is picked on the
validation split, never on test. Differences below NOISE (one seed) are called "about the same".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NOISE = 0.01  # test top-1 differences smaller than this are within one seed's noise on these splits
TEACHER, SELF_KD, NO_KD = "teacher", "teacher-self-kd", "none"
BASELINE = "local-only"  # the collaboration protocol that exchanges nothing


def top1(entry: Mapping[str, Any], split: str = "test") -> float:
    return float(entry["test"]["top1"]["mean"] if split == "test" else entry["val"]["top1"])


def groups(results: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """{student group: {recipe: model id}} in config order (the teacher group left out)."""
    out: dict[str, dict[str, str]] = {}
    for model_id, entry in results["models"].items():
        if entry["group"] != TEACHER:
            out.setdefault(entry["group"], {})[entry["recipe"]] = model_id
    return out


def best_kd_on_validation(results: Mapping[str, Any], recipes: Mapping[str, str]) -> str | None:
    """Id of the KD model (any recipe but none) with the best validation top-1 mean."""
    candidates = [model_id for recipe, model_id in recipes.items() if recipe != NO_KD]
    if not candidates:
        return None
    return max(candidates, key=lambda m: top1(results["models"][m], "val"))


def _complexity_numbers(results: Mapping[str, Any], group: str) -> tuple[float, float] | None:
    entry = results.get("complexity", {}).get(group)
    if not entry:
        return None
    return float(entry["parameters"]["deployable"]), float(entry["macs"]["macs_per_inference"])


def ratios(results: Mapping[str, Any]) -> dict[str, Any]:
    """Per student group vs the teacher: parameter and MAC ratios (teacher / student) and the
    student's test top-1 as a fraction of the teacher's, without KD and with its best KD recipe."""
    teacher_id = TEACHER if TEACHER in results["models"] else None
    teacher_size = _complexity_numbers(results, TEACHER)
    out: dict[str, Any] = {}
    for group, recipes in groups(results).items():
        size = _complexity_numbers(results, group)
        best = best_kd_on_validation(results, recipes)
        row: dict[str, Any] = {"best_kd": best}
        if teacher_size and size:
            row["params_teacher_over_student"] = teacher_size[0] / size[0]
            row["macs_teacher_over_student"] = teacher_size[1] / size[1]
        if teacher_id is not None:
            teacher_top1 = top1(results["models"][teacher_id])
            if NO_KD in recipes:
                row["top1_fraction_no_kd"] = top1(results["models"][recipes[NO_KD]]) / max(teacher_top1, 1e-9)
            if best is not None:
                row["top1_fraction_best_kd"] = top1(results["models"][best]) / max(teacher_top1, 1e-9)
        out[group] = row
    return out


def _signed(delta: float) -> str:
    return f"{delta:+.3f}"


def _change(delta: float, than: str = "") -> str:
    """ "higher than X (+0.031)", "about the same as X (+0.004)"; without X: "higher (+0.031)"."""
    if abs(delta) < NOISE:
        word, link = "about the same", " as"
    else:
        word, link = ("higher" if delta > 0 else "lower"), " than"
    return f"{word}{link + ' ' + than if than else ''} ({_signed(delta)})"


def teacher_findings(results: Mapping[str, Any]) -> list[str]:
    models, floors = results["models"], results.get("floors", {})
    sentences = []
    if TEACHER in models and floors:
        teacher = top1(models[TEACHER])
        parts = [
            f"{'beats' if teacher > float(f['top1']['mean']) else 'does not beat'} '{name}' ({float(f['top1']['mean']):.3f})"
            for name, f in floors.items()
        ]
        sentences.append(
            f"The teacher ({models[TEACHER]['architecture']}, mean test top-1 {teacher:.3f}) {' and '.join(parts)}."
        )
    if TEACHER in models and SELF_KD in models:
        before, after = top1(models[TEACHER]), top1(models[SELF_KD])
        sentences.append(
            f"Self-KD left the teacher's mean test top-1 {_change(after - before)}: {before:.3f} -> {after:.3f}."
        )
    return sentences


def student_findings(results: Mapping[str, Any]) -> list[str]:
    models, sentences = results["models"], []
    for group, recipes in groups(results).items():
        if NO_KD not in recipes:
            continue
        base = top1(models[recipes[NO_KD]])
        helped = [r for r, m in recipes.items() if r != NO_KD and top1(models[m]) - base >= NOISE]
        hurt = [r for r, m in recipes.items() if r != NO_KD and top1(models[m]) - base <= -NOISE]
        flat = [r for r in recipes if r not in (NO_KD, *helped, *hurt)]
        parts = [f"{r} {top1(models[recipes[r]]):.3f}" for r in recipes if r != NO_KD]
        if not parts:
            sentences.append(f"Student '{group}': {base:.3f} mean test top-1 (trained without KD only).")
            continue
        text = f"Student '{group}': no KD {base:.3f} mean test top-1; with KD {', '.join(parts)}."
        text += f" KD helped ({', '.join(helped)})." if helped else " No KD recipe helped by 0.01 or more."
        if hurt or flat:
            text += f" KD did not help: {', '.join([*hurt, *flat])}."
        best = best_kd_on_validation(results, recipes)
        if best is not None:
            change = _change(top1(models[best]) - base, "no KD")
            text += f" The recipe picked on validation, {models[best]['recipe']}, scores {change} on test."
        sentences.append(text)
    return sentences


def size_findings(results: Mapping[str, Any]) -> list[str]:
    sentences = []
    for group, row in results.get("ratios", {}).items():
        if "params_teacher_over_student" not in row or "top1_fraction_no_kd" not in row:
            continue
        text = (
            f"Student '{group}' has {row['params_teacher_over_student']:.1f}x fewer parameters and "
            f"{row['macs_teacher_over_student']:.1f}x fewer MACs than the teacher"
        )
        if row["macs_teacher_over_student"] < 1:
            text = text.replace(
                f"{row['macs_teacher_over_student']:.1f}x fewer MACs",
                f"{1 / row['macs_teacher_over_student']:.1f}x MORE MACs",
            )
        text += f"; it reaches {row['top1_fraction_no_kd']:.0%} of the teacher's mean test top-1 without KD"
        if "top1_fraction_best_kd" in row:
            text += f" and {row['top1_fraction_best_kd']:.0%} with its best KD recipe (picked on validation)"
        sentences.append(text + ".")
    return sentences


def floor_findings(results: Mapping[str, Any]) -> list[str]:
    floors = results.get("floors", {})
    if not floors:
        return []
    best_floor_name = max(floors, key=lambda n: floors[n]["top1"]["mean"])
    best_floor = float(floors[best_floor_name]["top1"]["mean"])
    models = results["models"]
    above = [m for m, e in models.items() if top1(e) > best_floor]
    return [
        f"{len(above)} of {len(models)} models beat the stronger floor ('{best_floor_name}', mean test top-1 "
        f"{best_floor:.3f})"
        + (f"; the best is {max(above, key=lambda m: top1(models[m]))}." if above else ".")
    ]


def collab_findings(results: Mapping[str, Any]) -> list[str]:
    runs = results.get("collab", {})
    sentences = []
    by_protocol = {run["protocol"]: (name, run) for name, run in runs.items()}
    if "fedavg" in by_protocol and "fed-distill" in by_protocol:
        (_, avg), (_, fd) = by_protocol["fedavg"], by_protocol["fed-distill"]
        if avg["node_models"] == fd["node_models"] and fd["bytes"]["up"] > 0:
            ratio = avg["bytes"]["up"] / fd["bytes"]["up"]
            sentences.append(
                f"With the same student ({avg['node_models']}) and {avg['rounds']} round(s), FedAvg sent "
                f"{avg['bytes']['up']:,} bytes up and federated distillation {fd['bytes']['up']:,} "
                f"({ratio:.1f}x {'less' if ratio > 1 else 'more'}); mean node test top-1 "
                f"{mean_node_top1(avg):.3f} vs {mean_node_top1(fd):.3f}."
            )
    exchanging = {name: run for name, run in runs.items() if run["protocol"] != BASELINE}
    baseline = next((run for run in runs.values() if run["protocol"] == BASELINE), None)
    if baseline is not None and exchanging:
        alone = mean_node_top1(baseline)
        parts = [f"{name} {_change(mean_node_top1(run) - alone)}" for name, run in exchanging.items()]
        sentences.append(
            f"Against nodes trained alone on the same schedule (local-only, mean node test top-1 "
            f"{alone:.3f}): {'; '.join(parts)}."
        )
    if exchanging:
        best = max(exchanging, key=lambda n: mean_node_top1(exchanging[n]))
        cheapest = min(exchanging, key=lambda n: exchanging[n]["bytes"]["up"])
        sentences.append(
            f"Among the runs that exchange knowledge, {best} gave the best mean node test top-1 "
            f"({mean_node_top1(exchanging[best]):.3f}) and {cheapest} sent the least uplink "
            f"({exchanging[cheapest]['bytes']['up']:,} bytes)."
        )
    return sentences


def mean_node_top1(run: Mapping[str, Any]) -> float:
    values = [node["test"]["top1_mean"] for node in run["nodes"].values()]
    return sum(values) / len(values) if values else float("nan")


def findings(results: Mapping[str, Any]) -> list[str]:
    """Every finding sentence, in report order."""
    return [
        *teacher_findings(results),
        *floor_findings(results),
        *student_findings(results),
        *size_findings(results),
        *collab_findings(results),
    ]
