"""Numbers derived from results.json, and one sentence per finding, written from those numbers.

Nothing here is hard-coded about the outcome: every comparison reads the results and says what it
found, including where knowledge distillation did not help. A "best KD recipe" is picked on the
validation split, never on test. A difference smaller than the seed spread of the two rows compared
(`noise_between`) is called "about the same"; with one seed there is no spread, and NOISE stands in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

NOISE = 0.01  # one seed: test top-1 differences smaller than this are called within noise
TEACHER, SELF_KD, NO_KD = "teacher", "teacher-self-kd", "none"
BASELINE = "local-only"  # the collaboration protocol that exchanges nothing


def top1(entry: Mapping[str, Any], split: str = "test") -> float:
    """Mean top-1 over slots (and over seeds, for a row of several seeds)."""
    return float(entry["test"]["top1"]["mean"] if split == "test" else entry["val"]["top1"])


def top1_std(entry: Mapping[str, Any]) -> float | None:
    """Sample std over seeds of the mean test top-1; None for one seed."""
    std = entry["test"]["top1"].get("std")
    return None if std is None else float(std)


def noise_between(*stds: float | None) -> float:
    """How large a difference of rows with these seed stds must be to count: the spread of their
    difference, sqrt(sum std^2), when every row has several seeds; NOISE otherwise."""
    if not stds or any(std is None for std in stds):
        return NOISE
    return math.sqrt(sum(float(std) ** 2 for std in stds))


def model_noise(*entries: Mapping[str, Any]) -> float:
    """`noise_between` of model rows' mean test top-1."""
    return noise_between(*(top1_std(entry) for entry in entries))


def with_spread(value: float, std: float | None) -> str:
    """ "0.412" for one seed, "0.412 +- 0.010" over seeds."""
    return f"{value:.3f}" if std is None else f"{value:.3f} ± {std:.3f}"


def model_top1_text(entry: Mapping[str, Any]) -> str:
    return with_spread(top1(entry), top1_std(entry))


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
            if best is not None and NO_KD in recipes:
                base = top1(results["models"][recipes[NO_KD]])
                if teacher_top1 > base:
                    row["gap_closed_best_kd"] = (top1(results["models"][best]) - base) / (teacher_top1 - base)
        out[group] = row
    return out


def _signed(delta: float) -> str:
    return f"{delta:+.3f}"


def _change(delta: float, than: str = "", noise: float = NOISE) -> str:
    """ "higher than X (+0.031)", "about the same as X (+0.004)"; without X: "higher (+0.031)"."""
    if abs(delta) <= noise:
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
        slots = slots_below_floors(models[TEACHER], floors)
        at_slots = (
            "at every slot"
            if not slots
            else f"not at slot(s) {', '.join(slots)} (per-slot top-1 at or below a floor)"
        )
        sentences.append(
            f"The teacher ({models[TEACHER]['architecture']}, mean test top-1 "
            f"{model_top1_text(models[TEACHER])}) {' and '.join(parts)}; it is above both floors {at_slots}."
        )
    if TEACHER in models and SELF_KD in models:
        before, after = models[TEACHER], models[SELF_KD]
        change = _change(top1(after) - top1(before), noise=model_noise(before, after))
        sentences.append(
            f"Self-KD left the teacher's mean test top-1 {change}: {model_top1_text(before)} -> "
            f"{model_top1_text(after)}."
        )
    return sentences


def slots_below_floors(entry: Mapping[str, Any], floors: Mapping[str, Any]) -> list[str]:
    """Names of the slots ("t", "t+1", ...) where the model's mean top-1 is not above every floor's."""
    values = entry["test"]["top1"]["per_slot"]
    names = ["t", *(f"t+{j}" for j in range(1, len(values)))]
    return [
        names[slot]
        for slot, value in enumerate(values)
        if any(value <= floor["top1"]["per_slot"][slot] for floor in floors.values())
    ]


