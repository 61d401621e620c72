"""Synthesis of one batch of windows from a teacher (DeepInversion-style, conditioned on beam tracks).

For B windows: draw beam tracks (`beam_tracks`: the beam-history input and the beams the teacher is
to predict at t..t+J), start the continuous inputs of the student's modalities from their priors
(`gps_tracks`, `frames`, `mask_boxes` for motion masks drawn as moving boxes), and optimise them with Adam so that the teacher, reading only those
modalities (`SensorSubsetTeacher`), is confident in the chosen beams at every slot:

    loss = CE(teacher logits, chosen beams) + bn_weight * BatchNorm statistics (image encoders)
           + image_tv_weight * TV(frames) + temporal_weight * frame-to-frame change
           + GPS prior penalty (outside radius_m, above max_speed_m_per_slot)

Every window of the batch is one L-slot window ending at its current slot; its inputs at t-L+1..t
come from one parametrised track (GPS, mask boxes) or L frames optimised together (images), so a window
is temporally consistent by construction (GPS, mask boxes) or by the temporal term (images).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from kdcs.distill.batch_context import inputs_for, model_history
from kdcs.distill.data_free.batch_norm_statistics import BatchNormStatistics
from kdcs.distill.data_free.beam_tracks import sample_beam_tracks, split_track
from kdcs.distill.data_free.config import DataFreeConfig
from kdcs.distill.data_free.frames import ImageFrames
from kdcs.distill.data_free.gps_tracks import GpsTrack
from kdcs.distill.data_free.mask_boxes import MaskBoxes
from kdcs.distill.data_free.sensor_subset import SensorSubsetTeacher
from kdcs.models.config import IMAGE_MODALITIES


@dataclass(frozen=True)
class WindowShape:
    """What a synthetic window looks like: L, J, the codebook size and the image sizes."""

    history: int
    horizon: int
    num_beams: int
    image_size: tuple[int, int]
    radar_size: tuple[int, int]


def _parametrised(
    modalities: tuple[str, ...],
    count: int,
    shape: WindowShape,
    config: DataFreeConfig,
    rng: np.random.Generator,
) -> nn.ModuleDict:
    inputs = {}
    for modality in modalities:
        if modality == "gps":
            inputs[modality] = GpsTrack(count, shape.history, config.gps, rng)
        elif modality == "camera_motion" and config.masks.kind == "boxes":
            inputs[modality] = MaskBoxes(count, shape.history, shape.image_size, config.masks, rng)
        elif modality in IMAGE_MODALITIES:
            size = shape.radar_size if modality == "radar" else shape.image_size
            inputs[modality] = ImageFrames(modality, count, shape.history, size, rng)
    return nn.ModuleDict(inputs)


def _prior_loss(inputs: nn.ModuleDict, config: DataFreeConfig) -> Tensor:
    total = torch.zeros(())
    for module in inputs.values():
        if isinstance(module, GpsTrack):
            total = total + module.prior_penalty()
        elif isinstance(module, ImageFrames):  # boxes are smooth and consistent by construction
            variation, temporal = module.smoothness_penalties()
            total = total + config.image_tv_weight * variation + config.temporal_weight * temporal
    return total


def synthesise_batch(
    teacher: SensorSubsetTeacher,
    count: int,
    shape: WindowShape,
    config: DataFreeConfig,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """`count` synthetic windows: {modality: [count, L, ...] in the cache's dtype (the teacher's
    synthesisable modalities), "beam_history": [count, L] int64, "track": [count, J+1] int64 (the
    chosen beams at t..t+J)}. Deterministic given `rng`'s state (its draws also seed torch here)."""
    tracks = sample_beam_tracks(count, shape.history, shape.horizon, shape.num_beams, config.track, rng)
    history, chosen = split_track(tracks, shape.history)
    torch.manual_seed(int(rng.integers(2**31)))
    inputs = _parametrised(teacher.modalities, count, shape, config, rng)
    if not list(inputs.parameters()):  # beam history alone: the tracks are the windows, nothing to optimise
        return {"beam_history": history, "track": chosen}
    images = [teacher.teacher.encoders[m] for m in inputs if m in IMAGE_MODALITIES]
    statistics = BatchNormStatistics(images)
    optimizer = torch.optim.Adam(inputs.parameters(), lr=config.lr)
    beam_history, targets = torch.from_numpy(history), torch.from_numpy(chosen)
    teacher_history = model_history(teacher)
    try:
        with torch.enable_grad():
            for _ in range(config.steps):
                batch = {name: module() for name, module in inputs.items()}
                batch["beam_history"] = beam_history
                logits = teacher(inputs_for(batch, teacher_history)).logits  # [B, J+1, C]
                confidence = nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten())
                loss = confidence + config.bn_weight * statistics.loss() + _prior_loss(inputs, config)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
    finally:
        statistics.remove()
    return {**_kept(inputs), "beam_history": history, "track": chosen}


@torch.no_grad()
def _kept(inputs: nn.ModuleDict) -> dict[str, np.ndarray]:
    return {
        name: module().numpy().astype(np.float32) if isinstance(module, GpsTrack) else module.cached()
        for name, module in inputs.items()
    }
