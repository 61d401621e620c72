"""Collaboration study on the default multi-AP synthetic scenario: every protocol against the
"trained alone" baseline, fedavg against fed-distill on bytes, and a 16-node scale check.

Run: .venv/bin/python benchmarks/bench_collab.py [--work runs/bench-collab] [--teacher RUN]
     [--parts hetero same scale] [--protocols central-kd edge-kd ...] [--json out.json]

- One multi-modal teacher is trained once at the centre (AP1: camera + radar + GPS + beam history)
  and every protocol runs against it (`central.teacher`), or `--teacher` names a trained one.
- Heterogeneous nodes (configs/collab/default.yaml: camera, radar, GPS + beam history nodes at AP1):
  local-only, central-kd, edge-kd, fed-distill, ensemble-to-central, mutual; same rounds and
  local epochs for all, so each node's gain over local-only is the gain of collaborating.
- Same student on four Dirichlet shares of AP1 (configs/collab/same-student.yaml): fedavg vs
  fed-distill at equal rounds: uplink bytes ratio and top-5 difference.
- Scale: 16 nodes at AP1 (IID shares, camera / radar / GPS students cycled), fed-distill, 3 rounds, timed.
Every accuracy is on each node's test split; finished runs (results.json) are reused.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kdcs.collab import CollabConfig  # noqa: E402
from kdcs.config import load_config  # noqa: E402
from kdcs.data.demo_data import ensure_scenario  # noqa: E402
from kdcs.distill.run_config import RunConfig  # noqa: E402
from kdcs.jobs.collab import run_collab  # noqa: E402
from kdcs.jobs.train import METRICS_JSON, run_training  # noqa: E402

HETEROGENEOUS = ("local-only", "central-kd", "edge-kd", "fed-distill", "ensemble-to-central", "mutual")
SAME_STUDENT = ("local-only", "fedavg", "fed-distill")
PARTS = ("hetero", "same", "scale")
CONFIGS = REPO / "configs" / "collab"
SCALE_STUDENTS = (  # cycled over the 16 nodes: the cheapest student for each sensor of AP1
    "{architecture: gps-beam-student}",
    "{architecture: paper-student, modalities: [camera_motion, beam_history]}",
    "{architecture: radar-student, modalities: [radar, beam_history]}",
)


def train_teacher(work: Path, base: list[str]) -> Path:
    """The default config's central teacher, trained once (reused when its metrics.json exists)."""
    folder = work / "teacher"
    if not (folder / METRICS_JSON).is_file():
        collab = load_config(CollabConfig(), CONFIGS / "default.yaml", base)
        config = RunConfig(
            name="teacher", data=collab.data, model=collab.central.model, train=collab.central.train
        )
        run_training(load_config(config, overrides=[f"data.ap={collab.central.ap}"]), folder)
    return folder


def collab_run(work: Path, label: str, config_file: Path, overrides: list[str]) -> dict:
    folder = work / label
    if (folder / "results.json").is_file():
        return json.loads((folder / "results.json").read_text())
    config = load_config(CollabConfig(), config_file, [*overrides, f"name={label}"])
    return run_collab(config, folder)


