"""What `kdcs export` and `kdcs track` call: plain functions returning JSON-ready dicts.

The CLI layer only parses arguments and prints; errors are DeployError / DataError with one
sentence naming the file or key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kdcs.deploy.export import export_onnx
from kdcs.deploy.replay import replay


def export_command(
    checkpoint: Path, out_dir: Path, *, opset: int = 18, int8: bool = True, allow_teacher: bool = False
) -> dict[str, Any]:
    """Export and summarise: files with their bytes, parity numbers, source."""
    metadata = export_onnx(
        Path(checkpoint), Path(out_dir), opset=opset, int8=int8, allow_teacher=allow_teacher
    )
    return {
        "out_dir": str(out_dir),
        "architecture": metadata["architecture"],
        "modalities": metadata["modalities"],
        "history": metadata["history"],
        "horizon": metadata["horizon"],
        "files": metadata["bytes"],
        "parity": metadata["parity"],
        "source": metadata["source"]["checkpoint"],
    }


def track_command(
    scenario: Path,
    model: Path,
    *,
    backend: str = "onnx",
    precision: str = "fp32",
    missing_policy: str = "hold",
    top_k: int = 3,
    out_csv: Path | None = None,
    drop_rate: dict[str, float] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Replay a scenario folder through the tracker; the summary of `kdcs.deploy.replay.replay`."""
    return replay(
        Path(scenario),
        Path(model),
        backend=backend,
        precision=precision,
        missing_policy=missing_policy,
        top_k=top_k,
        out_csv=out_csv,
        drop_rate=drop_rate,
        seed=seed,
    )
