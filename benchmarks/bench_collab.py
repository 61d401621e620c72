"""Collaboration study: does knowledge that flows between nodes beat training alone, and at what bytes?

Run: .venv/bin/python benchmarks/bench_collab.py [--work runs/bench-collab] [--parts synthetic scenario5 bytes]
     [--seeds 0 1 2] [--protocols local-only fedavg ...] [--scenario5 ../shared/data/deepsense/scenario5]
     [--json out.json]

Parts (every accuracy on each node's test split, models selected on the node's own validation windows;
mean ± std over training seeds on one data split; finished runs, those with results.json, are reused):
- synthetic: configs/collab/same-student.yaml on the default synthetic scenario: four GPS + beam-history
  nodes on Dirichlet shares of AP1, one of them data-poor. Every protocol against local-only (mean node
  top-1 / top-5, per-node top-5), fed-distill against fedavg (top-5 gap, uplink ratio), the best epoch
  of each node's training run (the validation plateau), and per-round curves of mean node validation
  top-5 against cumulative uplink bytes (curves-<part>.csv and .png in --work).
- scenario5: the same on real DeepSense scenario 5 (configs/collab/scenario5-dirichlet.yaml).
- bytes: fedavg's, fed-distill's and mutual's uplink per node and round, and the proxy inputs sent
  down once, for three students (gps-beam-student, ds-student, paper-student): measured from the
  payloads of one round of 2 local epochs, fed-distill both as dense fp32 logits and in the default
  encoding (whose bytes grow as the models train: see the full runs' uplink).
- scale: 16 nodes at AP1 (IID shares, camera / radar / GPS students cycled), fed-distill, 3 rounds, timed.
ensemble-to-central's central student is compared with the same student trained on the centre's own
windows alone (the run "central-alone": ensemble-to-central with kd_weight=0).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kdcs.collab import CollabConfig  # noqa: E402
from kdcs.config import load_config  # noqa: E402
from kdcs.data.demo_data import ensure_scenario  # noqa: E402
from kdcs.experiments.report.plots.figures import colour, new_figure, save_png  # noqa: E402
from kdcs.jobs.collab import run_collab  # noqa: E402

CONFIGS = REPO / "configs" / "collab"
PROTOCOLS = (
    "local-only",
    "fedavg",
    "edge-kd",
    "fed-distill",
    "mutual",
    "ensemble-to-central",
    "central-alone",
)
EXCHANGING = ("edge-kd", "fed-distill", "mutual")  # nodes that receive knowledge (vs local-only)
PARTS = ("synthetic", "scenario5", "bytes", "scale")
BYTES_STUDENTS = {
    "gps-beam-student": [],
    "ds-student": ["student.architecture=ds-student", "student.modalities=[camera_motion,beam_history]"],
    "paper-student": [
        "student.architecture=paper-student",
        "student.modalities=[camera_motion,beam_history]",
    ],
}
SCALE_STUDENTS = (  # cycled over the 16 nodes: the cheapest student for each sensor of AP1
    "{architecture: gps-beam-student}",
    "{architecture: paper-student, modalities: [camera_motion, beam_history]}",
    "{architecture: radar-student, modalities: [radar, beam_history]}",
)


def collab_run(folder: Path, config_file: Path, overrides: list[str]) -> dict:
    if (folder / "results.json").is_file():
        return json.loads((folder / "results.json").read_text())
    config = load_config(CollabConfig(), config_file, [*overrides, f"name={folder.name}"])
    return run_collab(config, folder)


def protocol_overrides(protocol: str) -> list[str]:
    if protocol == "central-alone":  # the centre's student on its own windows, no node knowledge
        return ["protocol=ensemble-to-central", "kd_weight=0"]
    return [f"protocol={protocol}"]


def run_setting(work: Path, config_file: Path, base: list[str], seeds: list[int], protocols) -> dict:
    """{protocol: {seed: results.json}}; each run's folder is kept in results["run_dir"]."""
    runs: dict[str, dict[int, dict]] = {}
    for protocol in protocols:
        for seed in seeds:
            folder = work / f"{protocol}-s{seed}"
            results = collab_run(folder, config_file, [*base, *protocol_overrides(protocol), f"seed={seed}"])
            runs.setdefault(protocol, {})[seed] = {**results, "run_dir": str(folder)}
    return runs


