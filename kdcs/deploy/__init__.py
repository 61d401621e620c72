"""Deployment: ONNX export (fp32 + int8) of trained students and a streaming beam tracker."""

from __future__ import annotations

from kdcs.deploy.export import export_onnx
from kdcs.deploy.onnx_model import OnnxBeamModel, load_exported
from kdcs.deploy.replay import replay
from kdcs.deploy.source import DeployError, load_student
from kdcs.deploy.streaming_backends import OnnxStreamingBackend, TorchStreamingBackend
from kdcs.deploy.tracker import BeamTracker, SlotPrediction, TrackerStats

__all__ = [
    "BeamTracker",
    "DeployError",
    "OnnxBeamModel",
    "OnnxStreamingBackend",
    "SlotPrediction",
    "TorchStreamingBackend",
    "TrackerStats",
    "export_onnx",
    "load_exported",
    "load_student",
    "replay",
]
