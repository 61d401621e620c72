"""Typed settings of data-free KD (`kd.data_free.*` of a RunConfig; YAML and --set hold overrides)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from kdcs.config import ConfigError

VALIDATION_SOURCES = ("synthetic", "real")
MASK_KINDS = ("pixels", "boxes")


@dataclass(frozen=True)
class TrackPrior:
    """The beam sequences synthetic windows follow: a point moving smoothly over the codebook.

    A vehicle passing an AP sweeps the beam index at a slowly changing rate; the measured best beam
    jitters around that path (neighbouring beams swap from sweep to sweep). This prior states that
    with three numbers chosen from the codebook's size, not fitted to any data:
    beam(s) = round(b_t + rate * s + curvature * s^2 / 2 + jitter), clipped to the codebook, with
    b_t uniform over the beams, rate uniform in [-max_rate, max_rate] beams per slot, curvature
    normal with std curvature_std, and jitter normal with std jitter_std (beams), s = slot - t.
    """

    max_rate: float = 3.0
    curvature_std: float = 0.15
    jitter_std: float = 0.5

    def __post_init__(self) -> None:
        for key in ("max_rate", "curvature_std", "jitter_std"):
            if getattr(self, key) < 0:
                raise ConfigError(
                    f"config key 'kd.data_free.track.{key}' must be >= 0, got {getattr(self, key)}"
                )


@dataclass(frozen=True)
class GpsPrior:
    """Where a synthetic vehicle may be: positions within radius_m of the AP, speeds up to
    max_speed_m_per_slot (2 m per slot is 18 m/s at DeepSense's 9 Hz), a constant acceleration."""

    radius_m: float = 60.0
    max_speed_m_per_slot: float = 2.0

    def __post_init__(self) -> None:
        if self.radius_m <= 0 or self.max_speed_m_per_slot <= 0:
            raise ConfigError(
                "config keys 'kd.data_free.gps.radius_m' and '.max_speed_m_per_slot' must be > 0"
            )


@dataclass(frozen=True)
class MaskPrior:
    """How synthetic camera motion masks are parametrised (`kd.data_free.masks.*`).

    kind: "pixels" (every pixel a free logit, `frames.ImageFrames`) or "boxes" (the union of `boxes`
    boxes per window, each moving at a constant velocity, `mask_boxes.MaskBoxes`). For boxes:
    half-sizes between min_half and max_half and speeds up to max_speed per slot, as fractions of the
    image's width (columns) and height (rows). The defaults are what the default scenario's training
    masks hold at 64 x 64 (blobs 3-13 pixels across moving up to 3 pixels a slot), read off them by eye,
    not fitted: knowledge of real masks, stated as such.
    """

    kind: Literal["pixels", "boxes"] = "pixels"
    boxes: int = 3
    min_half: float = 0.02
    max_half: float = 0.1
    max_speed: float = 0.05

    def __post_init__(self) -> None:
        if self.kind not in MASK_KINDS:
            raise ConfigError(
                f"config key 'kd.data_free.masks.kind' must be one of {MASK_KINDS}, got {self.kind!r}"
            )
        if self.boxes < 1:
            raise ConfigError(f"config key 'kd.data_free.masks.boxes' must be >= 1, got {self.boxes}")
        if not 0 < self.min_half <= self.max_half <= 0.5:
            raise ConfigError(
                "config keys 'kd.data_free.masks.min_half' and '.max_half' must satisfy "
                f"0 < min_half <= max_half <= 0.5, got {self.min_half} and {self.max_half}"
            )
        if self.max_speed < 0:
            raise ConfigError(f"config key 'kd.data_free.masks.max_speed' must be >= 0, got {self.max_speed}")


@dataclass(frozen=True)
class DataFreeConfig:
    """How a `data-free` run synthesises its training windows (kdcs.distill.data_free).

    windows / val_windows: synthetic windows to train on / to select and early-stop on.
    batch_size: windows optimised together (the BatchNorm statistics are matched per batch).
    steps, lr: Adam steps and learning rate of each batch's synthesis.
    bn_weight: weight of the BatchNorm-statistics prior (image modalities only: the GPS and beam
        encoders hold no BatchNorm). image_tv_weight: total variation of image frames.
        temporal_weight: change between consecutive frames of a window (temporal consistency).
    real_fraction: share of the real training windows mixed in (0 = data-free; 0.05 = 5%); their
        labels are real, their teacher outputs from the same sensor-subset teacher.
    validate_on: "synthetic" (held-out synthetic windows, agreement with the teacher: no real data
        at all) or "real" (the scenario's validation split).
    masks: how camera motion masks are parametrised (`MaskPrior`: free pixels or moving boxes).
    synthetic_set: a synthetic-set file written by an earlier data-free run with the same teacher,
        modalities, window and settings (`synthetic_windows.safetensors`), reused instead of
        synthesising again; None = synthesise.
    """

    windows: int = 2048
    val_windows: int = 256
    batch_size: int = 256
    steps: int = 200
    lr: float = 0.1
    bn_weight: float = 0.05
    image_tv_weight: float = 0.001
    temporal_weight: float = 0.01
    real_fraction: float = 0.0
    validate_on: Literal["synthetic", "real"] = "synthetic"
    synthetic_set: str | None = None
    track: TrackPrior = field(default_factory=TrackPrior)
    gps: GpsPrior = field(default_factory=GpsPrior)
    masks: MaskPrior = field(default_factory=MaskPrior)

    def __post_init__(self) -> None:
        positive = {
            "windows": self.windows,
            "val_windows": self.val_windows,
            "batch_size": self.batch_size,
            "steps": self.steps,
            "lr": self.lr,
        }
        for key, value in positive.items():
            if value <= 0:
                raise ConfigError(f"config key 'kd.data_free.{key}' must be > 0, got {value}")
        for key in ("bn_weight", "image_tv_weight", "temporal_weight"):
            if getattr(self, key) < 0:
                raise ConfigError(f"config key 'kd.data_free.{key}' must be >= 0, got {getattr(self, key)}")
        if not 0.0 <= self.real_fraction <= 1.0:
            raise ConfigError(
                f"config key 'kd.data_free.real_fraction' must be in [0, 1], got {self.real_fraction}"
            )
        if self.validate_on not in VALIDATION_SOURCES:
            raise ConfigError(
                f"config key 'kd.data_free.validate_on' must be one of {VALIDATION_SOURCES}, got {self.validate_on!r}"
            )
