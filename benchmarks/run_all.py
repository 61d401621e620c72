"""Run every benchmark in turn and keep their printed tables (the numbers README.md quotes).

Run: .venv/bin/python benchmarks/run_all.py [--quick]
Each script also runs alone; see its docstring. Results (JSON) go to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = [
    "bench_data.py",
    "bench_training.py",
    "bench_complexity.py",
    "bench_deploy.py",
    "bench_design.py",  # before bench_kd.py: the choices it uses are picked here, on another scenario
    "bench_kd.py",
    "bench_readout.py",
    "bench_scenario5.py",  # needs ../shared/data/deepsense (skipped when absent)
    "bench_edge_student.py",  # after bench_kd.py: distils from its teacher
    "bench_encodings.py",
    "bench_collab.py",
]
SLOW = (
    "bench_design.py",
    "bench_kd.py",
    "bench_readout.py",
    "bench_edge_student.py",
    "bench_encodings.py",
    "bench_collab.py",
)
NEEDS_REAL_DATA = {"bench_scenario5.py": HERE.parents[1] / "shared/data/deepsense/scenario5"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="only the fast benchmarks (no training studies)")
    args = parser.parse_args()
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    for script in SCRIPTS:
        if args.quick and script in SLOW:
            continue
        if script in NEEDS_REAL_DATA and not NEEDS_REAL_DATA[script].is_dir():
            print(f"\n=== {script}: skipped, no {NEEDS_REAL_DATA[script]} ===", flush=True)
            continue
        print(f"\n=== {script} ===", flush=True)
        command = [
            sys.executable,
            str(HERE / script),
            "--json",
            str(results / script.replace(".py", ".json")),
        ]
        subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
