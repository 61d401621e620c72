"""How hard a written scenario is: beam statistics of the power-file labels, per AP."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kdcs.data.synthetic.files import read_csv


def _line_extrapolation(
    beams: np.ndarray, seq: np.ndarray, history: int, num_beams: int
) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares line through the last `history` beams (same sequence), evaluated one step ahead.

    Input: beams [N] 0-based, seq [N] seq_index (contiguous runs).
    Output: predicted beams [M] (rounded, clipped to 0..num_beams-1) and the true next beams [M].
    """
    predictions, targets = [], []
    cuts = np.flatnonzero(np.diff(seq) != 0) + 1
    for start, stop in zip(np.concatenate([[0], cuts]), np.concatenate([cuts, [len(seq)]]), strict=True):
        for t in range(start, stop - 1):
            past = beams[max(start, t - history + 1) : t + 1].astype(np.float64)
            if len(past) == 1:
                predictions.append(past[0])
            else:
                slope, intercept = np.polyfit(np.arange(len(past)), past, 1)
                predictions.append(intercept + slope * len(past))
            targets.append(beams[t + 1])
    return np.clip(np.rint(predictions), 0, num_beams - 1).astype(np.int64), np.asarray(
        targets, dtype=np.int64
    )


def beam_statistics(beams: np.ndarray, seq_index: np.ndarray, num_beams: int = 64) -> dict[str, float]:
    """Difficulty of one beam sequence set for the simplest trackers.

    Input: beams [N] 0-based optimal beams, seq_index [N] (each sequence one contiguous run).
    Output: beam_change_rate (fraction of consecutive pairs within a sequence whose beam differs),
    repeat_last_top1 / repeat_last_top5 (predict beam t+1 = beam t; "top-5" = within 2 beams),
    mean_abs_beam_step (beams), line_fit_top1 (least-squares line through the last 8 beams).
    """
    same = seq_index[1:] == seq_index[:-1]
    step = np.abs(np.diff(beams))[same]
    line_pred, line_true = _line_extrapolation(beams, seq_index, 8, num_beams)
    return {
        "beam_change_rate": float(np.mean(step != 0)),
        "repeat_last_top1": float(np.mean(step == 0)),
        "repeat_last_top5": float(np.mean(step <= 2)),
        "mean_abs_beam_step": float(np.mean(step)),
        "line_fit_top1": float(np.mean(line_pred == line_true)),
    }


def realism_report(root: Path) -> dict:
    """How hard a written scenario is, per AP, computed from the power files on disk.

    Per AP: the `beam_statistics` of the power-file argmax beams, plus, from the ground truth,
    los_blocked_fraction and geometric_top1 / geometric_top5 (the beam nearest the true
    line-of-sight angle equals the label / is within 2 beams of it: how much geometry alone explains).
    Output: {"num_samples": N, "aps": {name: {statistic: value}}}.
    """
    root = Path(root)
    manifest = json.loads((root / "manifest.json").read_text())
    truth = json.loads((root / manifest["ground_truth_file"]).read_text())["columns"]
    truth_row = {index: row for row, index in enumerate(truth["index"])}
    beam_sines = np.sin(np.asarray(manifest["codebook"]["beam_angles_rad"]))
    report: dict = {"num_samples": manifest["counts"]["num_samples"], "aps": {}}
    for ap in manifest["aps"]:
        folder = root / ap["name"]
        rows = read_csv(folder / f"{ap['name']}.csv")
        beams = np.array(
            [np.argmax(np.loadtxt(folder / row["unit1_pwr_60ghz"])) for row in rows], dtype=np.int64
        )
        seq = np.array([int(row["seq_index"]) for row in rows])
        order = np.array([truth_row[int(row["index"])] for row in rows])
        los_azimuth = np.asarray(truth[f"{ap['name']}_los_azimuth_rad"])[order]
        geometric = np.abs(np.sin(los_azimuth)[:, None] - beam_sines).argmin(axis=1)
        report["aps"][ap["name"]] = {
            **beam_statistics(beams, seq, len(beam_sines)),
            "los_blocked_fraction": float(np.mean(np.asarray(truth[f"{ap['name']}_los_blocked"])[order])),
            "geometric_top1": float(np.mean(geometric == beams)),
            "geometric_top5": float(np.mean(np.abs(geometric - beams) <= 2)),
        }
    return report
