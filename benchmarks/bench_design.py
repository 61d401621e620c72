"""Training choices measured on a design scenario, so that picking them never looks at the reported test split.

Run: .venv/bin/python benchmarks/bench_design.py [--work runs/bench-design] [--seeds 0 1 2] [--json out.json]

The design scenario is the default synthetic scenario drawn with another seed (1): same street,
sensors and codebook, other vehicles and passes. A choice is picked on its held-out windows (its
validation and test splits together, models selected on its validation split as always); the
default scenario's numbers (bench_kd.py) are measured after the choice and never fed back.
Each row: the GPS + beam-history student of bench_kd.py, top-1 mean over slots, mean ± std over seeds.
Finished runs (a run folder with metrics.json) are reused.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench_kd import STUDENT, mean_std, run, study_data  # noqa: E402

from kdcs.config import load_config  # noqa: E402
from kdcs.distill.run_config import RunConfig  # noqa: E402

DESIGN_SEED = 1
# choice -> {option name: overrides}; the first option is the baseline
CHOICES = {
    "weight average": {"raw weights": ["train.ema_decay=null"], "EMA 0.995": ["train.ema_decay=0.995"]},
}


def held_out_top1(metrics: dict) -> float:
    """Top-1 mean over the validation and test windows together (each split weighted by its windows)."""
    splits = [metrics["val"], metrics["test"]]
    total = sum(s["num_windows"] for s in splits)
    return sum(s["top1"]["mean"] * s["num_windows"] for s in splits) / total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, default=Path("runs/bench-design"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    base, data = study_data(args.work, scenario_seed=DESIGN_SEED)
    results = {}
    for choice, options in CHOICES.items():
        print(f"\n{choice} (design scenario, seed {DESIGN_SEED}; top-1 mean over slots)")
        rows = {}
        for option, overrides in options.items():
            runs = []
            for seed in args.seeds:
                name = f"{choice}-{option}-s{seed}".replace(" ", "_")
                config = load_config(
                    RunConfig(), overrides=[*base, *STUDENT, *overrides, f"train.seed={seed}", f"name={name}"]
                )
                runs.append(run(config, args.work / name, data))
            held, held_std = mean_std([held_out_top1(m) for m in runs])
            val, val_std = mean_std([m["val"]["top1"]["mean"] for m in runs])
            test, test_std = mean_std([m["test"]["top1"]["mean"] for m in runs])
            rows[option] = {"held_out": held, "held_out_std": held_std, "val": val, "val_std": val_std}
            rows[option] |= {"test": test, "test_std": test_std}
            print(
                f"  {option:14s} held-out {held:.3f} ± {held_std:.3f}   (val {val:.3f} ± {val_std:.3f}, "
                f"test {test:.3f} ± {test_std:.3f})",
                flush=True,
            )
        picked = max(rows, key=lambda option: rows[option]["held_out"])
        print(f"  picked: {picked}")
        results[choice] = {"rows": rows, "picked": picked}
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
