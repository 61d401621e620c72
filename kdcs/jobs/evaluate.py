"""`kdcs evaluate`: a trained model on a split of a scenario (by default the data its run was trained on)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kdcs.config import ConfigError, merge, merge_file, parse_dotted, read_yaml_file, to_dict
from kdcs.data.prepared import DataConfig, prepare_data
from kdcs.deprecation import deprecated
from kdcs.distill.prediction import evaluate_split
from kdcs.distill.trained_model import load_trained_model, weights_file
from kdcs.eval.complexity import complexity_report, example_batch
from kdcs.jobs.train import CONFIG_YAML

DATA_KEYS = frozenset(f.name for f in dataclasses.fields(DataConfig))


@dataclass(frozen=True)
class EvaluationConfig:
    """What `kdcs evaluate` may change, rooted as a RunConfig is: only `data` (the model is the checkpoint's)."""

    data: DataConfig = field(default_factory=DataConfig)


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
    file's `data` section and the dotted overrides, rooted as a RunConfig is (["data.ap=ap2"]).
    """
    if split not in ("train", "val", "test"):
        raise ConfigError(f"split must be train, val or test, got {split!r}")
    data_config = evaluation_data_config(checkpoint, config_path, overrides or [])
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


def evaluation_data_config(checkpoint: Path, config_path: Path | None, overrides: list[str]) -> DataConfig:
    """The run's data config with the YAML file's and the overrides' `data.*` keys applied (type-checked;
    any other key is an error naming it). Keys written without `data.` (the old spelling) still work."""
    config = EvaluationConfig(run_data_config(checkpoint) or DataConfig())
    if config_path is not None:
        tree = read_yaml_file(config_path)
        if tree and "data" not in tree and set(tree) <= DATA_KEYS:
            deprecated(f"{config_path} holding data keys at its top level", "a `data:` section")
            tree = {"data": tree}
        config = merge_file(config, tree, config_path)
    return merge(config, parse_dotted([_rooted(item) for item in overrides])).data


def _rooted(override: str) -> str:
    key = override.split("=", 1)[0].strip()
    if key.split(".")[0] in DATA_KEYS:
        deprecated(f"--set {key}=... (rooted at the data config)", f"--set data.{key}=...")
        return f"data.{override.strip()}"
    return override
