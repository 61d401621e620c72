"""The proxy set is the centre's: no node's training, validation or proxy windows include another
node's private windows, for every protocol and partition; its inputs travel exactly and without labels."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from kdcs.collab import CollabConfig
from kdcs.collab.centre import Centre
from kdcs.collab.node import CollabNode
from kdcs.collab.node_setup import DataViews, build_edge_nodes
from kdcs.collab.payload import Payload
from kdcs.collab.protocols import PROTOCOLS
from kdcs.collab.proxy_set import ProxyInputs, reserved_sequences
from kdcs.config import load_config
from kdcs.data.windows import WindowBatcher
from kdcs.jobs.collab import run_collab
from tests.fixtures.scenario_factory import make_scenario
from tests.unit.test_collab_protocol_steps import TINY

PARTITIONS = ("iid", "dirichlet", "ap")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("proxy-set") / "scenario"
    for seed, ap in enumerate(("ap1", "ap2", "ap3")):
        make_scenario(root / ap, num_sequences=16, sequence_length=10, modalities=("power", "gps", "beam"), seed=seed)
    return root


def nodes_for(protocol: str, partition: str) -> str:
    if partition != "ap":
        return "nodes=[" + ", ".join(f"{{name: n{k}, ap: ap1, partition: {partition}}}" for k in (1, 2, 3)) + "]"
    if PROTOCOLS[protocol].nodes_at_any_ap:  # one node per AP, each with every window of its AP
        return "nodes=[" + ", ".join(f"{{name: n{k}, ap: ap{k}, partition: ap}}" for k in (1, 2, 3)) + "]"
    return "nodes=[{name: n1, ap: ap1, partition: ap}]"  # only one node can hold a whole AP


def config_for(scenario: Path, protocol: str, partition: str) -> CollabConfig:
    return load_config(
        CollabConfig(),
        overrides=[
            f"data.scenario={scenario}",
            f"data.cache_root={scenario.parent / 'cache'}",
            "data.history=3",
            "data.horizon=1",
            "data.split=[0.6,0.2,0.2]",
            *(f"student.{item}".replace("history=4", "history=3") for item in TINY),
            "central.model.architecture=gps-beam-student",
            "central.model.modalities=[gps,beam_history]",
            *(f"central.model.{item}".replace("history=4", "history=3") for item in TINY),
            "central.train.epochs=1",
            "train.num_threads=1",
            "train.batch_size=16",
            "rounds=1",
            "local_epochs=1",
            "proxy_fraction=0.25",
            f"protocol={protocol}",
            nodes_for(protocol, partition),
        ],
    )


def sample_keys(arrays, windows, where: str) -> set[tuple[str, int]]:
    """(data folder, sample id) of every row a set of windows reads (inputs and targets)."""
    rows = np.unique(np.concatenate([windows.input_rows.ravel(), windows.target_rows.ravel()]))
    return {(where, int(value)) for value in np.asarray(arrays["index"])[rows]}


@pytest.mark.parametrize("partition", PARTITIONS)
@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_no_node_reads_another_nodes_private_windows(protocol, partition, scenario, tmp_path, monkeypatch):
    config = config_for(scenario, protocol, partition)
    views = DataViews(config)
    centre_data = str(views.of(config.central.ap).cache.cache_dir)
    reads: dict[str, set] = defaultdict(set)
    original = CollabNode.batcher

    def recording(node, windows, batch_size=256, *, shuffle=False, source=None):
        # the proxy inputs came from the centre's data: their sample ids name its rows
        where = centre_data if source is not None else str(node.data.cache.cache_dir)
        reads[node.name] |= sample_keys(source if source is not None else node.data.cache.arrays, windows, where)
        return original(node, windows, batch_size, shuffle=shuffle, source=source)

    monkeypatch.setattr(CollabNode, "batcher", recording)

    run_collab(config, tmp_path / "run")

    nodes = build_edge_nodes(config, views, tmp_path / "audit")
    private = {
        name: sample_keys(node.data.cache.arrays, node.data.windows["train"], str(node.data.cache.cache_dir))
        for name, node in nodes.items()
    }
    proxy = Centre(config, views, tmp_path / "audit").proxy_windows()
    proxy_keys = sample_keys(views.of(config.central.ap).cache.arrays, proxy, centre_data)
    for name in nodes:
        assert reads[name], f"node {name} read nothing"
        assert not proxy_keys & private[name], f"the proxy set holds windows of node {name}'s share"
        for other in nodes:
            if other != name:
                assert not reads[name] & private[other], f"node {name} read windows of node {other}'s share"
    if protocol in ("fed-distill", "mutual", "ensemble-to-central"):
        assert all(proxy_keys <= reads[name] for name in nodes)  # they did read the proxy windows


def test_the_centre_keeps_its_sequences_out_of_every_share(scenario):
    config = config_for(scenario, "fed-distill", "iid")
    views = DataViews(config)
    train = views.of("ap1").windows["train"]

    kept = reserved_sequences(np.unique(train.seq_ids), config.proxy_fraction, config.seed)

    assert kept.size == round(0.25 * np.unique(train.seq_ids).size)
    for node in build_edge_nodes(config, views, Path("/nonexistent")).values():
        assert not np.isin(node.data.windows["train"].seq_ids, kept).any()
    assert reserved_sequences(np.arange(10), 0.0, 0).size == 0


@pytest.mark.parametrize("modalities, labels_sent", [(("gps", "beam_history"), True), (("gps",), False)])
def test_proxy_inputs_arrive_exact_in_any_encoding_and_labels_only_with_the_beam_history(
    scenario, modalities, labels_sent
):
    config = config_for(scenario, "fed-distill", "iid")
    centre = Centre(config, DataViews(config), Path("/nonexistent"))
    data = centre.views.of("ap1")
    sent = centre.proxy_inputs(modalities)

    wire = Payload("proxy_inputs", sent.to_tensors(), {"layout": sent.layout()}).encode("int8")
    decoded = Payload.decode(wire)
    received = ProxyInputs.from_tensors(decoded.tensors, decoded.meta["layout"])

    windows, every = received.windows(data.spec), np.arange(len(sent.window_ids))
    at_centre = WindowBatcher(data.cache, centre.proxy_windows(), data.spec, modalities).gather(every)
    at_node = WindowBatcher(received.source(), windows, data.spec, modalities).gather(every)
    for key in ("gps", "beam_history") if "beam_history" in modalities else ("gps",):
        np.testing.assert_array_equal(at_node[key].numpy(), at_centre[key].numpy(), err_msg=key)
    assert ("beam" in received.arrays) == labels_sent
    if not labels_sent:
        assert not at_node["target"].numpy().any()
    np.testing.assert_array_equal(
        received.window_ids, np.asarray(data.cache.arrays["index"])[centre.proxy_windows().end_rows]
    )