def scale_overrides() -> list[str]:
    """16 nodes at the centre's AP (IID shares of its training sequences), sensors cycled."""
    nodes = [
        f"{{name: n{k:02d}, ap: ap1, partition: iid, model: {SCALE_STUDENTS[k % len(SCALE_STUDENTS)]}}}"
        for k in range(16)
    ]
    return [f"nodes=[{', '.join(nodes)}]", "protocol=fed-distill", "rounds=3", "local_epochs=1"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("runs/bench-collab"))
    parser.add_argument("--teacher", type=Path, help="a trained central teacher (kdcs train run folder)")
    parser.add_argument("--scenario", type=Path, help="the default scenario, if already synthesized")
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS)
    parser.add_argument("--protocols", nargs="+", default=list(HETEROGENEOUS), choices=HETEROGENEOUS)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    scenario = args.scenario or ensure_scenario(args.work / "scenario")[0]
    base = [f"data.scenario={scenario}", f"data.cache_root={args.work / 'cache'}"]
    summary: dict = {}
    if {"hetero", "scale"} & set(args.parts):
        teacher = args.teacher or train_teacher(args.work, base)
        base_kd = [*base, f"central.teacher={teacher}"]
    if "hetero" in args.parts:
        runs = {
            p: collab_run(args.work, f"hetero-{p}", CONFIGS / "default.yaml", [*base_kd, f"protocol={p}"])
            for p in dict.fromkeys(["local-only", *args.protocols])  # local-only is the yardstick
        }
        summary["heterogeneous"] = report_heterogeneous(runs)
    if "same" in args.parts:
        runs = {
            p: collab_run(args.work, f"same-{p}", CONFIGS / "same-student.yaml", [*base, f"protocol={p}"])
            for p in SAME_STUDENT
        }
        summary.update(report_same_student(runs))
    if "scale" in args.parts:
        result = collab_run(args.work, "scale-16", CONFIGS / "default.yaml", [*base_kd, *scale_overrides()])
        summary["scale"] = {
            "nodes": len(result["nodes"]),
            "rounds": result["rounds"],
            "seconds": result["seconds"],
        }
        print(
            f"\nScale: {len(result['nodes'])} nodes, {result['rounds']} rounds of fed-distill in {result['seconds']:.0f} s"
        )
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1))


def node_means(results: dict) -> dict[str, dict[str, float]]:
    return {
        name: {"top1": entry["test"]["top1_mean"], "top5": entry["test"]["top5_mean"]}
        for name, entry in {**results["nodes"], **results["central"]}.items()
    }


def report_heterogeneous(runs: dict) -> dict:
    alone = node_means(runs["local-only"])
    print("\nHeterogeneous nodes (test split; top-1 / top-5 mean over slots; gain = top-1 over local-only)")
    print(
        f"{'protocol':20} {'node':16} {'model':40} {'top-1':>6} {'top-5':>6} {'gain':>7} {'up B':>12} {'down B':>12}"
    )
    for protocol, results in runs.items():
        by_node = results["bytes"]["by_node"]
        for name, entry in {**results["nodes"], **results["central"]}.items():
            model = f"{entry['architecture']} ({'+'.join(entry['modalities'])})"
            t1, t5 = entry["test"]["top1_mean"], entry["test"]["top5_mean"]
            gain = f"{t1 - alone[name]['top1']:+.3f}" if name in alone else ""
            sent = by_node.get(name, {"up": 0, "down": 0})
            print(
                f"{protocol:20} {name:16} {model:40} {t1:6.3f} {t5:6.3f} {gain:>7} {sent['up']:12,} {sent['down']:12,}"
            )
        total = results["bytes"]
        print(
            f"{protocol:20} {'total':16} {'':40} {'':6} {'':6} {'':7} {total['up']:12,} {total['down']:12,}"
        )
    return {p: node_means(r) | {"bytes": r["bytes"]} for p, r in runs.items()}


def report_same_student(runs: dict) -> dict:
    print("\nSame student (paper-student, camera motion + beam history) on four Dirichlet shares of AP1")
    means = {}
    for protocol, results in runs.items():
        nodes = node_means(results).values()
        means[protocol] = {k: sum(m[k] for m in nodes) / len(nodes) for k in ("top1", "top5")}
        print(
            f"{protocol:12} mean over nodes top-1 {means[protocol]['top1']:.3f} top-5 {means[protocol]['top5']:.3f}"
            f"  up {results['bytes']['up']:,} B  down {results['bytes']['down']:,} B"
        )
    ratio = runs["fedavg"]["bytes"]["up"] / max(runs["fed-distill"]["bytes"]["up"], 1)
    top5_gap = means["fed-distill"]["top5"] - means["fedavg"]["top5"]
    print(f"fedavg / fed-distill uplink: {ratio:.1f}x; top-5 fed-distill - fedavg: {top5_gap:+.3f}")
    return {
        "same_student": {p: means[p] | {"bytes": r["bytes"]} for p, r in runs.items()},
        "fedavg_over_fed_distill_uplink": ratio,
        "top5_fed_distill_minus_fedavg": top5_gap,
    }


if __name__ == "__main__":
    main()
