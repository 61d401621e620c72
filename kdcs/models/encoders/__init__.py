"""Per-modality encoders: each maps one slot's input, time folded into the batch, to [N, D]."""

from __future__ import annotations

from kdcs.models.encoders.beam_history import BeamHistoryEncoder
from kdcs.models.encoders.depthwise_cnn import DepthwiseSeparableCNN
from kdcs.models.encoders.gps import GpsEncoder, scale_gps
from kdcs.models.encoders.image import ImageEncoder
from kdcs.models.encoders.student_cnn import PaperStudentCNN
from kdcs.models.encoders.teacher_cnn import PaperTeacherCNN

__all__ = [
    "BeamHistoryEncoder",
    "DepthwiseSeparableCNN",
    "GpsEncoder",
    "ImageEncoder",
    "PaperStudentCNN",
    "PaperTeacherCNN",
    "scale_gps",
]
