"""Real DeepSense scenario 5 (GPS + 64-beam power): a trained beam-history model against the dataset's floors.

Run: .venv/bin/python benchmarks/bench_scenario5.py [--scenario ../shared/data/deepsense/scenario5]
     [--work runs/bench-scenario5] [--seeds 0 1 2] [--json out.json]

The model is configs/train/scenario5-beam-history.yaml (gps-beam-student on the beam history only),
trained once per seed, selected on validation; every number printed is on the test split, beside the
two floors of `kdcs data inspect` (repeat the last beam; the least-squares line through the last 8).
Finished runs (a run folder with metrics.json) are reused.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench_kd import COMMON, above_floors, mean_std, run, slot_mean_std  # noqa: E402

from kdcs.config import load_config  # noqa: E402
from kdcs.data.prepared import prepare_data  # noqa: E402
from kdcs.data.windows import WindowSpec  # noqa: E402
from kdcs.distill.run_config import RunConfig  # noqa: E402
from kdcs.eval.dataset_summary import summarize_dataset  # noqa: E402

CONFIG = REPO / "configs" / "train" / "scenario5-beam-history.yaml"
METRICS = ("top1", "top5")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenario", type=Path, default=REPO.parent / "shared/data/deepsense/scenario5")
    parser.add_argument("--work", type=Path, default=Path("runs/bench-scenario5"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not (args.scenario / "scenario5.csv").is_file():
        sys.exit(f"no DeepSense scenario 5 at {args.scenario} (pass --scenario)")
    base = [f"data.scenario={args.scenario}", f"data.cache_root={args.work / 'cache'}", *COMMON]
    data = prepare_data(load_config(RunConfig(), CONFIG, base).data)
    floors = summarize_dataset(data.table, WindowSpec())["splits"]["test"]["floors"]
    runs = []
    for seed in args.seeds:
        config = load_config(RunConfig(), CONFIG, [*base, f"train.seed={seed}", f"name=scenario5-s{seed}"])
        runs.append(run(config, args.work / f"s{seed}", data))
    print(f"\nDeepSense scenario 5, test split ({runs[0]['test']['num_windows']} windows), per slot t..t+3")
    rows = {}
    for metric in METRICS:
        for name, scores in floors.items():
            print(f"floor {name:12s} {metric} " + " ".join(f"{v:.3f}" for v in scores[metric]["per_slot"]))
        per_slot = slot_mean_std(runs, metric)
        rows[metric] = per_slot
        print(f"model ({len(runs)} seeds)   {metric} " + " ".join(f"{m:.3f}±{s:.3f}" for m, s in per_slot))
        above = [all(slot) for slot in zip(*(above_floors(r, floors, metric) for r in runs), strict=True)]
        print(f"  every seed above both floors, per slot: {above}")
    val = mean_std([r["val"]["top1"]["mean"] for r in runs])
    print(f"validation top-1 mean {val[0]:.3f} ± {val[1]:.3f}")
    if args.json:
        args.json.write_text(json.dumps({"floors": floors, "model": rows}, indent=2))


if __name__ == "__main__":
    main()
