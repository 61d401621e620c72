"""What `kdcs export` calls: a plain function returning a JSON-ready dict (`kdcs track` calls
`kdcs.deploy.replay.replay` directly).

The CLI layer only parses arguments and prints; errors are DeployError / DataError with one
sentence naming the file or key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kdcs.deploy.export import export_onnx


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
