"""`kdcs track`: replay a scenario through the streaming beam tracker, slot by slot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kdcs.deploy.replay import replay


def track(
    scenario: Path,
    model: Path,
    *,
    backend: str = "onnx",
    precision: str = "fp32",
    missing: str = "hold",
    top_k: int = 3,
    out: Path | None = None,
) -> dict[str, Any]:
    """`kdcs.deploy.replay.replay` of `scenario` with the export folder or checkpoint `model`;
    `out` gets one CSV row per slot."""
    return replay(
        scenario,
        model,
        backend=backend,
        precision=precision,
        missing_policy=missing,
        top_k=top_k,
        out_csv=out,
    )
