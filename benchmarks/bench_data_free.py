"""Data-free KD: students built from a trained teacher alone, against the same students trained on real
data, with 5% of the real windows, and chance; on the default scenario and on real DeepSense scenario 5.

Run: .venv/bin/python benchmarks/bench_data_free.py [--work runs/bench-data-free] [--seeds 0 1 2]
     [--students gps-beam camera] [--scenario5 ../shared/data/deepsense/scenario5] [--json out.json]
     [--set kd.data_free.steps=100 ... --set-tag -steps100]   (overrides of every data-free run; their runs
                                                            under <student><tag><set-tag>)
     [--teacher-set model.modality_dropout=0.6 ... --tag -md06]   (another teacher; its runs under <student><tag>)

Default scenario, AP1: the teacher is configs/train/multimodal-teacher.yaml (seed 0; camera motion + radar +
GPS + beam history); students: gps-beam-student (GPS + beam history, as bench_kd.py) and ds-student on the
camera motion masks. Scenario 5 (GPS + beam power, no camera): the teacher is
configs/train/scenario5-beam-history.yaml (seed 0, beam history only) and the student the same architecture.
Per student and seed: no KD on the real training split; data-free (synthetic windows only, selected on
held-out synthetic windows: no real window read until the test); data-free + 5% of the real training
windows. Every number is on the real test split. Finished runs (metrics.json) are reused; the no-KD runs
depend on neither teacher nor --set, so every tag shares them (<student>/real-s<seed>).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench_kd import COMMON, STUDENT, mean_std, run, study_data, teacher_config  # noqa: E402

from kdcs.config import load_config  # noqa: E402
from kdcs.data.prepared import prepare_data  # noqa: E402
from kdcs.distill.data_free.training_set import SYNTHETIC_FILE  # noqa: E402
from kdcs.distill.run_config import RunConfig  # noqa: E402
from kdcs.jobs.evaluate import evaluate_checkpoint  # noqa: E402

SCENARIO5_CONFIG = REPO / "configs" / "train" / "scenario5-beam-history.yaml"
CAMERA_STUDENT = [
    "model.architecture=ds-student",
    "model.modalities=[camera_motion]",
    "train.epochs=20",
    "train.optim.lr=2e-3",
    "train.patience=6",
    "train.num_threads=1",
]
# image synthesis runs the teacher's CNN forward and backward at every step: fewer, smaller batches
CAMERA_SYNTHESIS = ["kd.data_free.windows=512", "kd.data_free.val_windows=128", "kd.data_free.steps=60"]
VARIANTS = {  # row label: (run folder prefix, overrides)
    "real data, no KD": ("real", ["kd.recipe=none"]),
    "data-free": ("data-free", ["kd.recipe=data-free"]),
    # reuses the data-free run's synthetic windows (same teacher, seed and settings): only training differs
    "data-free + 5% real": ("data-free-real5", ["kd.recipe=data-free", "kd.data_free.real_fraction=0.05"]),
}


def student_runs(
    work: Path, base: list[str], student: list[str], teacher: Path, seeds: list[int], data, extra: list[str],
    config_file: Path | None = None, real_work: Path | None = None,
) -> dict[str, list[dict]]:  # fmt: skip
    """Every variant of one student over the seeds: {variant: [metrics per seed]}; the no-KD runs go
    under `real_work` (default `work`)."""
    rows: dict[str, list[dict]] = {}
    for variant, (prefix, overrides) in VARIANTS.items():
        for seed in seeds:
            label = f"{prefix}-s{seed}"
            folder = (real_work or work) / label if variant == "real data, no KD" else work / label
            kd = [*overrides, f"kd.teacher={teacher}"] if "data-free" in variant else overrides
            more = extra if "data-free" in variant else []
            if (
                "real" in prefix and "data-free" in prefix
            ):  # the data-free run's windows: same seed and settings
                more = [*more, f"kd.data_free.synthetic_set={work / f'data-free-s{seed}' / SYNTHETIC_FILE}"]
            settings = [*base, *student, *kd, *more, f"train.seed={seed}", f"name={label}"]
            config = load_config(RunConfig(), config_file, settings)
            metrics = run(config, folder, data)
            rows.setdefault(variant, []).append({**metrics, "real_val_top5": real_val_top5(folder)})
            print(f"done {work.name} {variant} seed {seed}", flush=True)
    return rows


def real_val_top5(folder: Path) -> float:
    """The run's selected model on the real validation split (what variants are picked on; a data-free
    run selects its epoch on synthetic windows and never reads this)."""
    return evaluate_checkpoint(folder / "best.safetensors", split="val", with_complexity=False)["metrics"][
        "top5"
    ]["mean"]


def default_scenario(args) -> dict[str, dict[str, list[dict]]]:
    base, data = study_data(args.work)
    teacher = args.work / f"teacher{args.tag}"
    config = teacher_config(base, 0)
    if args.teacher_set:
        config = load_config(config, overrides=args.teacher_set)
    run(config, teacher, data)
    students = {"gps-beam": (STUDENT, []), "camera": (CAMERA_STUDENT, CAMERA_SYNTHESIS)}
    return {
        f"default ap1, {name}{args.tag}{args.set_tag}": student_runs(
            args.work / f"{name}{args.tag}{args.set_tag}",
            base,
            students[name][0],
            teacher,
            args.seeds,
            data,
            [*students[name][1], *args.set],
            real_work=args.work / name,
        )
        for name in args.students
    }


def scenario5(args) -> dict[str, dict[str, list[dict]]]:
    work = args.work / "scenario5"
    base = [f"data.scenario={args.scenario5}", f"data.cache_root={work / 'cache'}", *COMMON]
    data = prepare_data(load_config(RunConfig(), SCENARIO5_CONFIG, base).data)
    teacher = work / "teacher"
    run(load_config(RunConfig(), SCENARIO5_CONFIG, [*base, "train.seed=0", "name=teacher"]), teacher, data)
    rows = student_runs(
        work / args.set_tag if args.set_tag else work, base, [], teacher, args.seeds, data, args.set,
        config_file=SCENARIO5_CONFIG, real_work=work,
    )  # fmt: skip
    return {"scenario 5, beam history": rows}


def summary(rows: dict[str, list[dict]]) -> dict[str, dict[str, float]]:
    table = {}
    for variant, runs in rows.items():
        top1 = mean_std([m["test"]["top1"]["mean"] for m in runs])
        top5 = mean_std([m["test"]["top5"]["mean"] for m in runs])
        seconds = mean_std(
            [m["train_seconds"] + m.get("data_free", {}).get("synthesis_seconds", 0.0) for m in runs]
        )
        synthesis = mean_std([m.get("data_free", {}).get("synthesis_seconds", 0.0) for m in runs])
        val_top5 = mean_std([m["real_val_top5"] for m in runs])
        table[variant] = {
            "top1": top1,
            "top5": top5,
            "real_val_top5": val_top5,
            "seconds": seconds,
            "synthesis_seconds": synthesis,
            "seeds": len(runs),
        }
    num_beams = 64
    table["chance"] = {"top1": (1 / num_beams, 0.0), "top5": (5 / num_beams, 0.0)}
    return table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, default=Path("runs/bench-data-free"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--students", nargs="*", default=["gps-beam", "camera"], choices=["gps-beam", "camera"]
    )
    parser.add_argument("--scenario5", type=Path, default=None)
    parser.add_argument("--set", nargs="*", default=[], help="overrides of every data-free run")
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--teacher-set", nargs="*", default=[], help="overrides of the default scenario's teacher"
    )
    parser.add_argument("--tag", default="", help="suffix of the teacher's and the students' run folders")
    parser.add_argument("--set-tag", default="", help="suffix of the data-free runs' folders (for --set)")
    args = parser.parse_args()
    if args.teacher_set and not args.tag:
        parser.error("--teacher-set needs a --tag: the default teacher's folder holds the default teacher")
    studies = default_scenario(args) if args.students else {}
    if args.scenario5 is not None:
        studies.update(scenario5(args))
    tables = {name: summary(rows) for name, rows in studies.items()}
    for name, table in tables.items():
        real = table["real data, no KD"]["top5"][0]
        print(f"\n{name} (test split; mean ± std over seeds; seconds = synthesis + training)")
        for variant, row in table.items():
            cost = (
                f"  {row['seconds'][0]:7.1f} s (synthesis {row['synthesis_seconds'][0]:.1f})"
                if "seconds" in row
                else ""
            )
            val = f"  real val top5 {row['real_val_top5'][0]:.3f}" if "real_val_top5" in row else ""
            print(
                f"  {variant:22s} top1 {row['top1'][0]:.3f} ± {row['top1'][1]:.3f}  "
                f"top5 {row['top5'][0]:.3f} ± {row['top5'][1]:.3f}  ({row['top5'][0] / real:.0%} of real){cost}{val}"
            )
    if args.json:
        args.json.write_text(json.dumps(tables, indent=2))


if __name__ == "__main__":
    main()
