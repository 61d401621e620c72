"""`replay`: run a BeamTracker over a scenario folder slot by slot, as an access point would.

Each row of the scenario is one slot: its raw files are preprocessed on the fly
(`kdcs.deploy.observations`), fed to the tracker, and the top-k beams for t..t+J are written with
the slot's latency. Inputs can be dropped on purpose (`drop_rate`) to exercise the missing-input
policy; files that fail to decode count as dropped too. The tracker restarts at every sequence.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np

from kdcs.atomic_files import write_text_atomically
from kdcs.data.deepsense.reader import read_scenario
from kdcs.data.preprocess import PreprocessConfig
from kdcs.deploy.export_metadata import METADATA_FILE, read_metadata
from kdcs.deploy.observations import SlotObservationReader
from kdcs.deploy.source import DeployError
from kdcs.deploy.tracker import BeamTracker, SlotPrediction

BACKENDS = ("onnx", "torch")


def _tracker(
    source: Path, backend: str, precision: str, options: dict[str, Any]
) -> tuple[BeamTracker, PreprocessConfig | None]:
    """The tracker and the preprocessing recorded with an export (None for a checkpoint)."""
    is_export = (Path(source) / METADATA_FILE).is_file()
    if backend not in BACKENDS:
        raise DeployError(f"unknown backend {backend!r}; known: {BACKENDS}")
    if backend == "onnx":
        if not is_export:
            raise DeployError(
                f"{source} is not an export folder; run `kdcs export` first or use backend 'torch'"
            )
        preprocess = PreprocessConfig.from_dict(read_metadata(source)["preprocessing"]["config"])
        return BeamTracker.from_export(source, precision=precision, **options), preprocess
    if is_export:  # the export records its source checkpoint: run that on PyTorch
        metadata = read_metadata(source)
        preprocess = PreprocessConfig.from_dict(metadata["preprocessing"]["config"])
        return BeamTracker.from_checkpoint(Path(metadata["source"]["checkpoint"]), **options), preprocess
    return BeamTracker.from_checkpoint(source, **options), None


def _default_preprocess(specs: dict[str, Any]) -> PreprocessConfig:
    """The cache defaults at the sizes the model reads (for a checkpoint, which records no preprocessing)."""
    sizes = {}
    for modality in ("camera", "camera_motion"):
        if modality in specs:
            sizes["camera_size"] = specs[modality].shape
    if "radar" in specs:
        sizes["radar_size"] = specs["radar"].shape
    return PreprocessConfig(**sizes)


def _dropped(
    rng: np.random.Generator, drop_rate: dict[str, float], modalities: tuple[str, ...]
) -> frozenset[str]:
    return frozenset(m for m in modalities if drop_rate.get(m, 0.0) > 0 and rng.random() < drop_rate[m])


def _row_record(table, row: int, prediction: SlotPrediction, horizon: int) -> dict[str, Any]:
    record = {
        "seq_index": int(table.seq_index[row]),
        "index": int(table.index[row]),
        "beam": int(table.beam[row]),
        "ready": int(prediction.ready),
        "latency_ms": round(prediction.latency_ms, 4),
        "missing": ";".join(prediction.missing),
    }
    for slot in range(horizon + 1):
        beams = prediction.top_k[slot] if prediction.ready else []
        record[f"top_k_t{slot}"] = " ".join(str(int(b)) for b in beams)
    return record


def _write_csv(path: Path, records: list[dict[str, Any]]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=list(records[0]) if records else ["seq_index"])
    writer.writeheader()
    writer.writerows(records)
    write_text_atomically(path, buffer.getvalue())


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"median": None, "p95": None}
    return {"median": float(np.median(values)), "p95": float(np.percentile(values, 95))}


def replay(
    scenario: Path,
    source: Path,
    *,
    backend: str = "onnx",
    precision: str = "fp32",
    missing_policy: str = "hold",
    top_k: int = 3,
    out_csv: Path | None = None,
    drop_rate: dict[str, float] | None = None,
    seed: int = 0,
    threads: int = 1,
    preprocess: PreprocessConfig | None = None,
) -> dict[str, Any]:
    """Replay `scenario` through a tracker built from `source` (export folder or checkpoint).

    backend "onnx" needs an export folder; "torch" takes a checkpoint or an export folder (whose
    source checkpoint it runs). drop_rate: modality -> probability that a slot's input is dropped.
    Output: summary dict (slots, predictions, latency_ms {median, p95}, missing counts, top-1
    accuracy of slot t, ...); out_csv gets one row per slot.
    """
    options = {"missing_policy": missing_policy, "top_k": top_k}
    if backend == "onnx":
        options["threads"] = threads
    tracker, recorded = _tracker(Path(source), backend, precision, options)
    # a slot whose camera, radar or GPS file is missing or unreadable is a missing reading, held
    # or zeroed per the policy and counted, not a reason to refuse the whole replay
    table = read_scenario(Path(scenario), check_images=False, sensor_cells_may_fail=True)
    model_backend = tracker.backend
    preprocess = preprocess or recorded or _default_preprocess(dict(model_backend.input_specs))
    reader = SlotObservationReader(table, tracker.modalities, preprocess, model_backend.num_beams)
    rng, drop_rate = np.random.default_rng(seed), dict(drop_rate or {})
    records, latencies, hits = [], [], []
    for _, start, stop in table.sequence_bounds():
        tracker.reset()
        reader.start_sequence()
        for row in range(start, stop):
            observation = reader.read(row, _dropped(rng, drop_rate, tracker.modalities))
            prediction = tracker.step(observation)
            latencies.append(prediction.latency_ms)
            if prediction.ready:
                hits.append(int(prediction.top_k[0, 0]) == int(table.beam[row]))
            records.append(_row_record(table, row, prediction, model_backend.horizon))
    if out_csv is not None:
        _write_csv(out_csv, records)
    ready_latencies = [r["latency_ms"] for r in records if r["ready"]]
    return {
        "scenario": str(table.root),
        "backend": model_backend.name,
        "precision": precision if model_backend.name == "onnx" else "fp32",
        "missing_policy": missing_policy,
        "slots": len(records),
        "sequences": len(table.sequence_bounds()),
        "predictions": len(hits),
        "latency_ms": _percentiles(latencies),
        "latency_ms_full_window": _percentiles(ready_latencies),
        "top1_current_slot": float(np.mean(hits)) if hits else None,
        "tracker": tracker.stats.to_dict(),
        "decode_failures": dict(reader.decode_failures),
        "out_csv": str(out_csv) if out_csv is not None else None,
    }
