"""World-frame fusion weighted by validated position error, and the centre's position diagnostics:
hand-made uploads whose weighted mean is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kdcs.collab import CollabConfig
from kdcs.collab.payload import Payload
from kdcs.collab.protocol import NodeCard
from kdcs.collab.protocols.world_exchange import (
    POSITION_MSE,
    POSITIONS,
    WorldFedDistillProtocol,
    WorldMutualProtocol,
)
from kdcs.collab.validation import validate_collab_config
from kdcs.collab.world_frame import calibrated, position_error_m, validated_uploads
from kdcs.config import ConfigError, load_config

P, S = 3, 2  # proxy windows, slots


def upload(east: float, std: float = 1.0) -> np.ndarray:
    """[P, S, 4]: every window and slot at (east, 0), with the spread `std` the node claims."""
    one = np.array([east, 0.0, math.log(std), math.log(std)], dtype=np.float32)
    return np.broadcast_to(one, (P, S, 4)).copy()


def mse(value: float) -> list[list[float]]:
    return [[value, value]] * S


class Services:
    """What the world-frame protocols ask of the centre; the centre's GPS puts the vehicle at east 0."""

    def __init__(self) -> None:
        self.diagnostics: dict = {}

    def proxy_count(self) -> int:
        return P

    def world_origin(self) -> tuple[float, float]:
        return (40.0, -75.0)

    def check_geometry(self, ap, codebook) -> None:
        return None

    def proxy_gps_positions(self) -> np.ndarray:
        return np.zeros((P, S, 2))


def protocol(kind, fusion: str):
    names = ("a", "b", "c")
    nodes = "[" + ", ".join(f"{{name: {n}, ap: ap1}}" for n in names) + "]"
    config = load_config(
        CollabConfig(),
        overrides=[
            f"nodes={nodes}",
            "knowledge_frame=world",
            f"world.fusion={fusion}",
            "protocol=fed-distill",
        ],
    )
    cards = {n: NodeCard(n, {"modalities": ["radar"]}, {}, S, 64) for n in names}
    made = kind(config, cards, Services())
    made.setup()
    return made


def reply(positions: np.ndarray, error: list | None = None) -> Payload:
    meta = {"metrics": {}} if error is None else {"metrics": {}, POSITION_MSE: error}
    return Payload(POSITIONS, {POSITIONS: positions}, meta)


def test_calibrated_positions_carry_the_validated_error_as_their_spread():
    out = calibrated(upload(5.0, std=0.1), np.array(mse(4.0)))

    np.testing.assert_allclose(out[..., :2], upload(5.0)[..., :2])
    np.testing.assert_allclose(out[..., 2:], math.log(2.0), rtol=1e-6)  # sqrt(4 m^2)


def test_validated_uploads_keep_only_nodes_with_an_error_and_fall_back_to_all():
    uploads = {"a": upload(0.0), "b": upload(10.0)}

    assert set(validated_uploads(uploads, {"a": np.array(mse(1.0)), "b": None})) == {"a"}
    assert set(validated_uploads(uploads, {"a": None, "b": None})) == {"a", "b"}


def test_validated_fusion_is_the_inverse_error_weighted_mean_of_validated_nodes():
    # Prepare: a validated node at east 0 (mse 1), a validated one at east 10 (mse 4), and an
    # unvalidated one at east 100 claiming a tiny spread
    fed = protocol(WorldFedDistillProtocol, "validated")
    replies = {
        "a": reply(upload(0.0, std=5.0), mse(1.0)),
        "b": reply(upload(10.0, std=0.2), mse(4.0)),
        "c": reply(upload(100.0, std=0.01)),
    }

    fed.aggregate(1, replies)

    # weights 1/1 and 1/4 per axis: mean = (0 * 1 + 10 * 0.25) / 1.25 = 2; c is left out
    np.testing.assert_allclose(fed.consensus[..., 0], 2.0, rtol=1e-5)
    np.testing.assert_allclose(fed.consensus[..., 1], 0.0, atol=1e-6)
    # the fused spread: (1 * (1 + 2^2) + 0.25 * (4 + 8^2)) / 1.25 = 17.6 m^2 per axis
    np.testing.assert_allclose(fed.consensus[..., 2], 0.5 * math.log(17.6), rtol=1e-5)
    errors = fed.services.diagnostics["world_position_error_m"][0]
    assert errors["fused_nodes"] == ["a", "b"]
    assert errors["fused"] == pytest.approx(2.0, rel=1e-5)  # the centre's GPS says east 0
    assert errors["nodes"] == pytest.approx({"a": 0.0, "b": 10.0, "c": 100.0})


