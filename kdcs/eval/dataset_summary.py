"""What `kdcs data inspect` reports: counts, windows per split, beam statistics and floors.

Works on the sample table alone (beams and sequences), so a dataset can be inspected before
any cache exists. Floors are scored on every split so a model's test numbers have their
baseline on the same windows.
"""

from __future__ import annotations

import numpy as np

from kdcs.data.partition import split_sequences, windows_in_sequences
from kdcs.data.table import SampleTable
from kdcs.data.windows import WindowSpec, build_windows
from kdcs.eval.floors import floor_rankings
from kdcs.eval.metrics import topk_accuracy

FLOOR_KS = (1, 3, 5)


def beam_change_stats(table: SampleTable) -> dict:
    """How fast the optimal beam moves between consecutive samples of the same sequence."""
    same_seq = table.seq_index[1:] == table.seq_index[:-1]
    step = np.abs(np.diff(table.beam))[same_seq]
    if step.size == 0:
        return {"steps": 0}
    bins = {"0": step == 0, "1": step == 1, "2": step == 2, "3-5": (step >= 3) & (step <= 5), ">5": step > 5}
    return {
        "steps": int(step.size),
        "change_rate": float((step > 0).mean()),
        "mean_abs_change": float(step.mean()),
        "abs_change_fractions": {k: float(v.mean()) for k, v in bins.items()},
    }


def modality_counts(table: SampleTable) -> dict[str, int]:
    """Samples carrying each modality (all rows of a table share its modalities)."""
    return {m: len(table) for m in table.modalities}


def floor_scores(table: SampleTable, ends: np.ndarray, spec: WindowSpec) -> dict:
    """Top-k per slot of every floor on the windows ending at `ends`."""
    if len(ends) == 0:
        return {}
    targets = table.beam[ends[:, None] + np.arange(spec.horizon + 1)[None, :]]  # [W, J+1]
    rankings = floor_rankings(table.beam, table.seq_index, ends, spec.history, spec.horizon, table.num_beams)
    out = {}
    for name, ranked in rankings.items():
        acc = topk_accuracy(ranked, targets, ks=FLOOR_KS)
        out[name] = {f"top{k}": {"per_slot": v.tolist(), "mean": float(v.mean())} for k, v in acc.items()}
    return out


def summarize_dataset(
    table: SampleTable, spec: WindowSpec, fractions: tuple[float, float, float] = (0.7, 0.1, 0.2)
) -> dict:
    """Everything `inspect` prints, as a JSON-ready dict."""
    windows = build_windows(table.seq_index, spec)
    splits = split_sequences(table.sequences, fractions)
    per_split = {}
    for split_name, seq_ids in splits.items():
        ends = windows_in_sequences(windows, seq_ids).end_rows
        per_split[split_name] = {
            "sequences": len(seq_ids),
            "windows": int(len(ends)),
            "floors": floor_scores(table, ends, spec),
        }
    lengths = [stop - start for _, start, stop in table.sequence_bounds()]
    return {
        "name": table.name,
        "root": str(table.root),
        "samples": len(table),
        "sequences": len(lengths),
        "sequence_length": {
            "min": int(min(lengths)),
            "max": int(max(lengths)),
            "mean": float(np.mean(lengths)),
        },
        "modalities": modality_counts(table),
        "beam_source": table.beam_source,
        "num_beams": table.num_beams,
        "beam_histogram": np.bincount(table.beam, minlength=table.num_beams).tolist(),
        "beam_changes": beam_change_stats(table),
        "window_spec": {"history": spec.history, "horizon": spec.horizon},
        "windows_total": len(windows),
        "short_sequences": list(windows.short_sequences),
        "splits": per_split,
        "skipped_rows": [vars(s) for s in table.skipped],
        "notes": list(table.notes),
    }
