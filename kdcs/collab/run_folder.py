"""The run folder of one collaborative run, written the same way by both engines.

It holds config.yaml (the resolved config), rounds.csv (per round per node: status,
validation top-1/top-5, bytes down/up, seconds, reason when missing or rejected), ledger.csv
(every transfer), results.json (final per-node test evaluation, byte totals, rounds, who was
missing) and nodes/<name>/<step>/ (the trainer's folders of every local step). The Flower
engine (kdcs.collab.flower) writes the same files through the same functions, plus flower/; the
local engine is `kdcs.collab.local_engine`, and `kdcs.jobs.collab` picks one.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

import yaml

from kdcs.atomic_files import write_json_atomically, write_text_atomically
from kdcs.collab.centre import Centre
from kdcs.collab.config import CollabConfig, payload_codec
from kdcs.collab.ledger import ByteLedger
from kdcs.collab.node import CollabNode
from kdcs.config import to_dict
from kdcs.models.zoo import count_parameters

RESULTS_JSON = "results.json"
ROUNDS_CSV = "rounds.csv"
LEDGER_CSV = "ledger.csv"
CONFIG_YAML = "config.yaml"


def refuse_finished_run(run_dir: Path) -> None:
    """A run folder holding a finished run is never overwritten."""
    if (Path(run_dir) / RESULTS_JSON).exists():
        raise FileExistsError(f"{run_dir} already holds a finished collab run; choose a new run folder")


def write_run_config(config: CollabConfig, run_dir: Path) -> Path:
    """config.yaml: the resolved config (the Flower engine's processes read it back)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / CONFIG_YAML
    write_text_atomically(path, yaml.safe_dump(to_dict(config), sort_keys=False))
    return path


def collab_results(
    config: CollabConfig,
    seconds: float,
    nodes: dict[str, dict[str, Any]],
    central: dict[str, dict[str, Any]],
    centre: Centre,
    ledger: ByteLedger,
) -> dict[str, Any]:
    """results.json: what ran, every node's final test evaluation (`node_result`), the byte totals."""
    return {
        "name": config.name,
        "protocol": config.protocol,
        "engine": config.engine,
        "runner": config.runner,
        "payload_encoding": payload_codec(config)[0],
        "rounds": config.rounds,
        "seconds": round(seconds, 2),
        "nodes": nodes,
        "central": central,
        "teacher_val": _means(centre.teacher_val) if centre.teacher_val else None,
        "proxy": {"source": config.proxy, **(centre.twin.report if centre.twin is not None else {})},
        "bytes": ledger.totals(),
        **({"diagnostics": centre.diagnostics} if centre.diagnostics else {}),
    }


def write_run_outputs(run_dir: Path, results: dict[str, Any], rows: list[dict], ledger: ByteLedger) -> None:
    """rounds.csv, ledger.csv, then results.json last: its presence means the run finished."""
    write_rows(run_dir / ROUNDS_CSV, rows)
    ledger.to_csv(run_dir / LEDGER_CSV)
    write_json_atomically(run_dir / RESULTS_JSON, results)


def node_result(node: CollabNode, config: CollabConfig) -> dict[str, Any]:
    """The node's deployed model on its test split, with what it is."""
    test = node.evaluate("test")
    node_config = next((n for n in config.nodes if n.name == node.name), None)
    return {
        "ap": (node_config.ap if node_config and node_config.ap else config.central.ap),
        "architecture": node.model.config.architecture,
        "modalities": list(node.modalities),
        "parameters": count_parameters(node.model),
        "train_windows": len(node.data.windows["train"]),
        "test": {
            **_means(test),
            "top1_per_slot": test["top1"]["per_slot"],
            "num_windows": test["num_windows"],
        },
    }


def _means(summary: dict[str, Any]) -> dict[str, float]:
    return {f"{k}_mean": v["mean"] for k, v in summary.items() if isinstance(v, dict) and "mean" in v}


def write_rows(path: Path, rows: list[dict]) -> None:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    write_text_atomically(path, buffer.getvalue())


def results_table(results: dict[str, Any]) -> str:
    """A markdown table of one run: per node top-1 / top-5 on test, then the byte totals."""
    lines = [
        f"### {results['protocol']} ({results['payload_encoding']}, {results['rounds']} rounds)",
        "",
        "| node | model | top-1 | top-5 | up bytes | down bytes |",
        "|---|---|---|---|---|---|",
    ]
    by_node = results["bytes"]["by_node"]
    for label, entry in {**results["nodes"], **results["central"]}.items():
        sent = by_node.get(label, {"up": 0, "down": 0})
        if "test" not in entry:  # a Flower node that did not answer the final evaluation
            lines.append(
                f"| {label} | missing: {entry.get('reason', '')} | | | {sent['up']:,} | {sent['down']:,} |"
            )
            continue
        lines.append(
            f"| {label} | {entry['architecture']} ({'+'.join(entry['modalities'])}) | "
            f"{entry['test']['top1_mean']:.3f} | {entry['test']['top5_mean']:.3f} | {sent['up']:,} | {sent['down']:,} |"
        )
    lines.append(f"| **total** | | | | {results['bytes']['up']:,} | {results['bytes']['down']:,} |")
    return os.linesep.join(lines)
