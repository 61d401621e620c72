"""Running a model over every window of a batcher, and summarising its predictions.

Used by the trainer (validation), the jobs (test evaluation), the collaboration nodes and the tests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from kdcs.data.prepared import PreparedData
from kdcs.distill.batch_context import batch_to_device, inputs_for, model_history
from kdcs.eval.metrics import rank_scores, summarize

# Windows per batch when a model runs without gradients (validation, test, a teacher's cached outputs).
# On CPU 32 beat 256 (demo models at 64x64, one thread, CPU time of one validation pass, load 5-7:
# teacher 1.98 vs 2.50 s, camera student 1.11 vs 1.51, radar student 0.47 vs 0.66; the GPS student
# 0.012 vs 0.007) and gave bit-identical logits and features (max |difference| 0).
EVAL_BATCH = 32


@dataclass
class Predictions:
    """Outputs of a model over every window of a batcher, in batcher order."""

    logits: np.ndarray  # [W, S, C]
    targets: np.ndarray  # [W, S]
    window_end: np.ndarray  # [W]
    power: np.ndarray | None = None  # [W, S, C] linear, when the batches carry "target_power"
    loss: float | None = None  # mean composer loss per window, when a loss function was given
    extra: dict[str, Any] = field(default_factory=dict)


@torch.no_grad()
def predict(
    model: nn.Module,
    batcher: Any,
    device: torch.device | str = "cpu",
    loss_fn: Callable[[Mapping[str, Any], Any], Tensor] | None = None,
) -> Predictions:
    """Run `model` (eval mode, no gradients) over every batch; optionally average `loss_fn(batch, output)`."""
    was_training = model.training
    model.eval()
    history = model_history(model)
    logits, targets, ends, power = [], [], [], []
    loss_sum, count = torch.zeros((), device=device), 0
    for batch in batcher:
        batch = batch_to_device(batch, device)
        output = model(inputs_for(batch, history))
        logits.append(output.logits.float().cpu())
        targets.append(batch["target"].cpu())
        ends.append(np.asarray(batch["window_end"]))
        if "target_power" in batch:
            power.append(batch["target_power"].cpu())
        if loss_fn is not None:
            loss_sum += loss_fn(batch, output).detach() * batch["target"].shape[0]
        count += int(batch["target"].shape[0])
    model.train(was_training)
    if count == 0:
        raise ValueError("cannot evaluate: the batcher holds no windows")
    return Predictions(
        logits=torch.cat(logits).numpy(),
        targets=torch.cat(targets).numpy(),
        window_end=np.concatenate(ends),
        power=torch.cat(power).numpy() if power else None,
        loss=float(loss_sum) / count if loss_fn is not None else None,
    )


def evaluate_model(model: nn.Module, batcher: Any, device: torch.device | str = "cpu") -> tuple:
    """(logits [W, J+1, C], targets [W, J+1], window_end [W]) numpy arrays of `model` over `batcher`."""
    predictions = predict(model, batcher, device)
    return predictions.logits, predictions.targets, predictions.window_end


def validation_summary(predictions: Predictions) -> dict[str, Any]:
    """`kdcs.eval.metrics.summarize` of the predictions, plus "loss" when it was computed."""
    summary = summarize(rank_scores(predictions.logits, k=10), predictions.targets, predictions.power)
    if predictions.loss is not None:
        summary["loss"] = predictions.loss
    return summary


def evaluate_split(
    model: nn.Module, data: PreparedData, split: str, batch_size: int = EVAL_BATCH
) -> dict[str, Any]:
    """Every metric of `model` on one split (top-k per slot, DBA, power loss when powers exist)."""
    predictions = predict(model, data.batcher(split, tuple(model.modalities), batch_size))
    return validation_summary(predictions)


def metric_value(summary: Mapping[str, Any], name: str) -> float:
    """ "top1_mean" -> summary["top1"]["mean"]; "loss" -> summary["loss"]."""
    if name == "loss":
        return float(summary["loss"])
    metric, _, part = name.rpartition("_")
    return float(summary[metric][part])


def flat_validation_row(summary: Mapping[str, Any]) -> dict[str, float]:
    """Scalar means of a summary as "val_top1_mean", ..., plus "val_loss" (a metrics.csv row's part)."""
    row = {
        f"val_{name}_mean": float(value["mean"]) for name, value in summary.items() if isinstance(value, dict)
    }
    if "loss" in summary:
        row["val_loss"] = float(summary["loss"])
    return row