def student_findings(results: Mapping[str, Any]) -> list[str]:
    models, sentences = results["models"], []
    for group, recipes in groups(results).items():
        if NO_KD not in recipes:
            continue
        no_kd = models[recipes[NO_KD]]
        base = top1(no_kd)

        lifts = {  # recipe -> (test top-1 minus no KD, the noise of that difference)
            r: (top1(models[m]) - base, model_noise(models[m], no_kd))
            for r, m in recipes.items()
            if r != NO_KD
        }
        helped = [r for r, (delta, noise) in lifts.items() if delta > noise]
        hurt = [r for r, (delta, noise) in lifts.items() if delta < -noise]
        flat = [r for r in recipes if r not in (NO_KD, *helped, *hurt)]
        parts = [f"{r} {model_top1_text(models[recipes[r]])}" for r in recipes if r != NO_KD]
        if not parts:
            sentences.append(
                f"Student '{group}': {model_top1_text(no_kd)} mean test top-1 (trained without KD only)."
            )
            continue
        text = (
            f"Student '{group}': no KD {model_top1_text(no_kd)} mean test top-1; with KD {', '.join(parts)}."
        )
        text += f" KD helped ({', '.join(helped)})." if helped else " No KD recipe helped beyond noise."
        if hurt:
            text += f" KD hurt: {', '.join(hurt)}."
        if flat:
            text += f" Within noise of no KD: {', '.join(flat)}."
        best = best_kd_on_validation(results, recipes)
        if best is not None:
            change = _change(top1(models[best]) - base, "no KD", model_noise(models[best], no_kd))
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
        parts = [
            f"{name} {_change(mean_node_top1(run) - alone, noise=collab_noise(run, baseline))}"
            for name, run in exchanging.items()
        ]
        sentences.append(
            f"Against nodes trained alone on the same schedule (local-only, mean node test top-1 "
            f"{with_spread(alone, mean_node_top1_std(baseline))}): {'; '.join(parts)}."
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
    """Mean over the nodes of their test top-1 (over seeds too, for a row of several seeds); nodes
    that did not answer the final evaluation are left out."""
    if "mean_node_top1" in run:
        return float(run["mean_node_top1"]["mean"])
    values = [node["test"]["top1_mean"] for node in run["nodes"].values() if "test" in node]
    return sum(values) / len(values) if values else float("nan")


def mean_node_top1_std(run: Mapping[str, Any]) -> float | None:
    std = run.get("mean_node_top1", {}).get("std")
    return None if std is None else float(std)


def collab_noise(*runs: Mapping[str, Any]) -> float:
    return noise_between(*(mean_node_top1_std(run) for run in runs))


def stop_findings(results: Mapping[str, Any]) -> list[str]:
    """How many models stopped on a validation plateau, and which hit their epoch cap still improving."""
    runs = [(model_id, run) for model_id, entry in results["models"].items() for run in entry.get("runs", [])]
    stops = [(model_id, run) for model_id, run in runs if "stop" in run]
    if not stops:
        return []
    plateau = sum(run["stop"]["by"] == "plateau" for _, run in stops)
    improving = [
        f"{model_id} (seed {run['seed']}, best epoch {run['stop']['best_epoch']} of {run['stop']['cap']})"
        for model_id, run in stops
        if run["stop"]["still_improving"]
    ]
    text = f"{plateau} of {len(stops)} trained models stopped because validation top-1 stopped improving"
    if improving:
        return [f"{text}; {len(improving)} hit the epoch cap while still improving: {', '.join(improving)}."]
    capped = len(stops) - plateau
    if capped:
        return [f"{text}; {capped} ran to their epoch cap without early stopping configured."]
    return [f"{text}."]


def findings(results: Mapping[str, Any]) -> list[str]:
    """Every finding sentence, in report order."""
    return [
        *stop_findings(results),
        *teacher_findings(results),
        *floor_findings(results),
        *student_findings(results),
        *size_findings(results),
        *collab_findings(results),
    ]
