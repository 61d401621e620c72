"""KD study on the default synthetic scenario: a multi-modal teacher against the floors, and a GPS +
beam-history student trained with every single-teacher KD recipe, each over several seeds.

Run: .venv/bin/python benchmarks/bench_kd.py [--work runs/bench-kd] [--seeds 0 1 2] [--json out.json]
The teacher is configs/train/multimodal-teacher.yaml, trained once per seed; the students distil from
the first seed's teacher. Finished runs (a run folder with metrics.json) are reused, so an interrupted
study resumes. Models are selected on validation; every number printed is on the test split.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kdcs.config import load_config  # noqa: E402
from kdcs.data.demo_data import ensure_scenario  # noqa: E402
from kdcs.data.prepared import prepare_data  # noqa: E402
from kdcs.data.windows import WindowSpec  # noqa: E402
from kdcs.distill.run_config import RunConfig  # noqa: E402
from kdcs.eval.dataset_summary import summarize_dataset  # noqa: E402
from kdcs.jobs.train import METRICS_JSON, run_training  # noqa: E402

AP = "ap1"
RECIPES = ("none", "logit", "feature", "rkd", "cross-modal")
COMMON = ["train.progress=false", "train.tensorboard=false", "train.batch_size=32"]
TEACHER_CONFIG = REPO / "configs" / "train" / "multimodal-teacher.yaml"
STUDENT = [
    "model.architecture=gps-beam-student",
    "train.epochs=40",
    "train.optim.lr=3e-3",
    "train.patience=10",
    "train.num_threads=1",
]


def teacher_config(base: list[str], seed: int) -> RunConfig:
    """The study's teacher (configs/train/multimodal-teacher.yaml) on the study's data, with one seed."""
    return load_config(RunConfig(), TEACHER_CONFIG, [*base, f"train.seed={seed}", f"name=teacher-s{seed}"])


def teacher_folder(work: Path, seed: int) -> Path:
    """Seed 0's teacher is `work/teacher` (the one bench_edge_student.py distils from)."""
    return work / ("teacher" if seed == 0 else f"teacher-s{seed}")


def run(config: RunConfig, folder: Path, data) -> dict:
    if (folder / METRICS_JSON).is_file():
        return json.loads((folder / METRICS_JSON).read_text())
    return run_training(config, folder, data=data)


def study_data(work: Path, scenario_seed: int = 0) -> tuple[list[str], object]:
    """The default scenario (or its draw with another seed) under `work`, written once, its AP1 cache,
    and the overrides naming them."""
    scenario, _ = ensure_scenario(work / "scenario", seed=scenario_seed)
    base = [f"data.scenario={scenario}", f"data.ap={AP}", f"data.cache_root={work / 'cache'}", *COMMON]
    return base, prepare_data(load_config(RunConfig(), overrides=base).data)


def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, default=Path("runs/bench-kd"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    base, data = study_data(args.work)
    floors = summarize_dataset(data.table, WindowSpec())["splits"]["test"]["floors"]
    teachers = []
    for seed in args.seeds:
        teachers.append(run(teacher_config(base, seed), teacher_folder(args.work, seed), data))
        print(f"done teacher seed {seed}", flush=True)
    teacher_dir = teacher_folder(args.work, args.seeds[0])
    students: dict[str, list[dict]] = {}
    for recipe in RECIPES:
        for seed in args.seeds:
            extra = [f"kd.recipe={recipe}", f"train.seed={seed}", f"name={recipe}-s{seed}"]
            if recipe != "none":
                extra.append(f"kd.teacher={teacher_dir}")
            config = load_config(RunConfig(), overrides=[*base, *STUDENT, *extra])
            students.setdefault(recipe, []).append(run(config, args.work / f"{recipe}-s{seed}", data))
            print(f"done {recipe} seed {seed}", flush=True)
    report(dict(zip(args.seeds, teachers, strict=True)), students, floors, args.json)


def slot_mean_std(runs: list[dict], metric: str) -> list[tuple[float, float]]:
    """Per-slot (mean, std) over runs of a test metric ("top1", "top5")."""
    per_slot = zip(*(m["test"][metric]["per_slot"] for m in runs), strict=True)
    return [mean_std(list(values)) for values in per_slot]


def above_floors(metrics: dict, floors: dict, metric: str = "top1") -> list[bool]:
    """Per slot: is the test metric above every floor's?"""
    values = metrics["test"][metric]["per_slot"]
    return [
        value > max(f[metric]["per_slot"][slot] for f in floors.values()) for slot, value in enumerate(values)
    ]


def report(
    teacher_runs: dict[int, dict], students: dict[str, list[dict]], floors: dict, json_path: Path | None
) -> None:
    teachers = list(teacher_runs.values())
    teacher = teachers[0]
    slots = len(teacher["test"]["top1"]["per_slot"])
    print(
        f"\ntest split, {teacher['test']['num_windows']} windows; top-1 per slot t..t+{slots - 1}, mean; top-5 mean"
    )
    for name, scores in floors.items():
        print(
            f"floor {name:14s} top1 {fmt(scores['top1']['per_slot'])}  mean {scores['top1']['mean']:.3f}  top5 {scores['top5']['mean']:.3f}"
        )
    teacher_slots = slot_mean_std(teachers, "top1")
    teacher_top1 = mean_std([m["test"]["top1"]["mean"] for m in teachers])
    teacher_top5 = mean_std([m["test"]["top5"]["mean"] for m in teachers])
    print(
        f"teacher ({len(teachers)} seeds)   top1 {' '.join(f'{m:.3f}±{s:.3f}' for m, s in teacher_slots)}  "
        f"mean {teacher_top1[0]:.3f} ± {teacher_top1[1]:.3f}  top5 {teacher_top5[0]:.3f} ± {teacher_top5[1]:.3f}"
    )
    for seed, metrics in teacher_runs.items():
        print(
            f"  teacher seed {seed}: top1 {fmt(metrics['test']['top1']['per_slot'])}  "
            f"beats both floors at every slot: {'yes' if all(above_floors(metrics, floors)) else 'no'}"
        )
    t1 = teacher["test"]["top1"]  # the students' teacher
    none_mean = mean_std([m["test"]["top1"]["mean"] for m in students["none"]])[0]
    rows = {}
    for recipe, runs in students.items():
        top1, std1 = mean_std([m["test"]["top1"]["mean"] for m in runs])
        top5, std5 = mean_std([m["test"]["top5"]["mean"] for m in runs])
        gap = (top1 - none_mean) / (t1["mean"] - none_mean) if t1["mean"] != none_mean else float("nan")
        rows[recipe] = {
            "top1_mean": top1,
            "top1_std": std1,
            "top5_mean": top5,
            "top5_std": std5,
            "gap_closed": gap,
        }
        print(
            f"student {recipe:12s} top1 {top1:.3f} ± {std1:.3f}  top5 {top5:.3f} ± {std5:.3f}  gap closed {gap:+.0%}"
        )
    if json_path:
        teacher_rows = {
            "top1_per_slot": teacher_slots,
            "top1_mean": teacher_top1,
            "top5_mean": teacher_top5,
            "beats_floors": {seed: all(above_floors(m, floors)) for seed, m in teacher_runs.items()},
        }
        json_path.write_text(
            json.dumps({"teachers": teacher_rows, "floors": floors, "students": rows}, indent=2)
        )


def fmt(values: list[float]) -> str:
    return " ".join(f"{v:.3f}" for v in values)


if __name__ == "__main__":
    main()
