"""Every protocol's configure / node_step / aggregate, called as Flower's strategy tests call theirs:
with hand-made payloads, checking values (a consensus, an average, a model that moved toward what it
was sent), not only that something ran."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kdcs.collab import CollabConfig
from kdcs.collab.centre import Centre
from kdcs.collab.node_setup import DataViews, build_edge_nodes
from kdcs.collab.payload import Payload
from kdcs.collab.protocol import FINISH, KNOWLEDGE, NodeCard
from kdcs.collab.protocols import PROTOCOLS
from kdcs.collab.protocols.fedavg import LOAD
from kdcs.collab.protocols.proxy_exchange import PROXY_INPUTS, ROUND
from kdcs.config import load_config
from tests.fixtures.scenario_factory import make_scenario

TINY = ["hidden=16", "feature_size=16", "gps_hidden=16", "beam_embedding_dim=8", "history=4", "horizon=1"]
NODES = "nodes=[{name: n1, ap: ap1, partition: iid}, {name: n2, ap: ap1, partition: iid}, {name: n3, ap: ap1, partition: iid}]"
TARGET_BEAM = 61  # a beam the tiny scenario never uses: only what was sent can put mass there


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("protocol-steps") / "scenario"
    make_scenario(root / "ap1", num_sequences=20, sequence_length=12, modalities=("power", "gps", "beam"))
    return root


def config_for(scenario: Path, protocol: str, *extra: str) -> CollabConfig:
    return load_config(
        CollabConfig(),
        overrides=[
            f"data.scenario={scenario}",
            f"data.cache_root={scenario.parent / 'cache'}",
            "data.history=4",
            "data.horizon=1",
            "data.split=[0.6,0.2,0.2]",
            *(f"student.{item}" for item in TINY),
            "central.model.architecture=gps-beam-student",
            "central.model.modalities=[gps,beam_history]",
            *(f"central.model.{item}" for item in TINY),
            "central.train.epochs=1",
            "central.train.num_threads=1",
            "train.num_threads=1",
            "train.batch_size=8",
            "train.optim.lr=0.01",
            "proxy_fraction=0.25",
            "local_epochs=2",
            "min_epoch_steps=12",
            "kd_weight=5.0",
            "kd_temperature=1.0",
            NODES,
            f"protocol={protocol}",
            *extra,
        ],
    )


def setting(scenario: Path, folder: Path, protocol: str, *extra: str):
    """(protocol with setup done, its nodes) as the local engine builds them."""
    config = config_for(scenario, protocol, *extra)
    views = DataViews(config)
    nodes = build_edge_nodes(config, views, folder)
    protocol_object = PROTOCOLS[protocol](
        config, {name: NodeCard.of(node) for name, node in nodes.items()}, Centre(config, views, folder)
    )
    protocol_object.setup()
    return protocol_object, nodes


def peaked(shape: tuple[int, ...], beam: int = TARGET_BEAM) -> np.ndarray:
    """Logits that put (almost) all the mass on one beam."""
    logits = np.zeros(shape, dtype=np.float32)
    logits[..., beam] = 12.0
    return logits


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def mass_on_target(logits: np.ndarray) -> float:
    return float(softmax(logits)[..., TARGET_BEAM].mean())


def random_logits(protocol, seed: int) -> np.ndarray:
    card = next(iter(protocol.cards.values()))
    shape = (protocol.proxy_count, card.num_slots, card.num_beams)
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32) * 3


# ---------------------------------------------------------------------------------- fed-distill


def test_fed_distill_consensus_is_the_log_mean_probability_of_this_rounds_replies(scenario, tmp_path):
    protocol, _ = setting(scenario, tmp_path, "fed-distill", "consensus=mean")
    first = protocol.configure(1, ["n1", "n2", "n3"])
    assert {p.kind for p in first.values()} == {PROXY_INPUTS}
    assert all(KNOWLEDGE not in p.tensors for p in first.values())  # nothing to distil yet
    a, b, c = (random_logits(protocol, seed) for seed in (1, 2, 3))

    protocol.aggregate(1, {"n1": Payload("logits", {"logits": a}), "n2": Payload("logits", {"logits": b})})

    np.testing.assert_allclose(np.exp(protocol.consensus), (softmax(a) + softmax(b)) / 2, rtol=1e-5, atol=1e-7)
    second = protocol.configure(2, ["n1", "n2", "n3"])
    assert second["n1"].kind == ROUND and "window_ids" not in second["n1"].tensors  # inputs travel once
    assert second["n3"].kind == PROXY_INPUTS  # n3 never answered: it still needs them
    for name in ("n1", "n2", "n3"):
        np.testing.assert_array_equal(second[name].tensors[KNOWLEDGE], protocol.consensus)
    # a node that answers nothing this round adds nothing, even if it answered before
    protocol.aggregate(2, {"n3": Payload("logits", {"logits": c})})
    np.testing.assert_allclose(np.exp(protocol.consensus), softmax(c), rtol=1e-5, atol=1e-7)


def test_fed_distill_can_weight_the_consensus_by_training_windows(scenario, tmp_path):
    protocol, _ = setting(scenario, tmp_path, "fed-distill", "consensus=windows")
    a, b = random_logits(protocol, 1), random_logits(protocol, 2)

    protocol.aggregate(
        1,
        {
            "n1": Payload("logits", {"logits": a}, {"num_windows": 30}),
            "n2": Payload("logits", {"logits": b}, {"num_windows": 10}),
        },
    )

    np.testing.assert_allclose(
        np.exp(protocol.consensus), 0.75 * softmax(a) + 0.25 * softmax(b), rtol=1e-5, atol=1e-7
    )


def test_fed_distill_node_step_distils_the_knowledge_it_was_sent(scenario, tmp_path):
    protocol, nodes = setting(scenario, tmp_path / "kd", "fed-distill")
    _, twins = setting(scenario, tmp_path / "alone", "fed-distill")
    instruction = protocol.configure(1, ["n1"])["n1"]
    knowledge = peaked((protocol.proxy_count, 2, 64))
    with_knowledge = Payload(instruction.kind, {**instruction.tensors, KNOWLEDGE: knowledge}, instruction.meta)

    reply = protocol.node_step(nodes["n1"], with_knowledge)
    protocol.node_step(twins["n1"], instruction)

    taught, alone = mass_on_target(reply.tensors["logits"]), mass_on_target(twins["n1"].proxy_logits())
    print(f"probability on the sent beam: {taught:.3f} distilled vs {alone:.3f} without knowledge")
    assert taught > 0.5 and alone < 0.05
    np.testing.assert_array_equal(reply.tensors["logits"], nodes["n1"].proxy_logits())


def test_the_final_broadcast_carries_the_last_consensus_and_deploys_the_best_epoch(scenario, tmp_path):
    protocol, nodes = setting(scenario, tmp_path, "fed-distill")
    for name, payload in protocol.configure(1, ["n1", "n2"]).items():
        protocol.node_step(nodes[name], payload)
    protocol.aggregate(1, {"n1": Payload("logits", {"logits": random_logits(protocol, 1)})})

    final = protocol.finish(["n1", "n2", "n3"])

    np.testing.assert_array_equal(final["n1"].tensors[KNOWLEDGE], protocol.consensus)
    assert KNOWLEDGE not in final["n3"].tensors  # it never received the proxy windows
    assert final["n1"].kind == FINISH
    reply = protocol.node_step(nodes["n1"], final["n1"])
    assert reply.kind == "ack" and 0.0 <= reply.meta["metrics"]["val_top1"] <= 1.0


# ---------------------------------------------------------------------------------- mutual


def test_mutual_relays_each_node_the_latest_logits_of_the_others_only(scenario, tmp_path):
    protocol, _ = setting(scenario, tmp_path, "mutual")
    a, b = random_logits(protocol, 1), random_logits(protocol, 2)

    protocol.aggregate(1, {"n1": Payload("logits", {"logits": a}), "n2": Payload("logits", {"logits": b})})

    sent = protocol.configure(2, ["n1", "n2", "n3"])
    np.testing.assert_array_equal(sent["n1"].tensors[KNOWLEDGE], b[:, None])  # [P, K=1, S, C]
    np.testing.assert_array_equal(sent["n3"].tensors[KNOWLEDGE], np.stack([a, b], axis=1))


def test_mutual_node_step_distils_its_peers(scenario, tmp_path):
    protocol, nodes = setting(scenario, tmp_path, "mutual")
    instruction = protocol.configure(1, ["n1"])["n1"]
    peers = np.stack([peaked((protocol.proxy_count, 2, 64))] * 2, axis=1)
    reply = protocol.node_step(
        nodes["n1"], Payload(instruction.kind, {**instruction.tensors, KNOWLEDGE: peers}, instruction.meta)
    )
    assert mass_on_target(reply.tensors["logits"]) > 0.5


# ---------------------------------------------------------------------------------- ensemble-to-central


@pytest.mark.parametrize("weight, expect_taught", [(5.0, True), (0.0, False)])
def test_ensemble_to_central_distils_the_node_predictions_into_its_student(
    scenario, tmp_path, weight, expect_taught
):
    protocol, _ = setting(scenario, tmp_path, "ensemble-to-central", f"kd_weight={weight}")
    replies = {name: Payload("logits", {"logits": peaked((protocol.proxy_count, 2, 64))}) for name in ("n1", "n2")}

    protocol.aggregate(1, replies)

    student = protocol.student
    logits = student.logits_on(protocol.services.proxy_inputs(student.modalities).window_ids)
    assert (mass_on_target(logits) > 0.5) == expect_taught


# ---------------------------------------------------------------------------------- edge-kd and central-kd


def test_edge_kd_sends_the_teachers_labels_and_the_node_distils_them(scenario, tmp_path):
    protocol, nodes = setting(scenario, tmp_path, "edge-kd")
    hello = {name: protocol.handshake_step(node) for name, node in nodes.items()}
    protocol.aggregate_handshake(hello)

    sent = protocol.configure(1, ["n1"])["n1"]

    ids = sent.tensors["ids"]
    np.testing.assert_array_equal(sent.tensors["logits"], protocol.teacher.logits_on(ids))
    # and on the proxy windows, whose inputs go with them (the node distils there at every step too)
    proxy_ids = sent.tensors["window_ids"]
    np.testing.assert_array_equal(sent.tensors["proxy_logits"], protocol.teacher.logits_on(proxy_ids))
    labels = {key: peaked(sent.tensors[key].shape) for key in ("logits", "proxy_logits")}
    handmade = Payload(sent.kind, {**sent.tensors, **labels}, sent.meta)
    protocol.node_step(nodes["n1"], handmade)
    assert mass_on_target(nodes["n1"].logits_on(ids)) > 0.5


def test_edge_kd_labels_the_proxy_windows_once_for_nodes_with_the_same_sensors(scenario, tmp_path, monkeypatch):
    protocol, nodes = setting(scenario, tmp_path, "edge-kd")
    hello = {name: protocol.handshake_step(node) for name, node in nodes.items()}
    protocol.aggregate_handshake(hello)
    labelled = []
    logits_on = protocol.teacher.logits_on
    monkeypatch.setattr(protocol.teacher, "logits_on", lambda ids: labelled.append(len(ids)) or logits_on(ids))

    sent = protocol.configure(1, ["n1", "n2", "n3"])

    proxy_ids = sent["n1"].tensors["window_ids"]
    assert labelled.count(len(proxy_ids)) == 1, labelled  # the proxy set once; each node's own windows once
    assert len(labelled) == 1 + len(nodes)
    for name in ("n1", "n2", "n3"):
        np.testing.assert_array_equal(sent[name].tensors["window_ids"], proxy_ids)
        np.testing.assert_array_equal(sent[name].tensors["proxy_logits"], logits_on(proxy_ids))


def test_central_kd_ships_its_students_and_nodes_deploy_the_best_one_received(scenario, tmp_path):
    protocol, nodes = setting(scenario, tmp_path, "central-kd")

    sent = protocol.configure(1, ["n1"])["n1"]

    student = protocol.students["n1"].weights()
    assert all(np.array_equal(sent.tensors[key], value) for key, value in student.items())
    protocol.node_step(nodes["n1"], sent)
    assert all(np.array_equal(nodes["n1"].weights()[key], value) for key, value in student.items())
    scrambled = {key: np.random.default_rng(0).normal(size=v.shape).astype(v.dtype) for key, v in student.items()}
    nodes["n1"].load_weights(scrambled)
    protocol.node_step(nodes["n1"], protocol.finish(["n1"])["n1"])
    assert all(np.array_equal(nodes["n1"].weights()[key], value) for key, value in student.items())


# ---------------------------------------------------------------------------------- fedavg and local-only


def test_fedavg_node_trains_from_the_global_model_and_the_centre_averages_by_windows(scenario, tmp_path):
    protocol, nodes = setting(scenario, tmp_path, "fedavg")
    sent = protocol.configure(1, ["n1", "n2"])
    assert all(np.array_equal(sent["n1"].tensors[k], v) for k, v in protocol.global_weights.items())

    replies = {name: protocol.node_step(nodes[name], sent[name]) for name in ("n1", "n2")}

    counts = {name: replies[name].meta["num_windows"] for name in replies}
    assert counts == {name: len(nodes[name].data.windows["train"]) for name in replies}
    key = next(k for k, v in protocol.global_weights.items() if v.dtype == np.float32 and v.size > 1)
    assert not np.allclose(replies["n1"].tensors[key], protocol.global_weights[key])  # it trained
    protocol.aggregate(1, replies)
    total = counts["n1"] + counts["n2"]
    expected = (counts["n1"] * replies["n1"].tensors[key] + counts["n2"] * replies["n2"].tensors[key]) / total
    np.testing.assert_allclose(protocol.global_weights[key], expected, rtol=1e-5, atol=1e-6)
    assert protocol.finish(["n1"])["n1"].kind == LOAD


def test_local_only_trains_each_node_on_its_own_and_combines_nothing(scenario, tmp_path):
    protocol, nodes = setting(scenario, tmp_path, "local-only")
    before = nodes["n1"].weights()

    reply = protocol.node_step(nodes["n1"], protocol.configure(1, ["n1"])["n1"])

    assert reply.kind == "ack" and reply.tensors == {}
    assert any(not np.array_equal(before[k], v) for k, v in nodes["n1"].weights().items())
