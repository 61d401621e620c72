"""Figures without pyplot: a matplotlib Figure on the Agg canvas, saved atomically as PNG.

No global backend switch and no pyplot state, so plotting works headless, in worker processes and
in tests, and needs no MPLCONFIGDIR.
"""

from __future__ import annotations

import io
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from kdcs.atomic_files import write_bytes_atomically

DPI = 110
# one colour per recipe / group, stable across figures
PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#7f7f7f",
    "#bcbd22",
)


def new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save_png(figure: Figure, path: Path) -> Path:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomically(path, buffer.getvalue())
    return path


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]
