"""The two read-outs side by side: the paper's zero-append vs a multi-head read-out from the final state.

Run: .venv/bin/python benchmarks/bench_readout.py [--work runs/bench-kd] [--seeds 0 1 2] [--json out.json]
Same student, data and seeds for both; the default is picked on the validation mean (test shown beside).
Uses the scenario and cache of bench_kd.py when present (same --work folder).
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

READOUTS = ("zero-append", "multi-head")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, default=Path("runs/bench-kd"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    common, data = study_data(args.work)
    base = [*common, *STUDENT]
    rows = {}
    for readout in READOUTS:
        runs = []
        for seed in args.seeds:
            extra = [f"model.readout={readout}", f"train.seed={seed}", f"name=readout-{readout}-s{seed}"]
            runs.append(
                run(
                    load_config(RunConfig(), overrides=[*base, *extra]),
                    args.work / f"readout-{readout}-s{seed}",
                    data,
                )
            )
        val_top1, val_std = mean_std([m["val"]["top1"]["mean"] for m in runs])
        test_top1, test_std = mean_std([m["test"]["top1"]["mean"] for m in runs])
        rows[readout] = {"val_top1": val_top1, "val_std": val_std, "test_top1": test_top1, "test_std": test_std}
        r = rows[readout]
        print(
            f"{readout:12s} val top1 {r['val_top1']:.3f} ± {r['val_std']:.3f}   test top1 {r['test_top1']:.3f} ± {r['test_std']:.3f}"
        )
    best = max(rows, key=lambda name: rows[name]["val_top1"])
    print(f"picked on validation: {best}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "picked": best}, indent=2))


if __name__ == "__main__":
    main()
