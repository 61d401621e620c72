"""One scene over time: camera frames, radar range-angle maps, the 64-beam received power, the true
beam and a trained model's top-5 predictions over consecutive test slots.

Predictions shown are for the current slot t of the window ending at each slot (what the AP would
steer to without a sweep).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from kdcs.distill.prediction import predict
from kdcs.eval.metrics import rank_scores
from kdcs.experiments.report.plots.figures import new_figure, save_png

SNAPSHOTS = 6  # camera / radar frames shown above the beam panel


def scene_windows(data: Any, slots: int) -> Any:
    """The first `slots` test windows of the test sequence with the most windows (consecutive slots)."""
    test = data.windows["test"]
    sequences, counts = np.unique(test.seq_ids, return_counts=True)
    chosen = sequences[np.argmax(counts)]
    positions = np.flatnonzero(test.seq_ids == chosen)[:slots]
    return test.subset(positions)


def predict_scene(model: Any, data: Any, windows: Any) -> np.ndarray:
    """[N, 5] top-5 beams (best first) of `model` at the current slot of each window."""
    view = dataclasses.replace(data, windows={**data.windows, "test": windows})
    predictions = predict(model, view.batcher("test", tuple(model.modalities), 64))
    return rank_scores(predictions.logits[:, 0], k=5)  # [N, 5]


def plot_scene(model: Any, model_id: str, data: Any, slots: int, path: Path) -> Path:
    windows = scene_windows(data, slots)
    rows = windows.end_rows
    top5 = predict_scene(model, data, windows)
    arrays = data.cache.arrays
    images = [name for name in ("camera", "radar") if name in arrays]
    figure = new_figure(12, 2.1 * len(images) + 4.2)
    grid = figure.add_gridspec(len(images) + 1, SNAPSHOTS, height_ratios=[1.0] * len(images) + [2.0])
    picks = np.unique(np.linspace(0, len(rows) - 1, SNAPSHOTS).round().astype(int))
    for row_index, name in enumerate(images):
        for column, pick in enumerate(picks):
            ax = figure.add_subplot(grid[row_index, column])
            frame = np.asarray(arrays[name][rows[pick]], dtype=np.float32)
            ax.imshow(
                frame,
                cmap="gray" if name == "camera" else "viridis",
                aspect="auto",
                origin="upper" if name == "camera" else "lower",
            )
            ax.set_xticks([])
            ax.set_yticks([])
            if column == 0:
                ax.set_ylabel(
                    "camera (grayscale)" if name == "camera" else "radar\n(range x angle, dB)", fontsize=8
                )
            ax.set_title(f"slot {pick}", fontsize=8)
    _beam_panel(figure.add_subplot(grid[len(images), :]), arrays, rows, top5)
    hits = int((top5[:, 0] == np.asarray(arrays["beam"])[rows]).sum())
    in_top5 = int((top5 == np.asarray(arrays["beam"])[rows][:, None]).any(axis=1).sum())
    figure.suptitle(
        f"Test sequence {int(windows.seq_ids[0])}, {len(rows)} consecutive slots; {model_id}: "
        f"top-1 right {hits}/{len(rows)}, true beam in top-5 {in_top5}/{len(rows)}"
    )
    return save_png(figure, path)


def _beam_panel(ax: Any, arrays: Any, rows: np.ndarray, top5: np.ndarray) -> None:
    slots = np.arange(len(rows))
    beams = np.asarray(arrays["beam"])[rows]
    if "power" in arrays:
        power = np.asarray(arrays["power"], dtype=np.float64)[rows]  # [N, 64] linear
        db = 10 * np.log10(np.maximum(power / power.max(axis=1, keepdims=True), 1e-6))
        image = ax.imshow(
            db.T,
            origin="lower",
            aspect="auto",
            cmap="magma",
            vmin=-30,
            vmax=0,
            extent=(-0.5, len(rows) - 0.5, -0.5, db.shape[1] - 0.5),
        )
        ax.figure.colorbar(image, ax=ax, label="power vs best beam (dB)", pad=0.01)
    for rank in range(top5.shape[1] - 1, 0, -1):
        ax.scatter(
            slots,
            top5[:, rank],
            s=18,
            facecolors="none",
            edgecolors="#7fd3ff",
            linewidths=0.9,
            label="top-2..5" if rank == 1 else None,
            zorder=3,
        )
    ax.scatter(
        slots,
        top5[:, 0],
        s=40,
        marker="x",
        color="#00e5ff",
        linewidths=1.6,
        label="predicted top-1",
        zorder=4,
    )
    ax.plot(slots, beams, color="white", lw=1.0, marker="o", ms=3, label="true beam", zorder=2)
    ax.set_xlabel("slot")
    ax.set_ylabel("beam index")
    ax.set_xlim(-0.5, len(rows) - 0.5)
    ax.legend(fontsize=7, loc="upper right", facecolor="0.2", labelcolor="white", framealpha=0.8)