# ----------------------------------------------------------------------------------- summaries


def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def fmt(values: list[float]) -> str:
    mean, std = mean_std(values)
    return f"{mean:.3f} ± {std:.3f}"


def node_means(results: dict, metric: str) -> float:
    nodes = results["nodes"].values()
    return statistics.fmean(entry["test"][f"{metric}_mean"] for entry in nodes)


def best_epochs(results: dict) -> list[tuple[int, int]]:
    """(best epoch, epochs run) of every node's training run (fedavg and central-kd: none)."""
    found = []
    for name in results["nodes"]:
        folder = Path(results["run_dir"]) / "nodes" / name / "training"
        if (folder / "best.json").is_file():
            best = json.loads((folder / "best.json").read_text())["epoch"]
            with (folder / "metrics.csv").open() as handle:
                found.append((best, sum(1 for _ in handle) - 1))
    return found


def summarise(runs: dict) -> dict:
    """Per protocol: mean node top-1 / top-5, per-node top-5, central student, bytes, epochs."""
    summary = {}
    for protocol, by_seed in runs.items():
        results = list(by_seed.values())
        nodes = list(results[0]["nodes"])
        central = results[0]["central"]
        summary[protocol] = {
            "top1": [node_means(r, "top1") for r in results],
            "top5": [node_means(r, "top5") for r in results],
            "node_top5": {n: [r["nodes"][n]["test"]["top5_mean"] for r in results] for n in nodes},
            "node_top1": {n: [r["nodes"][n]["test"]["top1_mean"] for r in results] for n in nodes},
            "train_windows": {n: results[0]["nodes"][n]["train_windows"] for n in nodes},
            "central": {
                label: {
                    m: [r["central"][label]["test"][f"{m}_mean"] for r in results] for m in ("top1", "top5")
                }
                for label in central
            },
            "up": [r["bytes"]["up"] for r in results],
            "down": [r["bytes"]["down"] for r in results],
            "epochs": [pair for r in results for pair in best_epochs(r)],
        }
    return summary


def print_summary(title: str, summary: dict) -> None:
    alone = summary.get("local-only")
    nodes = list(next(iter(summary.values()))["node_top5"])
    windows = next(iter(summary.values()))["train_windows"]
    print(f"\n{title}\nnodes (training windows): " + ", ".join(f"{n} ({windows[n]})" for n in nodes))
    header = f"{'protocol':20} {'mean top-1':>15} {'mean top-5':>15} " + " ".join(
        f"{n + ' top-5':>15}" for n in nodes
    )
    print(header + f" {'uplink B':>11} {'downlink B':>11} {'best epoch / run':>17}")
    for protocol, entry in summary.items():
        epochs = entry["epochs"]
        plateau = f"{statistics.fmean(b for b, _ in epochs):.1f} / {epochs[0][1]}" if epochs else "-"
        cells = " ".join(f"{fmt(entry['node_top5'][n]):>15}" for n in nodes)
        print(
            f"{protocol:20} {fmt(entry['top1']):>15} {fmt(entry['top5']):>15} {cells} "
            f"{statistics.fmean(entry['up']):11,.0f} {statistics.fmean(entry['down']):11,.0f} {plateau:>17}"
        )
        for label, scores in entry["central"].items():
            print(f"{'  ' + label:20} {fmt(scores['top1']):>15} {fmt(scores['top5']):>15}")
    if alone is None:
        return
    print("against local-only (mean over seeds; every node's top-5 must rise too):")
    for protocol in (p for p in EXCHANGING if p in summary):
        entry = summary[protocol]
        gains = {
            n: statistics.fmean(entry["node_top5"][n]) - statistics.fmean(alone["node_top5"][n])
            for n in nodes
        }
        top1 = statistics.fmean(entry["top1"]) - statistics.fmean(alone["top1"])
        top5 = statistics.fmean(entry["top5"]) - statistics.fmean(alone["top5"])
        beats = top1 > 0 and top5 > 0 and all(g > 0 for g in gains.values())
        per_node = ", ".join(f"{n} {g:+.3f}" for n, g in gains.items())
        print(
            f"  {protocol:18} top-1 {top1:+.3f} top-5 {top5:+.3f}; top-5 per node {per_node}: {'MET' if beats else 'MISSED'}"
        )
    if "ensemble-to-central" in summary and "central-alone" in summary:
        taught = summary["ensemble-to-central"]["central"]["central-student"]
        bare = summary["central-alone"]["central"]["central-student"]
        print(
            f"  central student: top-1 {statistics.fmean(taught['top1']) - statistics.fmean(bare['top1']):+.3f}, "
            f"top-5 {statistics.fmean(taught['top5']) - statistics.fmean(bare['top5']):+.3f} over the same student alone"
        )
    if "fedavg" in summary and "fed-distill" in summary:
        gap = statistics.fmean(summary["fed-distill"]["top5"]) - statistics.fmean(summary["fedavg"]["top5"])
        ratio = statistics.fmean(summary["fed-distill"]["up"]) / statistics.fmean(summary["fedavg"]["up"])
        met = gap >= -0.02 and ratio <= 0.2
        print(
            f"  fed-distill vs fedavg: mean node top-5 {gap:+.3f}, uplink {ratio:.4f} of fedavg's "
            f"(target: within 2 points at <= 1/5): {'MET' if met else 'MISSED'}"
        )


