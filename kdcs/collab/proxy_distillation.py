"""Received knowledge acting during local training: a KD term on proxy windows at every step.

A node's local training step is then  loss = task(local batch) + w * KD(proxy batch, knowledge):
every optimiser step also pulls the student towards the received soft labels on one batch of proxy
windows, instead of a separate distillation step that the following task-only epochs undo. The
trainer calls it as its `auxiliary` objective. The proxy batch of (epoch, step) is a function of the
seed, epoch and step alone, so a run paused and resumed between rounds draws the same batches.
"""

from __future__ import annotations

import numpy as np
from torch import Tensor, nn

from kdcs.data.windows import WindowBatcher
from kdcs.distill.batch_context import batch_to_device, build_context, inputs_for, model_history
from kdcs.distill.teacher_outputs import TeacherSource


class ProxyDistillation:
    """The auxiliary objective: weight * composer(context of one proxy batch).

    Parameters: batcher (the proxy windows; its order is not used), composer (KD-only terms, e.g.
    logit-kd), weight, seed (the batch order), passes (an epoch takes at least this many passes over
    the proxy windows: `len()` is what the training batcher is stretched to), teacher / peers (the
    received knowledge, looked up by window end row).
    """

    def __init__(
        self,
        batcher: WindowBatcher,
        composer: nn.Module,
        weight: float,
        seed: int,
        *,
        passes: int = 1,
        teacher: TeacherSource | None = None,
        peers: TeacherSource | None = None,
    ) -> None:
        self.batcher, self.composer, self.weight, self.seed = batcher, composer, float(weight), seed
        self.teacher, self.peers, self.passes = teacher, peers, passes
        self.size = min(batcher.batch_size, len(batcher.windows))
        self.batches_per_pass = max(len(batcher.windows) // self.size, 1)

    def __len__(self) -> int:
        """Steps an epoch needs at least: `passes` passes over the proxy windows."""
        return self.batches_per_pass * self.passes

    def positions(self, epoch: int, step: int) -> np.ndarray:
        """Window positions of the batch of 1-based (epoch, step): passes over the proxy windows in
        an order drawn from (seed, epoch, pass)."""
        passes, index = divmod(step - 1, self.batches_per_pass)
        order = np.random.default_rng([self.seed, epoch, passes]).permutation(len(self.batcher.windows))
        return order[index * self.size : (index + 1) * self.size]

    def __call__(self, model: nn.Module, epoch: int, step: int) -> tuple[Tensor, dict[str, Tensor]]:
        device = next(model.parameters()).device
        batch = batch_to_device(self.batcher.gather(self.positions(epoch, step)), device)
        student = model(inputs_for(batch, model_history(model)))
        teacher = self.teacher.outputs(batch) if self.teacher is not None else None
        peers = self.peers.outputs(batch) if self.peers is not None else None
        total, terms = self.composer(build_context(batch, student, teacher, peers))
        return self.weight * total, {f"proxy_{name}": value for name, value in terms.items()}


class CycledBatcher:
    """A training batcher stretched to at least `min_batches` batches per epoch by going round its
    windows again (reshuffled), so a node with few windows still takes as many steps per epoch as
    its proxy distillation needs. Exposes the inner batcher's `rng` (the trainer seeds and
    checkpoints it) and `batch_size`."""

    def __init__(self, inner: WindowBatcher, min_batches: int = 0) -> None:
        self.inner, self.min_batches = inner, min_batches
        self.rng, self.batch_size = inner.rng, inner.batch_size

    def __len__(self) -> int:
        return max(len(self.inner), self.min_batches)

    def __iter__(self):
        produced = 0
        while produced < len(self):
            for batch in self.inner:
                yield batch
                produced += 1
                if produced == len(self):
                    return
