"""The KD ceiling of the study's camera and radar students: is their gap to the multi-modal teacher
informational (GPS they do not see) or a capacity gap KD could close?

Run: .venv/bin/python benchmarks/bench_kd_ceiling.py --study runs/study [--work runs/bench-kd-ceiling]
     [--seeds 0 1 2] [--students camera radar] [--history-teacher] [--json out.json]
--study is a finished `kdcs run --config configs/experiments/study.yaml` folder (its models/<stage>-seed<k>/).
Per seed and student, on the study's scenario, cache and training-window thinning:
- a same-sensor teacher: the study's teacher run (models/teacher-seed<k>/config.yaml: multimodal-teacher,
  same model settings and training recipe) with `model.modalities` restricted to the student's inputs;
- the student's logit-KD run (models/<student>-logit-seed<k>/config.yaml, the study's recipe) distilled
  from that teacher instead of the study's. An L=3 student (camera-L3, radar-L3) distils from the L=8
  same-sensor teacher of its sensor, as the study's L=3 students distil from the study's L=8 teacher.
--history-teacher also trains the study's teacher on the past beams alone (what the sensors add to them).
Printed beside the study's own rows (student without KD, with logit KD, multi-modal teacher: read from its
run folders): test top-1 (mean over slots t..t+3) and top-5 mean, mean ± std over seeds, validation top-1,
and the share of the gap (teacher - no KD) that logit KD closes, on test and on validation.
Finished runs (a folder with metrics.json) are reused. Models are selected on validation (early stopping).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.bench_kd import mean_std  # noqa: E402
from kdcs.config import load_config, read_yaml_file  # noqa: E402
from kdcs.distill.run_config import RunConfig  # noqa: E402
from kdcs.jobs.stage_jobs import prepared_data  # noqa: E402
from kdcs.jobs.train import CONFIG_YAML, METRICS_JSON, run_training  # noqa: E402

HISTORY = "beam-history"  # --history-teacher: the study's teacher on the past beams alone


def study_run(study: Path, stage: str, seed: int) -> Path:
    return study / "models" / f"{stage}-seed{seed}"


def sensor_of(student: str) -> str:
    """camera-L3 -> camera: the L=3 students share their sensor's L=8 same-sensor teacher."""
    return student.removesuffix("-L3")


def same_sensor_teacher(study: Path, student: str, seed: int) -> RunConfig:
    """The study's teacher of `seed` reading only the (L=8) student's modalities (HISTORY: past beams only)."""
    sensor = sensor_of(student)
    teacher = load_config(RunConfig(), study_run(study, "teacher", seed) / CONFIG_YAML)
    if sensor == HISTORY:
        modalities = ("beam_history",)
    else:
        student_run = study_run(study, f"{sensor}-none", seed) / CONFIG_YAML
        modalities = load_config(RunConfig(), student_run).model.modalities
    overrides = [f"model.modalities=[{','.join(modalities)}]", f"name={sensor}-teacher"]
    return load_config(teacher, overrides=overrides)


def taught_student(study: Path, student: str, seed: int, teacher_dir: Path) -> RunConfig:
    """The study's logit-KD run of `student`, distilled from `teacher_dir`."""
    logit = load_config(RunConfig(), study_run(study, f"{student}-logit", seed) / CONFIG_YAML)
    return load_config(logit, overrides=[f"kd.teacher={teacher_dir}", f"name={student}-logit-same-sensor"])


def teacher_folder(work: Path, sensor: str, seed: int) -> Path:
    return work / f"{sensor}-teacher-seed{seed}"


def gap_closed(student: float, taught: float, teacher: float) -> float:
    """Share of the gap (teacher - student) that the taught student closes; nan without a gap."""
    return (taught - student) / (teacher - student) if teacher != student else float("nan")


def run(config: RunConfig, folder: Path, stride: int) -> dict:
    if (folder / METRICS_JSON).is_file():
        return json.loads((folder / METRICS_JSON).read_text())
    metrics = run_training(config, folder, workers=1, data=prepared_data(config.data, stride))
    print(f"done {folder.name}: {metrics['train_seconds']:.0f} s", flush=True)
    return metrics


def study_metrics(study: Path, stage: str, seeds: list[int]) -> list[dict]:
    return [json.loads((study_run(study, stage, seed) / METRICS_JSON).read_text()) for seed in seeds]


