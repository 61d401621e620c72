"""Where a student's teacher outputs come from: a live frozen model, or a cache computed once.

Losses take tensors, not models, so the trainer only asks a `TeacherSource` for (logits, features)
of a batch. `CachedTeacher` runs the teacher once over every window the run needs and looks the
outputs up by the batch's "window_end" row afterwards: valid when the teacher is frozen and the
inputs are not augmented (a window's teacher input is then a function of its end row alone), and
it takes the teacher's forward pass out of every KD epoch.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from safetensors.torch import save as save_safetensors_bytes
from torch import Tensor, nn

from kdcs.atomic_files import write_bytes_atomically
from kdcs.config import to_dict
from kdcs.distill.batch_context import batch_to_device, inputs_for, model_history
from kdcs.models.weights import CheckpointError, read_safetensors

CACHE_FORMAT = "kdcs-teacher-outputs-v1"


class TeacherSource(Protocol):
    """Anything that gives teacher (or peer) outputs for a batch.

    Input: a batch dict (tensors on the training device, "window_end" on the CPU).
    Output: (logits [B, S, C] or [K, B, S, C], features {name: [B, ...]}), no gradients attached.
    """

    def outputs(self, batch: Mapping[str, Any]) -> tuple[Tensor, dict[str, Tensor]]: ...


class LiveTeacher:
    """A teacher (or peer) model run on every batch: eval mode, no gradients, its own history L.

    It leaves the model as it found it (a peer in mutual learning keeps training elsewhere; its
    mode is restored after each call). Use it when the teacher changes or inputs are augmented;
    otherwise `CachedTeacher` is cheaper.
    """

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.history = model_history(model)

    @torch.no_grad()
    def outputs(self, batch: Mapping[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        was_training = self.model.training
        self.model.eval()  # dropout off: a teacher's targets must not be noise
        try:
            output = self.model(inputs_for(batch, self.history))
        finally:
            self.model.train(was_training)
        return output.logits, output.features


class StackedTeachers:
    """Several sources as one: logits stacked to [K, B, S, C] (multi-teacher KD, peers in DML).

    Features are stacked the same way ([K, B, ...]) where every source has the name with one shape.
    """

    def __init__(self, sources: Sequence[TeacherSource]) -> None:
        if not sources:
            raise ValueError("StackedTeachers needs at least one source")
        self.sources = list(sources)

    def outputs(self, batch: Mapping[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        results = [source.outputs(batch) for source in self.sources]
        logits = torch.stack([logit for logit, _ in results])  # [K, B, S, C]
        shared = set.intersection(*(set(features) for _, features in results))
        features = {
            name: torch.stack([f[name] for _, f in results])
            for name in sorted(shared)
            if len({tuple(f[name].shape) for _, f in results}) == 1
        }
        return logits, features


def teacher_digest(model: nn.Module) -> str:
    """sha256 of a model's config and weights: names the frozen teacher a cache was computed with."""
    # hashed tensor by tensor: safetensors bytes are not reproducible (its metadata order varies)
    digest = hashlib.sha256(json.dumps(to_dict(getattr(model, "config", None)), sort_keys=True).encode())
    for key, value in sorted(model.state_dict().items()):
        digest.update(f"{key}:{value.dtype}:{tuple(value.shape)}".encode())
        digest.update(value.detach().to("cpu").contiguous().flatten().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def teacher_fingerprint(
    model: nn.Module,
    window_ends: np.ndarray,
    feature_keys: Sequence[str],
    data_fingerprint: str = "",
    digest: str | None = None,
) -> str:
    """sha256 of what cached outputs depend on: teacher weights + config, windows, features, data."""
    combined = hashlib.sha256((digest or teacher_digest(model)).encode())
    combined.update(np.ascontiguousarray(np.sort(window_ends), dtype=np.int64).tobytes())
    combined.update(json.dumps({"features": list(feature_keys), "data": data_fingerprint}).encode())
    return combined.hexdigest()


class CachedTeacher:
    """Teacher outputs computed once per window, looked up by window end row.

    Attributes: logits [W, S, C]; features {name: [W, ...]}; window_end [W] int64;
    fingerprint (see `teacher_fingerprint`); teacher: `teacher_digest` of the model that computed
    them. Tensors live on `device` (CPU by default).
    """

    def __init__(
        self,
        logits: Tensor,
        features: Mapping[str, Tensor],
        window_end: np.ndarray,
        fingerprint: str = "",
        teacher: str = "",
    ) -> None:
        window_end = np.asarray(window_end, dtype=np.int64)
        if logits.shape[0] != window_end.shape[0] or any(
            f.shape[0] != logits.shape[0] for f in features.values()
        ):
            raise ValueError("cached teacher logits, features and window_end must have one row per window")
        self.logits, self.features = logits, dict(features)
        self.window_end, self.fingerprint, self.teacher = window_end, fingerprint, teacher
        self._position = np.full(int(window_end.max(initial=-1)) + 1, -1, dtype=np.int64)  # row -> index
        self._position[window_end] = np.arange(window_end.shape[0])

    def __len__(self) -> int:
        return int(self.window_end.shape[0])

    @classmethod
    @torch.no_grad()
    def build(
        cls,
        model: nn.Module,
        batchers: Iterable[Any] | Any,
        feature_keys: Sequence[str] | None = (),
        data_fingerprint: str = "",
        device: torch.device | str = "cpu",
    ) -> CachedTeacher:
        """Run the frozen teacher once over every window of `batchers` (one or several, e.g. train and
        val; shuffling does not matter) and keep its logits and the named features (None: all of them,
        for a cache that serves any KD recipe)."""
        batchers = [batchers] if hasattr(batchers, "windows") else list(batchers)
        teacher = LiveTeacher(model.to(device))
        logits, features, ends = [], {name: [] for name in feature_keys or ()}, []
        for batcher in batchers:
            for batch in batcher:
                batch_logits, batch_features = teacher.outputs(batch_to_device(batch, device))
                if feature_keys is None:
                    feature_keys = tuple(sorted(batch_features))
                    features = {name: [] for name in feature_keys}
                missing = [name for name in feature_keys if name not in batch_features]
                if missing:
                    raise KeyError(f"teacher has no feature '{missing[0]}'; it has {sorted(batch_features)}")
                logits.append(batch_logits.float())
                for name in feature_keys:
                    features[name].append(batch_features[name].float())
                ends.append(np.asarray(batch["window_end"]))
        return cls._deduplicated(model, logits, features, ends, feature_keys or (), data_fingerprint)

    @classmethod
    def _deduplicated(cls, model, logits, features, ends, feature_keys, data_fingerprint) -> CachedTeacher:
        if not ends:
            raise ValueError("cannot cache teacher outputs: the batchers hold no windows")
        window_end = np.concatenate(ends)
        _, first = np.unique(window_end, return_index=True)  # a window in two batchers is kept once
        keep = torch.from_numpy(np.sort(first))
        stacked = {name: torch.cat(parts)[keep.to(parts[0].device)] for name, parts in features.items()}
        all_logits = torch.cat(logits)
        digest = teacher_digest(model)
        kept_ends = window_end[keep.numpy()]
        fingerprint = teacher_fingerprint(model, kept_ends, feature_keys, data_fingerprint, digest)
        return cls(all_logits[keep.to(all_logits.device)], stacked, kept_ends, fingerprint, digest)

    @classmethod
    def build_or_load(
        cls,
        path: Path,
        model: nn.Module,
        batchers: Iterable[Any] | Any,
        feature_keys: Sequence[str] = (),
        data_fingerprint: str = "",
        device: torch.device | str = "cpu",
    ) -> CachedTeacher:
        """The cache saved at `path` when its fingerprint matches this teacher, windows and data;
        otherwise build it and save it there."""
        batchers = [batchers] if hasattr(batchers, "windows") else list(batchers)
        window_ends = np.unique(np.concatenate([np.asarray(b.windows.end_rows) for b in batchers]))
        expected = teacher_fingerprint(model, window_ends, feature_keys, data_fingerprint)
        if Path(path).is_file():
            try:
                return cls.load(path, expected_fingerprint=expected).to(device)
            except CheckpointError:
                pass  # stale or damaged: rebuild below and overwrite it
        cache = cls.build(model, batchers, feature_keys, data_fingerprint, device)
        cache.save(path)
        return cache

    def outputs(self, batch: Mapping[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        positions = self.positions(np.asarray(batch["window_end"]))
        index = torch.from_numpy(positions).to(self.logits.device)
        return self.logits[index], {name: value[index] for name, value in self.features.items()}

    def positions(self, rows: np.ndarray) -> np.ndarray:
        """Cache index of each window end row; a clear error for rows the cache never saw."""
        rows = np.asarray(rows, dtype=np.int64)
        inside = (rows >= 0) & (rows < self._position.shape[0])
        positions = np.where(inside, self._position[np.where(inside, rows, 0)], -1)
        if (positions < 0).any():
            missing = rows[positions < 0]
            raise KeyError(
                f"cached teacher outputs lack {missing.size} window(s), e.g. the window ending at row "
                f"{int(missing[0])}; build the cache over every batcher the run uses (train and val)"
            )
        return positions

    def to(self, device: torch.device | str) -> CachedTeacher:
        """Move the cached tensors (e.g. to the GPU, so lookups never cross the bus)."""
        self.logits = self.logits.to(device)
        self.features = {name: value.to(device) for name, value in self.features.items()}
        return self

    def save(self, path: Path) -> None:
        """Write the cache atomically as one safetensors file (fingerprint in its metadata)."""
        tensors = {"logits": self.logits, "window_end": torch.from_numpy(self.window_end)}
        tensors.update({f"features.{name}": value for name, value in self.features.items()})
        tensors = {key: value.detach().to("cpu").contiguous() for key, value in tensors.items()}
        metadata = {"format": CACHE_FORMAT, "fingerprint": self.fingerprint, "teacher": self.teacher}
        write_bytes_atomically(Path(path), save_safetensors_bytes(tensors, metadata=metadata))

    @classmethod
    def load(cls, path: Path, expected_fingerprint: str | None = None) -> CachedTeacher:
        """Read a saved cache; CheckpointError when it is corrupt or its fingerprint differs."""
        tensors, metadata = read_safetensors(Path(path))
        if metadata.get("format") != CACHE_FORMAT or "logits" not in tensors or "window_end" not in tensors:
            raise CheckpointError(f"{path} is not a kdcs teacher-output cache ({CACHE_FORMAT})")
        fingerprint = metadata.get("fingerprint", "")
        if expected_fingerprint is not None and fingerprint != expected_fingerprint:
            raise CheckpointError(
                f"{path} was computed for another teacher, window set or dataset (fingerprint mismatch)"
            )
        features = {
            key.split(".", 1)[1]: value for key, value in tensors.items() if key.startswith("features.")
        }
        return cls(
            tensors["logits"],
            features,
            tensors["window_end"].numpy(),
            fingerprint,
            metadata.get("teacher", ""),
        )

    @classmethod
    def load_shared(
        cls,
        path: Path,
        model: nn.Module,
        batchers: Iterable[Any] | Any,
        feature_keys: Sequence[str] = (),
        device: torch.device | str = "cpu",
    ) -> CachedTeacher:
        """A cache computed once for several runs (`kdcs run`'s teacher-outputs stage), checked before
        use: computed by these very teacher weights, holding every window of `batchers` and the
        features a run reads (only those are kept). CheckpointError, naming the file, otherwise."""
        cache = cls.load(path)
        if cache.teacher != teacher_digest(model):
            raise CheckpointError(
                f"{path} holds the outputs of other teacher weights than this run's teacher"
            )
        batchers = [batchers] if hasattr(batchers, "windows") else list(batchers)
        for batcher in batchers:
            try:
                cache.positions(np.asarray(batcher.windows.end_rows))
            except KeyError as missing_window:
                raise CheckpointError(f"{path}: {missing_window.args[0]}") from None
        missing = [name for name in feature_keys if name not in cache.features]
        if missing:
            raise CheckpointError(
                f"{path} lacks the teacher feature '{missing[0]}' (it has {sorted(cache.features)})"
            )
        cache.features = {name: cache.features[name] for name in feature_keys}
        return cache.to(device)
