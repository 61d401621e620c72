"""Edge students against their teacher on the default scenario (AP1): size, compute, accuracy and int8.

Run: .venv/bin/python benchmarks/bench_edge_student.py [--work runs/bench-kd] [--teacher RUN] [--seeds 0 1 2]
     [--json out.json]

Targets (issue 6): a student with at least 27x fewer parameters and 4x fewer MACs than the teacher,
with mean top-5 within 2 points of the teacher's; int8 top-1 agreement with fp32 of at least 99% for a
trained camera student on the test split.
- Teacher: `--teacher` (a multimodal-teacher run folder), else bench_kd.py's teacher in --work.
- Narrow GPS + beam-history student (widths 32, beam embedding 16) with logit KD from that teacher,
  one run per seed; complexity from `kdcs.eval.complexity` (deployable parameters, MACs per inference).
- Camera student (ds-student on camera motion masks + beam history, logit KD, one seed), exported
  with `kdcs.jobs.export.export`, which measures int8 agreement on the run's test split.
Models are selected on validation; every accuracy printed is on the test split.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench_kd import mean_std, run, study_data, teacher_config, teacher_folder  # noqa: E402

from kdcs.config import load_config  # noqa: E402
from kdcs.distill.run_config import RunConfig  # noqa: E402
from kdcs.distill.trained_model import load_trained_model  # noqa: E402
from kdcs.eval.complexity import count_parameters, example_batch  # noqa: E402
from kdcs.eval.macs import count_macs  # noqa: E402
from kdcs.jobs.export import export as export_command  # noqa: E402

NARROW = [
    "model.architecture=gps-beam-student",
    "model.hidden=32",
    "model.feature_size=32",
    "model.gps_hidden=32",
    "model.beam_embedding_dim=16",
    "train.epochs=40",
    "train.optim.lr=3e-3",
    "train.patience=10",
    "train.num_threads=1",
]
CAMERA = [
    "model.architecture=ds-student",
    "model.modalities=[camera_motion,beam_history]",
    "train.epochs=15",
    "train.optim.lr=2e-3",
    "train.patience=5",
]


def size_and_compute(folder: Path) -> dict:
    model = load_trained_model(folder)
    macs = count_macs(model, example_batch(model.config))
    return {
        "architecture": model.config.architecture,
        "parameters": count_parameters(model)["deployable"],
        "macs": macs.macs_per_inference,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("runs/bench-kd"))
    parser.add_argument("--teacher", type=Path)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    base, data = study_data(args.work)
    teacher_dir = args.teacher or teacher_folder(args.work, 0)
    if args.teacher is None:
        run(teacher_config(base, 0), teacher_dir, data)
    teacher_metrics = json.loads((teacher_dir / "metrics.json").read_text())["test"]
    kd = ["kd.recipe=logit", f"kd.teacher={teacher_dir}"]
    narrow = []
    for seed in args.seeds:
        name = f"narrow-logit-s{seed}"
        config = load_config(
            RunConfig(), overrides=[*base, *NARROW, *kd, f"train.seed={seed}", f"name={name}"]
        )
        narrow.append((args.work / name, run(config, args.work / name, data)))
    camera_dir = args.work / "camera-logit-s0"
    run(load_config(RunConfig(), overrides=[*base, *CAMERA, *kd, "name=camera-logit-s0"]), camera_dir, data)
    with tempfile.TemporaryDirectory(prefix="kdcs-bench-edge-") as out:
        exported = export_command(camera_dir, Path(out) / "camera")
    teacher_size = size_and_compute(teacher_dir)
    student_size = size_and_compute(narrow[0][0])
    summary = {
        "teacher": {
            **teacher_size,
            "top1_mean": teacher_metrics["top1"]["mean"],
            "top5_mean": teacher_metrics["top5"]["mean"],
        },
        "narrow_student": {
            **student_size,
            "top1_mean": mean_std([m["test"]["top1"]["mean"] for _, m in narrow]),
            "top5_mean": mean_std([m["test"]["top5"]["mean"] for _, m in narrow]),
        },
        "parameter_ratio": teacher_size["parameters"] / student_size["parameters"],
        "mac_ratio": teacher_size["macs"] / student_size["macs"],
        "camera_student": {
            **size_and_compute(camera_dir),
            "test": json.loads((camera_dir / "metrics.json").read_text())["test"]["top1"]["mean"],
            "parity": exported["parity"],
        },
    }
    print_summary(summary)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1))


def print_summary(s: dict) -> None:
    t, n = s["teacher"], s["narrow_student"]
    print(f"{'model':34} {'params':>9} {'MACs/inf':>12} {'top-1 mean':>16} {'top-5 mean':>16}")
    print(
        f"{'teacher ' + t['architecture']:34} {t['parameters']:9,} {t['macs']:12,} {t['top1_mean']:16.3f} {t['top5_mean']:16.3f}"
    )
    print(
        f"{'student ' + n['architecture'] + ' (narrow)':34} {n['parameters']:9,} {n['macs']:12,} "
        f"{n['top1_mean'][0]:8.3f} ± {n['top1_mean'][1]:.3f} {n['top5_mean'][0]:8.3f} ± {n['top5_mean'][1]:.3f}"
    )
    print(
        f"teacher / student: {s['parameter_ratio']:.1f}x parameters, {s['mac_ratio']:.1f}x MACs; "
        f"top-5 student - teacher {n['top5_mean'][0] - t['top5_mean']:+.3f}"
    )
    c = s["camera_student"]
    print(
        f"camera student {c['architecture']} ({c['parameters']:,} params) test top-1 {c['test']:.3f}; int8 top-1 "
        f"agreement with fp32 {c['parity']['int8_top1_agreement_with_fp32']:.4f} on {c['parity']['inputs']}"
    )


if __name__ == "__main__":
    main()
