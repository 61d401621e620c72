"""`kdcs export`: a trained student to ONNX (+ int8), parity measured on the run's own data.

Returns a JSON-ready summary; errors are DeployError / DataError with one sentence naming the file
or option.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kdcs.data.prepared import prepare_data
from kdcs.deploy.export import export_onnx
from kdcs.deploy.source import DeployError, load_student
from kdcs.jobs.evaluate import run_data_config
from kdcs.storage import check_writable

PARITY_SPLITS = ("test", "val", "train")


def run_split_batches(
    checkpoint: Path, split: str, allow_teacher: bool = False
) -> tuple[list[dict[str, Any]] | None, str]:
    """The windows of `split` of the data the run was trained on, or (None, why not).

    Parity and int8 agreement mean most on the inputs the model will meet, so a run folder's own
    test split is preferred to random tensors; a bare weights file, or a run whose scenario is no
    longer on disk, falls back to random inputs (recorded as such in model.json).
    """
    model = load_student(
        checkpoint, allow_teacher=allow_teacher
    ).model  # refuses bad input before any data work
    data_config = run_data_config(checkpoint)
    if data_config is None or not data_config.scenario or not Path(data_config.scenario).exists():
        return None, "random inputs (the run's data is not available)"
    data = prepare_data(data_config)
    batches = list(data.batcher(split, tuple(model.modalities), 256))
    where = f"{data_config.scenario}" + (f" ({data_config.ap})" if data_config.ap else "")
    return batches, f"{split} split of {where}, {len(data.windows[split])} windows"


def export(
    checkpoint: Path,
    out_dir: Path,
    *,
    opset: int = 18,
    int8: bool = True,
    allow_teacher: bool = False,
    parity_split: str | None = "test",
) -> dict[str, Any]:
    """Export and summarise: files with their bytes, parity numbers, source.

    parity_split: measure parity and int8 agreement on this split of the run's data (None: random inputs).
    """
    if parity_split is not None and parity_split not in PARITY_SPLITS:
        raise DeployError(f"--parity-split must be one of {PARITY_SPLITS} or none, got {parity_split!r}")
    check_writable(Path(out_dir), "the export")
    batches, name = (
        run_split_batches(Path(checkpoint), parity_split, allow_teacher) if parity_split else (None, "")
    )
    metadata = export_onnx(
        Path(checkpoint),
        Path(out_dir),
        opset=opset,
        int8=int8,
        allow_teacher=allow_teacher,
        calibration_batches=batches,
        calibration_name=name,
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
