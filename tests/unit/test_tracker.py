"""Unit tests for kdcs.deploy.tracker: streaming equals the window model on both backends; missing inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kdcs.deploy import BeamTracker, DeployError, TorchStreamingBackend
from kdcs.eval.complexity import example_batch
from kdcs.models import ModelConfig, build_model
from tests.fixtures.training import climbing_beam_arrays
from tests.unit.test_export import HISTORY, trained_export


def _window_logits(model, inputs: dict[str, np.ndarray], end: int) -> np.ndarray:
    """The window model on slots end-L+1..end of per-slot arrays [T, ...]: logits [J+1, C]."""
    history = model.config.history
    batch = {
        m: torch.from_numpy(np.ascontiguousarray(x[end - history + 1 : end + 1][None]))
        for m, x in inputs.items()
    }
    with torch.inference_mode():
        return model.eval()(batch).logits[0].numpy()


def _stream(tracker: BeamTracker, inputs: dict[str, np.ndarray], slots: int, drop=lambda slot: ()) -> list:
    return [
        tracker.step({m: (None if m in drop(t) else x[t]) for m, x in inputs.items()}) for t in range(slots)
    ]


def _camera_student(readout: str):
    torch.manual_seed(0)
    config = ModelConfig(
        architecture="ds-student",
        modalities=("camera_motion", "gps"),
        image_size=(16, 16),
        history=4,
        horizon=2,
        readout=readout,
        depthwise_channels=(4, 8),
        dropout=0.0,
    )
    model = build_model(config).eval()
    inputs = {m: x[0].numpy() for m, x in example_batch(config, 1, seed=1).items()}  # [L, ...]
    more = {
        m: x[0].numpy()
        for m, x in example_batch(config.__class__(**{**config.__dict__, "history": 9}), 1, 2).items()
    }
    return model, {m: np.concatenate([inputs[m], more[m]]) for m in inputs}  # 13 slots


@pytest.mark.parametrize("readout", ["zero-append", "multi-head"])
def test_torch_stream_equals_the_window_model_slot_after_slot(readout):
    model, inputs = _camera_student(readout)
    tracker = BeamTracker(TorchStreamingBackend(model), top_k=5)

    predictions = _stream(tracker, inputs, 13)

    assert [p.ready for p in predictions] == [False] * 3 + [True] * 10  # a window needs L = 4 slots
    for end in range(3, 13):
        expected = _window_logits(model, inputs, end)
        assert np.abs(predictions[end].logits - expected).max() <= 1e-4
        assert predictions[end].top_k.tolist() == np.argsort(-expected, axis=-1)[:, :5].tolist()
    assert tracker.stats.slots == 13 and tracker.stats.predictions == 10


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    return trained_export(tmp_path_factory)


def _climbing_sequence() -> dict[str, np.ndarray]:
    arrays = climbing_beam_arrays(num_sequences=1, sequence_length=14, seed=3)
    history = np.concatenate([[64], arrays["beam"][:-1]])  # beam(s-1), pad at the start
    return {"gps": arrays["gps"], "beam_history": history.astype(np.int64)}


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_onnx_stream_equals_the_window_model(exported, precision):
    run_dir, export_dir, _ = exported
    model = BeamTracker.from_checkpoint(run_dir).backend._head.model
    tracker = BeamTracker.from_export(export_dir, precision=precision)
    inputs = _climbing_sequence()

    predictions = _stream(tracker, inputs, 14)

    tolerance = 1e-4 if precision == "fp32" else 0.05
    for end in range(HISTORY - 1, 14):
        expected = _window_logits(model, inputs, end)
        assert np.abs(predictions[end].logits - expected).max() <= tolerance
        assert predictions[end].top_k[:, 0].tolist() == expected.argmax(-1).tolist()


def test_hold_reuses_the_last_observation_and_counts_it():
    model, inputs = _camera_student("zero-append")
    tracker = BeamTracker(TorchStreamingBackend(model), missing_policy="hold")
    held = {m: x.copy() for m, x in inputs.items()}
    held["camera_motion"][6] = held["camera_motion"][5]  # what "hold" should feed at slot 6

    predictions = _stream(tracker, inputs, 9, drop=lambda t: ("camera_motion",) if t == 6 else ())

    for end in (6, 7, 8):
        assert np.abs(predictions[end].logits - _window_logits(model, held, end)).max() <= 1e-4
    assert predictions[6].missing == ("camera_motion",) and predictions[7].missing == ()
    assert tracker.stats.missing == {"camera_motion": 1, "gps": 0}
    assert (tracker.stats.held, tracker.stats.zeroed) == (1, 0)


def test_zero_feeds_a_blank_input_and_a_garbled_reading_counts_as_missing():
    model, inputs = _camera_student("zero-append")
    tracker = BeamTracker(TorchStreamingBackend(model), missing_policy="zero")
    blanked = {m: x.copy() for m, x in inputs.items()}
    blanked["camera_motion"][5] = 0
    blanked["gps"][7] = 0
    garbled = {m: x.copy() for m, x in inputs.items()}
    garbled["gps"][7] = np.nan

    predictions = _stream(tracker, garbled, 9, drop=lambda t: ("camera_motion",) if t == 5 else ())

    assert np.abs(predictions[8].logits - _window_logits(model, blanked, 8)).max() <= 1e-4
    assert tracker.stats.missing == {"camera_motion": 1, "gps": 1}
    assert (tracker.stats.held, tracker.stats.zeroed) == (0, 2)


def test_a_slot_with_every_input_missing_keeps_the_stream_going(exported):
    _, export_dir, _ = exported
    tracker = BeamTracker.from_export(export_dir, missing_policy="hold")
    inputs = _climbing_sequence()

    predictions = _stream(tracker, inputs, 10, drop=lambda t: ("gps", "beam_history") if t in (0, 6) else ())

    assert all(p.ready for p in predictions[HISTORY - 1 :])
    assert tracker.stats.missing == {"gps": 2, "beam_history": 2}
    assert (tracker.stats.held, tracker.stats.zeroed) == (2, 2)  # nothing to hold at the first slot


def test_reset_starts_a_new_window_and_bad_inputs_are_named():
    model, inputs = _camera_student("zero-append")
    tracker = BeamTracker(TorchStreamingBackend(model))
    _stream(tracker, inputs, 5)

    tracker.reset()

    assert not tracker.step({m: x[0] for m, x in inputs.items()}).ready
    with pytest.raises(DeployError, match="'gps' observation has shape \\(3,\\)"):
        tracker.step({"camera_motion": inputs["camera_motion"][0], "gps": np.zeros(3)})
    with pytest.raises(ValueError, match="missing_policy"):
        BeamTracker(TorchStreamingBackend(model), missing_policy="guess")