def summary(runs: list[dict]) -> dict:
    """test top-1 / top-5 (mean over slots) and val top-1, each (mean, std) over seeds, and the per-seed values."""
    values = {
        key: [m[split][metric]["mean"] for m in runs]
        for key, split, metric in (
            ("test_top1", "test", "top1"),
            ("test_top5", "test", "top5"),
            ("val_top1", "val", "top1"),
        )
    }
    out = {key: mean_std(v) for key, v in values.items()}
    out["per_seed"] = values
    out["best_epoch"] = [m["best_epoch"] for m in runs]
    out["epochs_run"] = [m["epochs_run"] for m in runs]
    out["train_seconds"] = sum(m["train_seconds"] for m in runs)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--study", type=Path, required=True)
    parser.add_argument("--work", type=Path, default=Path("runs/bench-kd-ceiling"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--students", nargs="+", default=["camera", "radar"])
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--history-teacher", action="store_true", help="also the study's teacher on the past beams alone"
    )
    args = parser.parse_args()
    stride = int(read_yaml_file(args.study / "experiment.yaml").get("train_stride", 1))
    teachers: dict[str, list[dict]] = {}  # first every same-sensor teacher, then the KD runs
    sensors = [*dict.fromkeys(sensor_of(student) for student in args.students)]
    for sensor in [*sensors, HISTORY] if args.history_teacher else sensors:
        for seed in args.seeds:
            config = same_sensor_teacher(args.study, sensor, seed)
            teachers.setdefault(sensor, []).append(
                run(config, teacher_folder(args.work, sensor, seed), stride)
            )
    taught: dict[str, list[dict]] = {}
    for student in args.students:
        for seed in args.seeds:
            config = taught_student(
                args.study, student, seed, teacher_folder(args.work, sensor_of(student), seed)
            )
            taught.setdefault(student, []).append(
                run(config, args.work / f"{student}-logit-same-seed{seed}", stride)
            )
    report(args.study, args.seeds, teachers, taught, args.json)


def report(study: Path, seeds: list[int], teachers: dict, taught: dict, json_path: Path | None) -> None:
    multimodal = summary(study_metrics(study, "teacher", seeds))
    rows: dict[str, dict] = {"multimodal-teacher": multimodal}
    print(f"\n{len(seeds)} seeds {seeds}; test top-1 / top-5 = mean over slots t..t+3; mean ± std over seeds")
    line = "{:34s} test top-1 {:.3f} ± {:.3f}  top-5 {:.3f} ± {:.3f}  val top-1 {:.3f} ± {:.3f}  best/run epochs {}"

    def show(name: str, row: dict) -> None:
        epochs = " ".join(f"{b}/{r}" for b, r in zip(row["best_epoch"], row["epochs_run"], strict=True))
        print(line.format(name, *row["test_top1"], *row["test_top5"], *row["val_top1"], epochs))

    show("multimodal teacher (study)", multimodal)
    for sensor, runs in teachers.items():
        rows[f"{sensor}-teacher"] = summary(runs)
        show(f"{sensor} {'only' if sensor == HISTORY else 'same-sensor'} teacher", rows[f"{sensor}-teacher"])
    for student, runs in taught.items():
        none = summary(study_metrics(study, f"{student}-none", seeds))
        logit = summary(study_metrics(study, f"{student}-logit", seeds))
        same = summary(runs)
        own = rows[f"{sensor_of(student)}-teacher"]
        rows.update(
            {f"{student}/none": none, f"{student}/logit": logit, f"{student}/logit-same-sensor": same}
        )
        show(f"{student} no KD (study)", none)
        show(f"{student} logit KD, multimodal (study)", logit)
        show(f"{student} logit KD, same-sensor", same)
        shares = {}
        for split in ("test", "val"):
            key = f"{split}_top1"
            shares[split] = {
                "multimodal": gap_closed(none[key][0], logit[key][0], multimodal[key][0]),
                "same_sensor_by_multimodal_kd": gap_closed(none[key][0], logit[key][0], own[key][0]),
                "same_sensor": gap_closed(none[key][0], same[key][0], own[key][0]),
                "same_sensor_gap": own[key][0] - none[key][0],
            }
            print(
                f"  {split:4s} gap same-sensor teacher - no KD {shares[split]['same_sensor_gap']:+.3f}; closed: "
                f"multimodal KD of multimodal gap {shares[split]['multimodal']:+.0%}, same-sensor KD of same-sensor "
                f"gap {shares[split]['same_sensor']:+.0%} (multimodal KD of it {shares[split]['same_sensor_by_multimodal_kd']:+.0%})"
            )
        rows[f"{student}/gap_closed"] = shares
    if json_path:
        json_path.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
