"""The trainer: fit on train, select and early-stop on validation (never on test), checkpoint every epoch.

It knows nothing about which losses are on: each batch becomes a context of tensors
(`batch_context.build_context`) and the composer turns it into (total, terms). Teacher and peer
outputs come from `TeacherSource`s (live, cached, or received), so the same loop runs plain
training, KD, self-KD and mutual learning.

Determinism: torch is seeded from `config.seed` at a fresh start (dropout), and the train batcher's
numpy generator, which shuffles, is reseeded from it too (seed torch yourself before building the
model for a reproducible initialisation). Both generators, the optimiser and the
epoch counter go into every checkpoint, and the learning rate is a function of the epoch and of the
plateau schedule's factor (run state, in the checkpoint too), so `fit(resume=True)` after a kill ends
with the same weights and metrics as an uninterrupted run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from kdcs.atomic_files import write_json_atomically, write_text_atomically
from kdcs.config import to_dict
from kdcs.distill.batch_context import (
    batch_to_device,
    build_context,
    check_context_available,
    inputs_for,
    model_history,
)
from kdcs.distill.checkpoint import (
    latest_checkpoint,
    load_adapter_weights,
    load_checkpoint,
    save_adapter_weights,
    save_checkpoint,
)
from kdcs.distill.fast_path import (
    float32_output,
    resolve_precision,
    training_precision,
    use_memory_format,
)
from kdcs.distill.plateau import lr_scale, reduce_on_plateau, stop_note
from kdcs.distill.prediction import flat_validation_row, metric_value, predict, validation_summary
from kdcs.distill.run_folder import check_room_for_an_epoch, kept_resumable_or_untouched
from kdcs.distill.teacher_outputs import TeacherSource
from kdcs.distill.train_config import TrainConfig, build_optimizer, learning_rate_at
from kdcs.distill.train_logs import RunLogger
from kdcs.distill.train_outcome import TrainingDiverged, TrainResult
from kdcs.distill.weight_average import WeightAverage
from kdcs.models.weights import CheckpointError, load_model_weights, save_model_weights

BEST_WEIGHTS = "best.safetensors"
BEST_ADAPTERS = "best_kd_adapters.safetensors"
BEST_JSON = "best.json"
RUN_CONFIG_JSON = "run_config.json"
# Settings a resumed run may change: they do not alter what an epoch computes.
RESUMABLE_CHANGES = (
    "epochs",
    "patience",
    "progress",
    "tensorboard",
    "num_threads",
    "device",
    "channels_last",
)


class Trainer:
    """Fits `model` with the loss `composer` on `train`, selecting and early-stopping on `val`.

    Parameters:
        model: the student (any module returning ModelOutput; `model.config` is saved when present).
        composer: a LossComposer (or any module mapping the context to (total, terms)). Its own
            parameters (KD-only adapters) are optimised with the model's but saved apart.
        train, val: WindowBatchers. train shuffles with its own numpy generator (`train.rng`).
        config: TrainConfig. run_dir: where checkpoints, best weights and logs go.
        teacher: a TeacherSource giving "teacher_logits"/"teacher_features"; None for plain training.
        peers: a TeacherSource giving "peer_logits"/"peer_features" (mutual learning).
        auxiliary: an extra objective added to every training step's loss, called as
            auxiliary(model, epoch, batch_number) -> (loss, {name: term}); e.g. a collaborating
            node's distillation on proxy windows it holds no labels for. Validation ignores it.
    """

    def __init__(
        self,
        model: nn.Module,
        composer: nn.Module,
        train: Any,
        val: Any,
        config: TrainConfig,
        run_dir: Path,
        teacher: TeacherSource | None = None,
        peers: TeacherSource | None = None,
        auxiliary: Any = None,
    ) -> None:
        if len(train) == 0 or len(val) == 0:
            raise ValueError(
                f"train and val batchers need windows (have {len(train)} and {len(val)} batches)"
            )
        self.config, self.run_dir = config, Path(run_dir)
        self.device = torch.device(config.device)
        self.model = use_memory_format(model.to(self.device), config.channels_last)
        self.composer = composer.to(self.device)
        self.precision = resolve_precision(config.precision, model, self.device)
        self.train, self.val, self.teacher, self.peers = train, val, teacher, peers
        self.auxiliary = auxiliary
        provided = {"student_logits", "student_features", "target", "beam_power"}
        provided |= {"teacher_logits", "teacher_features"} if teacher is not None else set()
        provided |= {"peer_logits", "peer_features"} if peers is not None else set()
        check_context_available(composer, provided)
        self.student_history = model_history(model)
        self.parameters = _unique_trainable(model, composer)
        self.optimizer = build_optimizer(self.parameters, config.optim)
        self.average = WeightAverage(self.model, config.ema_decay) if config.ema_decay is not None else None
        self.averaged = self.average.module if self.average is not None else None
        # the model that is validated, selected and kept: the weight average when there is one
        self.kept = self.averaged if self.averaged is not None else self.model
        self.logger = RunLogger(self.run_dir, config.tensorboard, config.progress, config.epochs)

    # ------------------------------------------------------------------ the run

    def fit(
        self,
        resume: bool = False,
        until_epoch: int | None = None,
        start_weights: Mapping[str, Tensor] | None = None,
        run_files: Mapping[str, str] | None = None,
    ) -> TrainResult:
        """Train up to config.epochs; resume=True continues from run_dir's last checkpoint (if any).

        run_files: {file name: text} the caller keeps in run_dir (e.g. its resolved config),
        written only once the start is accepted: a refused run (a checkpoint there without
        resume, a checkpoint of another model) changes nothing in run_dir.
        A failure keeps the last checkpoint, or, before the first one, leaves run_dir as it was
        (`kdcs.distill.run_folder`); a full or read-only disk raises StorageError.
        until_epoch: pause after this epoch (the run is not finished: a later fit(resume=True)
        goes on with the same optimiser state and learning-rate schedule). start_weights: weights
        set after the start or resume, e.g. a model averaged elsewhere; the weight average restarts
        from them.
        """
        if self.config.num_threads is not None:
            torch.set_num_threads(self.config.num_threads)
        check_room_for_an_epoch(self.run_dir, self.model)
        with kept_resumable_or_untouched(self.run_dir):
            state = self._start(resume)
            for name, text in (run_files or {}).items():
                write_text_atomically(self.run_dir / name, text)
            if start_weights is not None:
                self._restart_from(start_weights)
            self.logger.start(state["history"])
            try:
                while state["stopped_reason"] is None and len(state["history"]) < (until_epoch or math.inf):
                    self._run_epoch(state)
            finally:
                self.logger.close()
        return self._finish(state)

    def _start(self, resume: bool) -> dict[str, Any]:
        checkpoint = latest_checkpoint(self.run_dir)
        if checkpoint is not None and not resume:
            raise FileExistsError(
                f"{self.run_dir} already holds a checkpoint ({checkpoint.name}); "
                "resume it (resume=True / --resume) or choose a new run folder"
            )
        torch.manual_seed(self.config.seed)
        rng = getattr(self.train, "rng", None)
        if rng is not None:
            rng.bit_generator.state = np.random.default_rng(self.config.seed).bit_generator.state
        if checkpoint is None:
            return self._fresh_state()
        state = load_checkpoint(
            checkpoint,
            model=self.model,
            optimizer=self.optimizer,
            adapters=self.composer,
            batcher_rng=rng,
            averaged=self.averaged,
        )
        self._check_resumable(checkpoint, state["train_config"])
        columns = state.get("history_columns", ())  # the checkpoint's JSON sorts keys: restore the order
        state["history"] = [{**{c: row[c] for c in columns if c in row}, **row} for row in state["history"]]
        if self.average is not None:
            self.average.updates = int(state.get("average_updates", 0))
        if state["stopped_reason"] is not None and state["stopped_reason"].startswith("completed"):
            state["stopped_reason"] = None  # more epochs were asked for: the run goes on
        return state

    def _restart_from_best(self) -> None:
        """Go on from the best epoch's kept weights (and KD adapters); the optimiser state stays."""
        if not (self.run_dir / BEST_WEIGHTS).is_file():  # no epoch selected yet (validation was NaN)
            return
        load_model_weights(self.run_dir / BEST_WEIGHTS, self.kept)
        load_adapter_weights(self.run_dir / BEST_ADAPTERS, self.composer)
        if self.average is not None:
            self._restart_from({name: value.clone() for name, value in self.kept.state_dict().items()})

    def _restart_from(self, weights: Mapping[str, Tensor]) -> None:
        self.model.load_state_dict(weights, strict=True)
        if self.average is not None:
            self.averaged.load_state_dict(weights, strict=True)
            self.average.updates = 0

    def _fresh_state(self) -> dict[str, Any]:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomically(
            self.run_dir / RUN_CONFIG_JSON,
            {
                "train": to_dict(self.config),
                "model": to_dict(getattr(self.model, "config", None)),
                "loss": self.composer.describe()
                if hasattr(self.composer, "describe")
                else repr(self.composer),
                "teacher": type(self.teacher).__name__ if self.teacher is not None else None,
                "peers": type(self.peers).__name__ if self.peers is not None else None,
                "train_batch_size": getattr(self.train, "batch_size", None),
                "train_precision": self.precision,
            },
        )
        return {
            "history": [],
            "best_epoch": None,
            "best_value": None,
            "best_val": {},
            "epochs_without_improvement": 0,
            "stopped_reason": None,
            "train_config": to_dict(self.config),
        }

    def _check_resumable(self, checkpoint: Path, saved: Mapping[str, Any]) -> None:
        current = to_dict(self.config)
        for key in sorted(set(saved) | set(current)):
            if key not in RESUMABLE_CHANGES and saved.get(key) != current.get(key):
                raise CheckpointError(
                    f"{checkpoint} was trained with {key}={saved.get(key)!r}; resuming with "
                    f"{current.get(key)!r} would not continue the same run"
                )

    def _run_epoch(self, state: dict[str, Any]) -> None:
        epoch = len(state["history"]) + 1  # 1-based
        if epoch > self.config.epochs:
            state["stopped_reason"] = f"completed {self.config.epochs} epochs"
            return
        lr = learning_rate_at(self.config.optim, epoch - 1, self.config.epochs, lr_scale(state))
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        started = time.perf_counter()
        train_row = self._train_epoch(epoch)
        train_seconds = time.perf_counter() - started
        summary = validation_summary(
            predict(self.kept, self.val, self.device, lambda b, out: self._composed_loss(b, out)[0])
        )
        row = {
            "epoch": epoch,
            "lr": lr,
            "seconds": train_seconds,
            **train_row,
            **flat_validation_row(summary),
        }
        row["val_seconds"] = time.perf_counter() - started - train_seconds
        self._select(state, epoch, summary)
        state["history"].append(row)
        state["history_columns"] = list(row)
        if self.average is not None:
            state["average_updates"] = self.average.updates
        self.logger.log_epoch(row)
        save_checkpoint(
            self.run_dir,
            epoch,
            model=self.model,
            optimizer=self.optimizer,
            adapters=self.composer,
            batcher_rng=getattr(self.train, "rng", None),
            state=state,
            averaged=self.averaged,
        )

    def _select(self, state: dict[str, Any], epoch: int, summary: Mapping[str, Any]) -> None:
        value = metric_value(summary, self.config.select_metric)
        best = state["best_value"]
        sign = 1.0 if self.config.higher_is_better else -1.0
        if math.isfinite(value) and (best is None or sign * (value - best) > self.config.min_delta):
            state.update(
                best_epoch=epoch, best_value=value, best_val=dict(summary), epochs_without_improvement=0
            )
            save_model_weights(self.run_dir / BEST_WEIGHTS, self.kept)
            save_adapter_weights(self.run_dir / BEST_ADAPTERS, self.composer)
            write_json_atomically(self.run_dir / BEST_JSON, {"epoch": epoch, "val": dict(summary)})
        else:
            state["epochs_without_improvement"] += 1
        optim = self.config.optim
        if reduce_on_plateau(optim, state) and optim.plateau_restart_best:
            self._restart_from_best()
        patience = self.config.patience
        if patience is not None and state["epochs_without_improvement"] >= patience:
            state["stopped_reason"] = (
                f"early stop: val {self.config.select_metric} did not improve for {patience} epochs"
                f"{stop_note(optim, state)} (best epoch {state['best_epoch']})"
            )
        elif epoch >= self.config.epochs:
            state["stopped_reason"] = f"completed {self.config.epochs} epochs"

    def _finish(self, state: dict[str, Any]) -> TrainResult:
        best = self.run_dir / BEST_WEIGHTS
        if state["best_epoch"] is not None and best.is_file():
            load_model_weights(best, self.model)
            load_adapter_weights(self.run_dir / BEST_ADAPTERS, self.composer)
        return TrainResult(
            best_epoch=state["best_epoch"],
            best_val=state["best_val"],
            history=state["history"],
            stopped_reason=state["stopped_reason"],
            run_dir=self.run_dir,
            best_weights=best if best.is_file() else None,
        )

    # ------------------------------------------------------------------ one epoch

    def _composed_loss(self, batch: Mapping[str, Any], student: Any) -> tuple[Tensor, dict[str, Tensor]]:
        """(total, terms) of the composer on one batch, given the student's output on it."""
        teacher = self.teacher.outputs(batch) if self.teacher is not None else None
        peers = self.peers.outputs(batch) if self.peers is not None else None
        return self.composer(build_context(batch, student, teacher, peers))

    def _train_epoch(self, epoch: int) -> dict[str, float]:
        self.model.train()
        self.composer.train()
        clip = self.config.optim.grad_clip_norm
        loss_sum, norm_sum, count = 0.0, 0.0, 0
        term_sums: dict[str, Tensor] = {}
        bar = self.logger.batches(self.train, len(self.train), epoch)
        for batch_number, batch in enumerate(bar, start=1):
            batch = batch_to_device(batch, self.device)
            size = int(batch["target"].shape[0])
            with training_precision(self.precision, self.device):
                output = self.model(inputs_for(batch, self.student_history))
            loss, terms = self._composed_loss(batch, float32_output(output))
            if self.auxiliary is not None:  # runs its own forwards, in float32
                extra, extra_terms = self.auxiliary(self.model, epoch, batch_number)
                loss, terms = loss + extra, {**terms, **extra_terms}
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            # max_norm=inf still returns the norm and leaves the gradients as they are
            grad_norm = torch.nn.utils.clip_grad_norm_(
                self.parameters, clip if clip is not None else math.inf
            )
            loss_value, norm_value = torch.stack(
                [loss.detach(), grad_norm.to(loss.device)]
            ).tolist()  # one sync
            if not (math.isfinite(loss_value) and math.isfinite(norm_value)):
                self._diverged(epoch, batch_number, loss_value, norm_value, terms)
            self.optimizer.step()
            if self.average is not None:
                self.average.update(self.model)
            loss_sum, norm_sum, count = (
                loss_sum + loss_value * size,
                norm_sum + norm_value * size,
                count + size,
            )
            for name, value in terms.items():
                term_sums[name] = term_sums.get(name, 0.0) + value.detach() * size
            bar.show_loss(loss_value)
        row = {"train_loss": loss_sum / count, "train_grad_norm": norm_sum / count}
        row.update({f"train_{name}": float(total) / count for name, total in term_sums.items()})
        return row

    def _diverged(
        self, epoch: int, batch: int, loss: float, norm: float, terms: Mapping[str, Tensor]
    ) -> None:
        checkpoint = latest_checkpoint(self.run_dir)
        what = f"loss is {loss}" if not math.isfinite(loss) else f"gradient norm is {norm}"
        values = ", ".join(f"{name}={float(value):.4g}" for name, value in terms.items())
        kept = f"the last good checkpoint is {checkpoint}" if checkpoint else "no epoch had finished"
        raise TrainingDiverged(
            f"training stopped: {what} at epoch {epoch} batch {batch} (terms: {values}); {kept}",
            epoch,
            batch,
            checkpoint,
        )


def _unique_trainable(*modules: nn.Module) -> list[nn.Parameter]:
    """Trainable parameters of all modules, each once, in a fixed order (optimiser state follows it)."""
    seen: set[int] = set()
    unique = []
    for module in modules:
        for parameter in module.parameters():
            if parameter.requires_grad and id(parameter) not in seen:
                seen.add(id(parameter))
                unique.append(parameter)
    return unique
