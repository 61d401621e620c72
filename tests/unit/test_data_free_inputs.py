"""Data-free KD's synthetic inputs: shapes, ranges and dtypes of every modality, seeding, and the
pieces that steer them (beam tracks, GPS tracks, frames, BatchNorm statistics, the sensor-subset teacher)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from kdcs.config import ConfigError
from kdcs.distill.data_free.batch_norm_statistics import BatchNormStatistics
from kdcs.distill.data_free.beam_tracks import sample_beam_tracks, split_track
from kdcs.distill.data_free.config import DataFreeConfig, GpsPrior, TrackPrior
from kdcs.distill.data_free.frames import RADAR_RANGE_DB, ImageFrames
from kdcs.distill.data_free.gps_tracks import GpsTrack
from kdcs.distill.data_free.inversion import WindowShape, synthesise_batch
from kdcs.distill.data_free.sensor_subset import SensorSubsetTeacher, synthesisable
from kdcs.models import ModelConfig, build_model

L, J, BEAMS, SIZE = 4, 1, 64, (32, 32)


@pytest.fixture(autouse=True)
def _one_thread():
    """One torch thread: on a shared 2-core machine two threads made these optimisations 3x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


SHAPE = WindowShape(L, J, BEAMS, SIZE, SIZE)


def tiny_teacher(modalities=("camera_motion", "radar", "gps", "beam_history")) -> nn.Module:
    torch.manual_seed(0)
    config = ModelConfig(
        architecture="ds-student", modalities=modalities, history=L, horizon=J, image_size=SIZE, radar_size=SIZE,
        hidden=16, feature_size=16, gps_hidden=16, beam_embedding_dim=8, depthwise_channels=(4, 8, 8, 8),
        attention_heads=2,
    )  # fmt: skip
    model = build_model(config).eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


def test_beam_tracks_are_seeded_in_range_and_smooth():
    prior = TrackPrior(max_rate=2.0, curvature_std=0.0, jitter_std=0.0)
    tracks = sample_beam_tracks(500, 8, 3, BEAMS, prior, np.random.default_rng(1))
    assert tracks.shape == (500, 12) and tracks.dtype == np.int64
    assert tracks.min() >= 0 and tracks.max() <= BEAMS - 1
    assert np.abs(np.diff(tracks, axis=1)).max() <= 3  # |rate| <= 2 beams per slot, plus rounding
    again = sample_beam_tracks(500, 8, 3, BEAMS, prior, np.random.default_rng(1))
    other = sample_beam_tracks(500, 8, 3, BEAMS, prior, np.random.default_rng(2))
    assert np.array_equal(tracks, again) and not np.array_equal(tracks, other)
    history, chosen = split_track(tracks, 8)
    assert history.shape == (500, 8) and chosen.shape == (500, 4)
    assert len(np.unique(tracks[:, 8])) > 50  # current beams cover the codebook


def test_gps_track_columns_are_consistent_and_inside_the_prior():
    prior = GpsPrior(radius_m=40.0, max_speed_m_per_slot=1.5)
    track = GpsTrack(256, 6, prior, np.random.default_rng(0))
    values = track().detach()
    assert values.shape == (256, 6, 4)
    east, north, distance, bearing = values.unbind(-1)
    assert torch.allclose(distance, torch.hypot(east, north), atol=1e-4)
    assert torch.allclose(bearing, torch.atan2(north, east), atol=1e-5)
    assert (
        float(track.prior_penalty().detach()) < 0.05
    )  # starts (almost) inside: only motion may leave the disc
    steps = (values[:, 1:, :2] - values[:, :-1, :2]).norm(dim=-1)
    assert float(steps.max()) <= 1.5 + 1e-4  # constant velocity at start: no faster than the prior
    with torch.no_grad():
        track.position.mul_(3.0)
    assert float(track.prior_penalty().detach()) > 0.5


@pytest.mark.parametrize(
    ("modality", "dtype", "low", "high"),
    [("camera_motion", np.uint8, 0, 1), ("camera", np.uint8, 0, 255), ("radar", np.float16, *RADAR_RANGE_DB)],
)
def test_frames_have_the_cache_dtype_and_range(modality, dtype, low, high):
    frames = ImageFrames(modality, 3, L, (16, 24), np.random.default_rng(0))
    with torch.no_grad():
        frames.logits.mul_(20.0)  # push values to both ends of the range
    kept = frames.cached()
    assert kept.shape == (3, L, 16, 24) and kept.dtype == dtype
    assert kept.min() >= low and kept.max() <= high
    if modality == "camera_motion":
        assert set(np.unique(kept)) == {0, 1}
        frames.forward().sum().backward()  # straight-through: the binary mask still passes a gradient
        assert frames.logits.grad is not None and float(frames.logits.grad.abs().sum()) > 0


