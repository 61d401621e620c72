"""`kdcs track`: replay a scenario through the streaming beam tracker, slot by slot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kdcs.deploy.replay import replay
from kdcs.deploy.source import DeployError
from kdcs.deploy.tracker import MISSING_POLICIES

BACKENDS = ("onnx", "torch")
PRECISIONS = ("fp32", "int8")


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
    choices = {
        "--backend": (backend, BACKENDS),
        "--precision": (precision, PRECISIONS),
        "--missing": (missing, MISSING_POLICIES),
    }
    for option, (value, known) in choices.items():
        if value not in known:
            raise DeployError(f"{option} must be one of {', '.join(known)}, got {value!r}")
    if top_k < 1:
        raise DeployError(f"--top-k must be at least 1, got {top_k}")
    return replay(
        scenario,
        model,
        backend=backend,
        precision=precision,
        missing_policy=missing,
        top_k=top_k,
        out_csv=out,
    )