# ----------------------------------------------------------------------------------- curves


def round_curve(run_dir: Path, nodes: list[str]) -> list[tuple[float, float]]:
    """(cumulative uplink bytes, mean node validation top-5) after each round, from rounds.csv."""
    with (run_dir / "rounds.csv").open() as handle:
        rows = [row for row in csv.DictReader(handle) if row["node"] in nodes]
    sent, points = 0.0, []
    for number in sorted({int(row["round"]) for row in rows}):
        played = [row for row in rows if int(row["round"]) == number]
        sent += sum(float(row["up_bytes"] or 0) for row in played)
        scores = [float(row["val_top5"]) for row in played if row["status"] == "ok" and row["val_top5"]]
        if scores:
            points.append((sent, statistics.fmean(scores)))
    return points


def write_curves(runs: dict, work: Path, name: str) -> None:
    """curves-<name>.csv (protocol, seed, round, cumulative uplink, mean node val top-5) and a plot."""
    rows, figure = [], new_figure(7.2, 4.6)
    ax = figure.subplots()
    for index, (protocol, by_seed) in enumerate(runs.items()):
        for seed, results in by_seed.items():
            points = round_curve(Path(results["run_dir"]), list(results["nodes"]))
            rows += [(protocol, seed, k + 1, up, top5) for k, (up, top5) in enumerate(points)]
            label = protocol if seed == min(by_seed) else None
            ax.plot(
                [max(u, 1.0) for u, _ in points],
                [t for _, t in points],
                marker="o",
                ms=3,
                lw=1,
                color=colour(index),
                alpha=0.8,
                label=label,
            )
    with (work / f"curves-{name}.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["protocol", "seed", "round", "cumulative_uplink_bytes", "mean_node_val_top5"])
        writer.writerows(rows)
    ax.set_xscale("log")
    ax.set_xlabel("uplink bytes sent so far, all nodes (log)")
    ax.set_ylabel("mean node validation top-5")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    ax.set_title(f"{name}: accuracy against cumulative uplink, per round (one line per seed)")
    save_png(figure, work / f"curves-{name}.png")


# ----------------------------------------------------------------------------------- parts


def reply_bytes(results: dict, kind: str) -> float:
    """Mean bytes of one node's `kind` replies in one round (acks excluded)."""
    return results["bytes"]["by_kind"].get(f"up:{kind}", 0) / (len(results["nodes"]) * results["rounds"])


def bytes_part(work: Path, base: list[str]) -> dict:
    """Uplink per node and round of fedavg, fed-distill and mutual, per student: weights (fp32), dense
    fp32 proxy logits (the same for any student), and the default encoding's logits after one round of
    2 local epochs (sqrt-lzma's bytes depend on the logits: a trained model's cost more)."""
    table = {}
    print(
        "\nBytes per node and round (one round of 2 local epochs; weights fp32, logits dense fp32 and default)"
    )
    print(
        f"{'student':18} {'parameters':>10} {'fedavg up':>11} {'fp32 logits':>11} {'fed-distill up':>15} "
        f"{'mutual up':>11} {'fd/fedavg':>9} {'proxy inputs down (once)':>25}"
    )
    for student, overrides in BYTES_STUDENTS.items():
        found = {}
        for label, extra in (
            ("fedavg", ["protocol=fedavg"]),
            ("dense", ["protocol=fed-distill", "payload_encoding=fp32"]),
            ("fed-distill", ["protocol=fed-distill"]),
            ("mutual", ["protocol=mutual"]),
        ):
            found[label] = collab_run(
                work / f"bytes-{student}-{label}",
                CONFIGS / "same-student.yaml",
                [*base, *overrides, *extra, "rounds=1", "local_epochs=2"],
            )
        ups = {
            label: reply_bytes(r, "weights" if label == "fedavg" else "logits") for label, r in found.items()
        }
        nodes = len(found["fed-distill"]["nodes"])
        proxy = found["fed-distill"]["bytes"]["by_kind"].get("down:proxy_inputs", 0) / nodes
        parameters = next(iter(found["fedavg"]["nodes"].values()))["parameters"]
        ratio = ups["fed-distill"] / ups["fedavg"]
        table[student] = {"parameters": parameters, **ups, "proxy_inputs_down": proxy, "ratio": ratio}
        print(
            f"{student:18} {parameters:10,} {ups['fedavg']:11,.0f} {ups['dense']:11,.0f} "
            f"{ups['fed-distill']:15,.0f} {ups['mutual']:11,.0f} {ratio:9.4f} {proxy:25,.0f}"
        )
    return table


def scale_part(work: Path, base: list[str]) -> dict:
    nodes = [
        f"{{name: n{k:02d}, ap: ap1, partition: iid, model: {SCALE_STUDENTS[k % len(SCALE_STUDENTS)]}}}"
        for k in range(16)
    ]
    overrides = [f"nodes=[{', '.join(nodes)}]", "protocol=fed-distill", "rounds=3", "local_epochs=1"]
    result = collab_run(work / "scale-16", CONFIGS / "default.yaml", [*base, *overrides])
    print(
        f"\nScale: {len(result['nodes'])} nodes, {result['rounds']} rounds of fed-distill in {result['seconds']:.0f} s"
    )
    return {"nodes": len(result["nodes"]), "rounds": result["rounds"], "seconds": result["seconds"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("runs/bench-collab"))
    parser.add_argument("--scenario", type=Path, help="the default scenario, if already synthesized")
    parser.add_argument("--scenario5", type=Path, default=REPO.parent / "shared/data/deepsense/scenario5")
    parser.add_argument("--parts", nargs="+", default=["synthetic", "scenario5", "bytes"], choices=PARTS)
    parser.add_argument("--protocols", nargs="+", default=list(PROTOCOLS), choices=PROTOCOLS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], help="config override (all runs)"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    summary: dict = {}
    if {"synthetic", "bytes", "scale"} & set(args.parts):
        scenario = args.scenario or ensure_scenario(args.work / "scenario")[0]
        base = [f"data.scenario={scenario}", f"data.cache_root={args.work / 'cache'}", *args.overrides]
    if "synthetic" in args.parts:
        runs = run_setting(
            args.work / "synthetic", CONFIGS / "same-student.yaml", base, args.seeds, args.protocols
        )
        summary["synthetic"] = summarise(runs)
        print_summary(
            "Default synthetic scenario, AP1, four GPS + beam-history nodes (Dirichlet)", summary["synthetic"]
        )
        write_curves(runs, args.work, "synthetic")
    if "scenario5" in args.parts:
        if not (args.scenario5 / "scenario5.csv").is_file():
            sys.exit(f"no DeepSense scenario 5 at {args.scenario5} (pass --scenario5)")
        base5 = [
            f"data.scenario={args.scenario5}",
            f"data.cache_root={args.work / 'cache5'}",
            *args.overrides,
        ]
        runs = run_setting(
            args.work / "scenario5", CONFIGS / "scenario5-dirichlet.yaml", base5, args.seeds, args.protocols
        )
        summary["scenario5"] = summarise(runs)
        print_summary("Real DeepSense scenario 5, four beam-history nodes (Dirichlet)", summary["scenario5"])
        write_curves(runs, args.work, "scenario5")
    if "bytes" in args.parts:
        summary["bytes"] = bytes_part(args.work, base)
    if "scale" in args.parts:
        summary["scale"] = scale_part(args.work, base)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
