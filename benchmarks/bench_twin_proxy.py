"""Digital-twin proxy set against the centre's real proxy set: fed-distill (and mutual) on the default
scenario, same nodes, same shares, same seeds; only where the proxy windows come from differs.

Run: .venv/bin/python benchmarks/bench_twin_proxy.py [--work runs/bench-twin] [--seeds 0 1 2]
     [--protocols fed-distill mutual] [--scenario5 ../shared/data/deepsense/scenario5]
     [--set key=value ...] [--json out.json]

Nodes: configs/collab/same-student.yaml (four Dirichlet shares of AP1's training sequences) with the GPS +
beam-history student at every node. `proxy: real` reads the centre's reserved sequences; `proxy: twin`
writes the site's twin (another seed, `twin_sequences` passes) once under --work and reads its windows.
The reserved sequences stay out of the nodes' pool in both, so each seed pairs the same shares.
With --scenario5: configs/collab/scenario5-dirichlet.yaml on the real DeepSense scenario 5 (four
beam-history nodes on Dirichlet shares); the site has no manifest, so its twin is fitted from the
centre's reserved training sequences (`kdcs.data.synthetic.site_fit`), and the fit's report is printed.
Printed: mean node test top-1 / top-5 (mean ± std over seeds), the paired top-5 difference, the proxy
inputs' bytes and the twin's synthesis seconds. Finished runs (results.json) are reused.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from bench_kd import mean_std as seed_mean_std  # noqa: E402

from kdcs.collab import CollabConfig  # noqa: E402
from kdcs.config import from_dict, load_config  # noqa: E402
from kdcs.data.demo_data import ensure_scenario  # noqa: E402
from kdcs.data.prepared import DataConfig, prepare_data, select_table  # noqa: E402
from kdcs.data.synthetic import SynthConfig  # noqa: E402
from kdcs.data.synthetic.site_fit import inside_span  # noqa: E402
from kdcs.jobs.collab import run_collab  # noqa: E402

CONFIG = REPO / "configs" / "collab" / "same-student.yaml"
SCENARIO5_CONFIG = REPO / "configs" / "collab" / "scenario5-dirichlet.yaml"
NODES = [
    "student.architecture=gps-beam-student",
    "student.modalities=[gps,beam_history]",
    "train.num_threads=1",
]


def collab_run(folder: Path, overrides: list[str], config: Path = CONFIG) -> dict:
    if (folder / "results.json").is_file():
        return json.loads((folder / "results.json").read_text())
    return run_collab(load_config(CollabConfig(), config, overrides), folder)


def node_means(results: dict) -> tuple[float, float]:
    nodes = list(results["nodes"].values())
    return (
        statistics.mean(n["test"]["top1_mean"] for n in nodes),
        statistics.mean(n["test"]["top5_mean"] for n in nodes),
    )


def proxy_bytes(results: dict) -> int:
    return sum(v for k, v in results["bytes"]["by_kind"].items() if "proxy" in k)


def label_dynamics(beams: np.ndarray, seq_index: np.ndarray) -> str:
    """How the best beam moves from one sample to the next within a pass: mean |change| and how often."""
    steps = np.abs(np.diff(beams))[np.diff(seq_index) == 0]
    return f"mean |beam step| {steps.mean():.2f}, a change on {np.mean(steps > 0):.0%} of steps"


def compare_dynamics(work: Path, scenario: Path, span: list[float]) -> None:
    """The fitted twin's beams inside the recorded span against the real training split's."""
    real = prepare_data(DataConfig(scenario=str(scenario), cache_root=str(work / "cache")))
    rows = np.unique(real.windows["train"].seq_ids)
    table = real.table
    chosen = np.isin(table.seq_index, rows)
    print(f"  real training passes: {label_dynamics(table.beam[chosen], table.seq_index[chosen])}")
    root = work / "twin" / "scenario"
    twin = select_table(DataConfig(scenario=str(root), ap="ap1"))
    site = from_dict(SynthConfig, json.loads((root / "manifest.json").read_text())["config"])
    inside = inside_span(root, site, (span[0], span[1]), twin.index)
    print(f"  twin, all samples:    {label_dynamics(twin.beam, twin.seq_index)}")
    print(f"  twin, inside the span: {label_dynamics(twin.beam[inside], twin.seq_index[inside])}")


def mean_std(values: list[float]) -> str:
    mean, spread = seed_mean_std(values)
    return f"{mean:.3f} ± {spread:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, default=Path("runs/bench-twin"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--protocols", nargs="+", default=["fed-distill"], choices=["fed-distill", "mutual"])
    parser.add_argument("--set", nargs="*", default=[], help="overrides of every run")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--scenario5", type=Path, default=None, help="the real DeepSense scenario 5 instead")
    args = parser.parse_args()
    if args.scenario5 is None:
        scenario, _ = ensure_scenario(args.work / "scenario")
        config, nodes = CONFIG, NODES
    else:
        scenario, config, nodes = args.scenario5.resolve(), SCENARIO5_CONFIG, ["train.num_threads=1"]
    base = [f"data.scenario={scenario}", f"data.cache_root={args.work / 'cache'}", *nodes, *args.set]
    table = {}
    for protocol in args.protocols:
        runs: dict[str, list[dict]] = {"real": [], "twin": []}
        for seed in args.seeds:
            for source in runs:
                extra = [
                    f"protocol={protocol}",
                    f"seed={seed}",
                    f"proxy={source}",
                    f"twin_dir={args.work / 'twin'}",
                ]
                folder = args.work / f"{protocol}-{source}-s{seed}"
                runs[source].append(collab_run(folder, [*base, *extra], config))
                print(f"done {protocol} {source} seed {seed}", flush=True)
        table[protocol] = runs
        print(f"\n{protocol}, mean node test top-1 / top-5 over {len(args.seeds)} seeds")
        for source, results in runs.items():
            top1 = [node_means(r)[0] for r in results]
            top5 = [node_means(r)[1] for r in results]
            twin = results[0].get("proxy", {})
            print(
                f"  proxy {source:4s}  top1 {mean_std(top1)}  top5 {mean_std(top5)}  "
                f"proxy inputs {proxy_bytes(results[0]):,} B  {twin.get('windows', '')} windows"
            )
        fit = runs["twin"][0].get("proxy", {}).get("site_fit")
        if fit:
            print(f"  twin fitted from the centre's own sequences: {json.dumps(fit)}")
            compare_dynamics(args.work, scenario, fit["span_m"])
        gaps = [node_means(t)[1] - node_means(r)[1] for r, t in zip(runs["real"], runs["twin"], strict=True)]
        print(f"  twin - real, mean node top-5 (paired by seed): {mean_std(gaps)}")
    if args.json:
        args.json.write_text(json.dumps(table, indent=2))


if __name__ == "__main__":
    main()