def test_precision_fusion_trusts_the_spread_each_node_claims():
    fed = protocol(WorldFedDistillProtocol, "precision")
    replies = {"a": reply(upload(0.0, std=1.0), mse(1.0)), "b": reply(upload(10.0, std=0.5), mse(1.0))}

    fed.aggregate(1, replies)

    # weights 1 and 4: mean = 40 / 5 = 8
    np.testing.assert_allclose(fed.consensus[..., 0], 8.0, rtol=1e-5)


def test_a_malformed_reported_error_counts_as_none():
    fed = protocol(WorldFedDistillProtocol, "validated")
    replies = {
        "a": reply(upload(0.0), mse(1.0)),
        "b": reply(upload(10.0), [[1.0, -1.0]] * S),  # negative
        "c": reply(upload(20.0), [[1.0, 1.0]]),  # wrong shape
    }

    fed.aggregate(1, replies)

    assert fed.validated["b"] is None and fed.validated["c"] is None
    np.testing.assert_allclose(fed.consensus[..., 0], 0.0, atol=1e-6)


def test_mutual_relays_only_validated_neighbours_calibrated():
    mutual = protocol(WorldMutualProtocol, "validated")
    mutual.aggregate(
        1, {"a": reply(upload(0.0), mse(9.0)), "b": reply(upload(10.0)), "c": reply(upload(5.0), mse(1.0))}
    )

    relayed = mutual.knowledge_for("b")  # b's neighbours: a and c, both validated

    assert relayed.shape == (P, 2, S, 4)
    np.testing.assert_allclose(np.sort(relayed[0, :, 0, 2]), np.log([1.0, 3.0]), rtol=1e-6)
    assert mutual.knowledge_for("a").shape == (P, 1, S, 4)  # c only: b never validated


def test_position_error_is_the_rms_distance_over_finite_truths():
    predicted = np.array([[3.0, 4.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    truth = np.array([[0.0, 0.0], [np.nan, 0.0]])

    assert position_error_m(predicted, truth) == pytest.approx(5.0)
    assert math.isnan(position_error_m(predicted, np.full((2, 2), np.nan)))


def test_unknown_fusion_is_a_config_error():
    with pytest.raises(ConfigError, match="world.fusion"):
        load_config(CollabConfig(), overrides=["world.fusion=median"])


def test_gps_std_must_be_positive():
    config = load_config(
        CollabConfig(),
        overrides=[
            "data.scenario=x",
            "nodes=[{name: a, ap: ap1}]",
            "knowledge_frame=world",
            "protocol=fed-distill",
            "world.gps_std_m=0",
        ],
    )

    with pytest.raises(ConfigError, match="world.gps_std_m"):
        validate_collab_config(config)


def test_fed_distill_diagnostics_name_only_the_nodes_fused_this_round():
    # Prepare: a and b reply in round 1; only a replies in round 2 (b's round-1 upload is still its latest)
    fed = protocol(WorldFedDistillProtocol, "precision")
    fed.aggregate(1, {"a": reply(upload(0.0)), "b": reply(upload(10.0))})

    fed.aggregate(2, {"a": reply(upload(2.0))})

    first, second = fed.services.diagnostics["world_position_error_m"]
    assert first["fused_nodes"] == ["a", "b"]
    assert second["fused_nodes"] == ["a"]
    assert second["fused"] == pytest.approx(2.0, rel=1e-5)  # the consensus is a's alone
    assert second["nodes"] == pytest.approx({"a": 2.0, "b": 10.0})
