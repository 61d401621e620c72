"""`kdcs evaluate`: a trained model on a split of a scenario (by default the data its run was trained on)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from kdcs.config import ConfigError, load_config, merge, to_dict
from kdcs.data.prepared import DataConfig, prepare_data
from kdcs.distill.prediction import evaluate_split
from kdcs.distill.trained_model import load_trained_model, weights_file
from kdcs.eval.complexity import complexity_report, example_batch
from kdcs.jobs.train import CONFIG_YAML


def run_data_config(checkpoint: Path) -> DataConfig | None:
    """The data config recorded in the run folder holding `checkpoint`, if any."""
    folder = Path(checkpoint) if Path(checkpoint).is_dir() else Path(checkpoint).parent
    recorded = folder / CONFIG_YAML
    if not recorded.is_file():
        return None
    return merge(DataConfig(), (yaml.safe_load(recorded.read_text()) or {}).get("data", {}))


def evaluate_checkpoint(
    checkpoint: Path,
    *,
    split: str = "test",
    config_path: Path | None = None,
    overrides: list[str] | None = None,
    with_complexity: bool = True,
    workers: int | None = None,
) -> dict[str, Any]:
    """Metrics (and complexity) of the model at `checkpoint` on `split`.

    The data config starts from the run folder's config.yaml (when there is one), then the YAML
    file and the `data.`-less dotted overrides given here (e.g. ["scenario=...", "ap=ap2"]).
    """
    if split not in ("train", "val", "test"):
        raise ConfigError(f"split must be train, val or test, got {split!r}")
    base = run_data_config(checkpoint) or DataConfig()
    data_config = load_config(base, config_path, overrides or [])
    model = load_trained_model(checkpoint)
    data = prepare_data(data_config, workers=workers)
    result: dict[str, Any] = {
        "checkpoint": str(weights_file(checkpoint)),
        "architecture": model.config.architecture,
        "modalities": list(model.modalities),
        "split": split,
        "data": to_dict(data_config),
        "metrics": evaluate_split(model, data, split),
    }
    if with_complexity:
        result["complexity"] = complexity_report(model, example_batch(model.config), latency=True)
    return result