def test_batch_norm_statistics_vanish_on_matching_batches_and_hooks_come_off():
    layer = nn.BatchNorm2d(2).eval()
    layer.running_mean.copy_(torch.tensor([1.0, -2.0]))
    layer.running_var.copy_(torch.tensor([4.0, 0.25]))
    statistics = BatchNormStatistics([layer])
    x = torch.randn(4096, 2, 4, 4)
    x = (x - x.mean(dim=(0, 2, 3), keepdim=True)) / x.std(dim=(0, 2, 3), unbiased=False, keepdim=True)
    matching = x * torch.tensor([2.0, 0.5]).view(1, 2, 1, 1) + torch.tensor([1.0, -2.0]).view(1, 2, 1, 1)
    layer(matching)
    assert float(statistics.loss()) < 1e-4
    layer(torch.zeros(8, 2, 4, 4))
    assert float(statistics.loss()) > 1.0
    statistics.remove()
    layer(matching)
    assert float(statistics.loss()) == 0.0


def test_sensor_subset_teacher_reads_only_its_subset():
    teacher = tiny_teacher()
    batch = {
        "camera_motion": torch.randint(0, 2, (2, L, *SIZE), dtype=torch.uint8),
        "radar": torch.randn(2, L, *SIZE),
        "gps": torch.randn(2, L, 4),
        "beam_history": torch.randint(0, 64, (2, L)),
    }
    everything = SensorSubsetTeacher(teacher, teacher.modalities)
    assert torch.equal(everything(batch).logits, teacher(batch).logits)
    subset = SensorSubsetTeacher(teacher, ("gps", "beam_history"))
    changed = {**batch, "camera_motion": 1 - batch["camera_motion"], "radar": batch["radar"] + 5}
    assert torch.equal(subset(batch).logits, subset(changed).logits)
    assert not torch.equal(subset(batch).logits, teacher(batch).logits)
    with pytest.raises(ConfigError, match="camera"):
        synthesisable(tiny_teacher(("gps", "beam_history")), ("camera", "beam_history"))


def test_synthesised_windows_have_every_modality_shape_and_range_and_are_seeded():
    subset = SensorSubsetTeacher(tiny_teacher(), ("camera_motion", "radar", "gps", "beam_history"))
    config = DataFreeConfig(steps=3, batch_size=6)
    first = synthesise_batch(subset, 6, SHAPE, config, np.random.default_rng(5))
    again = synthesise_batch(subset, 6, SHAPE, config, np.random.default_rng(5))
    other = synthesise_batch(subset, 6, SHAPE, config, np.random.default_rng(6))
    assert first["camera_motion"].shape == (6, L, *SIZE) and first["camera_motion"].dtype == np.uint8
    assert set(np.unique(first["camera_motion"])) <= {0, 1}
    assert first["radar"].dtype == np.float16 and first["radar"].shape == (6, L, *SIZE)
    assert first["gps"].shape == (6, L, 4) and first["gps"].dtype == np.float32
    assert first["beam_history"].shape == (6, L) and first["track"].shape == (6, J + 1)
    assert 0 <= first["beam_history"].min() and first["track"].max() < BEAMS
    for name in first:
        assert np.array_equal(first[name], again[name]), name
    assert not np.array_equal(first["gps"], other["gps"])


def test_synthesis_makes_the_teacher_confident_in_the_chosen_beams():
    teacher = tiny_teacher(("gps",))  # GPS the only lever: the chosen beams come from the inputs alone
    last = [m for m in teacher.classifier.modules() if isinstance(m, nn.Linear)][-1]
    last.weight.mul_(30.0)  # an untrained teacher's logits barely move; a sharper one shows the optimisation
    subset = SensorSubsetTeacher(teacher, ("gps",))

    def confidence(steps: int) -> float:
        windows = synthesise_batch(
            subset, 64, SHAPE, DataFreeConfig(steps=steps, lr=0.1), np.random.default_rng(0)
        )
        logits = subset({"gps": torch.from_numpy(windows["gps"])}).logits
        return float(
            nn.functional.cross_entropy(logits.flatten(0, 1), torch.from_numpy(windows["track"]).flatten())
        )

    assert confidence(60) < confidence(1) - 1.0  # measured 8.97 -> 6.69


def test_a_beam_history_student_gets_the_prior_tracks_as_they_are():
    subset = SensorSubsetTeacher(tiny_teacher(("beam_history",)), ("beam_history",))
    windows = synthesise_batch(subset, 5, SHAPE, DataFreeConfig(steps=3), np.random.default_rng(2))
    assert set(windows) == {"beam_history", "track"}
    assert windows["beam_history"].shape == (5, L) and windows["track"].shape == (5, J + 1)
