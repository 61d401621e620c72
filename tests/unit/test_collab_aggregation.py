"""FedAvg averaging and the fed-distill ensemble, on known values."""

from __future__ import annotations

import numpy as np
import pytest

from kdcs.collab.payload import Payload
from kdcs.collab.protocol import NodeCard
from kdcs.collab.protocols.fedavg import check_identical_students, weighted_average
from kdcs.collab.protocols.proxy_exchange import log_mean_probabilities
from kdcs.config import ConfigError


def _weights(scale: float) -> dict[str, np.ndarray]:
    return {"w": np.full((2, 3), scale, np.float32), "steps": np.array(int(scale), np.int64)}


def test_fedavg_of_identical_models_is_that_model():
    replies = {name: Payload("weights", _weights(1.5)) for name in ("a", "b", "c")}
    averaged = weighted_average(replies, {"a": 10, "b": 3, "c": 1})
    np.testing.assert_array_equal(averaged["w"], _weights(1.5)["w"])


def test_fedavg_weights_by_window_count_and_keeps_integer_buffers_whole():
    replies = {"a": Payload("weights", _weights(1.0)), "b": Payload("weights", _weights(4.0))}
    averaged = weighted_average(replies, {"a": 3, "b": 1})
    np.testing.assert_allclose(averaged["w"], 1.75)
    assert averaged["steps"].dtype == np.int64 and int(averaged["steps"]) == 4


def _card(name: str, architecture: str, shape=(4, 4)) -> NodeCard:
    return NodeCard(name, {"architecture": architecture, "hidden": 16}, {"w": shape}, 2, 64)


def test_fedavg_refuses_different_architectures_naming_the_node():
    cards = {"a": _card("a", "gps-beam-student"), "b": _card("b", "radar-student")}
    with pytest.raises(ConfigError, match="node 'b' differs from node 'a' in architecture"):
        check_identical_students(cards)
    check_identical_students({"a": _card("a", "x"), "b": _card("b", "x")})


def test_ensemble_soft_labels_are_the_mean_probability():
    first = np.log(np.array([[0.7, 0.2, 0.1]]))
    second = np.log(np.array([[0.1, 0.2, 0.7]]))
    ensemble = log_mean_probabilities(np.stack([first, second]))
    np.testing.assert_allclose(np.exp(ensemble), [[0.4, 0.2, 0.4]], atol=1e-6)
