"""From a CollabConfig to nodes: each AP's data prepared once, partitions dealt, models built.

Partitions: "ap" nodes get every window of their AP. "iid" / "dirichlet" nodes of one AP share
that AP's train sequences (dealt with `partition_iid` / `partition_dirichlet`, labels = the beam
sector of each sequence); their val and test windows stay whole, so every node is judged on the
same instants. At the centre's AP the centre first keeps `proxy_fraction` of the training
sequences for itself (`centre_sequences`, the proxy set's pool): no node there trains on them; when
nodes sit at several APs (multi-view-kd, the world frame, local-only) no node at any AP does, so the
same instants are out of every AP's pool and shared-frame proxies reach every AP.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from kdcs.collab.config import (
    CollabConfig,
    NodeConfig,
    central_student_config,
    node_model_config,
)
from kdcs.collab.node import CollabNode
from kdcs.collab.proxy_set import reserved_sequences
from kdcs.config import ConfigError
from kdcs.data.partition import (
    partition_dirichlet,
    partition_iid,
    sequence_beam_sectors,
    windows_in_sequences,
)
from kdcs.data.prepared import PreparedData, prepare_data
from kdcs.distill.run_config import window_mismatch
from kdcs.distill.trained_model import load_trained_model
from kdcs.models import ModelConfig, build_model, fit_to_data

CENTRAL = "central"


class DataViews:
    """Each AP's PreparedData, prepared (cached) once and shared by the nodes of that AP."""

    def __init__(self, config: CollabConfig, workers: int | None = None) -> None:
        self.config, self.workers = config, workers
        self._prepared: dict[str | None, PreparedData] = {}

    def of(self, ap: str | None) -> PreparedData:
        if ap not in self._prepared:
            self._prepared[ap] = prepare_data(
                dataclasses.replace(self.config.data, ap=ap), workers=self.workers
            )
        return self._prepared[ap]


def check_model_fits(model: nn.Module, data: PreparedData, who: str) -> None:
    """One clear ConfigError when the model's window (L, J) or inputs do not fit the data."""
    config = model.config
    if window_mismatch(config.history, config.horizon, data.spec.history, data.spec.horizon):
        raise ConfigError(
            f"node {who!r}: model history/horizon ({config.history}, {config.horizon}) must fit "
            f"data.history/data.horizon ({data.spec.history}, {data.spec.horizon})"
        )
    available = set(data.cache.arrays) | {"beam_history"}
    missing = [m for m in model.modalities if m not in available]
    if missing:
        raise ConfigError(
            f"node {who!r}: its AP has no {missing[0]!r} data (has {sorted(data.cache.modalities)})"
        )
    cached = fit_to_data(config, data)
    used = {"image_size": {"camera", "camera_motion"}, "radar_size": {"radar"}}
    for key, modalities in used.items():
        if modalities & set(model.modalities) and getattr(cached, key) != getattr(config, key):
            raise ConfigError(
                f"node {who!r}: model {key} {getattr(config, key)} differs from the cache's {getattr(cached, key)}"
            )


def build_model_for(config: ModelConfig, data: PreparedData, seed: int, who: str):
    """A fresh model for `who`, checked against the data (L, J, modalities) with one clear error."""
    torch.manual_seed(seed)
    model = build_model(fit_to_data(config, data))
    check_model_fits(model, data, who)
    return model


def data_seed(config: CollabConfig) -> int:
    """The seed that deals the data (the centre's sequences, the node shares): `partition_seed`, or
    the run's seed when it is not set."""
    return config.seed if config.partition_seed is None else config.partition_seed


def centre_sequences(config: CollabConfig, views: DataViews) -> np.ndarray:
    """The training sequences of the centre's AP that the centre keeps for itself (the proxy pool)."""
    train = views.of(config.central.ap).windows["train"]
    return reserved_sequences(np.unique(train.seq_ids), config.proxy_fraction, data_seed(config))


def without_sequences(data: PreparedData, sequences: np.ndarray) -> PreparedData:
    """The data view with those sequences taken out of its train split."""
    train = data.windows["train"]
    kept = windows_in_sequences(train, np.setdiff1d(np.unique(train.seq_ids), sequences))
    return dataclasses.replace(data, windows={**data.windows, "train": kept})


def _partitioned(config: CollabConfig, data: PreparedData, nodes: list[NodeConfig]) -> list[PreparedData]:
    """Each node's view of one AP whose train sequences the nodes share."""
    kinds = {node.partition for node in nodes}
    if len(kinds) > 1:
        raise ConfigError(
            f"nodes {[n.name for n in nodes]} share AP {nodes[0].ap!r} with mixed partitions {kinds}"
        )
    train = data.windows["train"]
    sequences = np.unique(train.seq_ids)
    rng = np.random.default_rng(data_seed(config))
    try:
        if kinds == {"iid"}:
            shares = partition_iid(sequences, len(nodes), rng)
        else:
            beams = np.asarray(data.cache.arrays["beam"])
            seqs, sectors = sequence_beam_sectors(beams, np.asarray(data.cache.arrays["seq_index"]))
            labels = dict(zip(seqs.tolist(), sectors.tolist(), strict=True))
            shares = partition_dirichlet(
                sequences, [labels[int(s)] for s in sequences], len(nodes), config.dirichlet_alpha, rng
            )
    except ValueError as exc:  # e.g. more nodes than train sequences
        raise ConfigError(f"nodes {[n.name for n in nodes]} of AP {nodes[0].ap!r}: {exc}") from None
    return [
        dataclasses.replace(data, windows={**data.windows, "train": windows_in_sequences(train, share)})
        for share in shares
    ]


def node_data(config: CollabConfig, views: DataViews) -> dict[str, PreparedData]:
    """{node name: its data view}, in config order."""
    out: dict[str, PreparedData] = {}
    groups: dict[str | None, list[NodeConfig]] = defaultdict(list)
    reserved = centre_sequences(config, views)
    spread = any((node.ap or config.central.ap) != config.central.ap for node in config.nodes)

    def pool(ap: str | None) -> PreparedData:  # what the nodes of an AP may share
        data = views.of(ap)
        # with nodes at several APs the centre keeps its instants wherever they were recorded
        keeps = ap == config.central.ap or spread
        return without_sequences(data, reserved) if keeps else data

    for node in config.nodes:
        ap = node.ap if node.ap is not None else config.central.ap
        if node.partition == "ap":
            out[node.name] = pool(ap)
        else:
            groups[ap].append(node)
    for ap, members in groups.items():
        for node, data in zip(members, _partitioned(config, pool(ap), members), strict=True):
            out[node.name] = data
    return {node.name: out[node.name] for node in config.nodes}


def build_edge_nodes(config: CollabConfig, views: DataViews, run_dir: Path) -> dict[str, CollabNode]:
    nodes = {}
    for index, (name, data) in enumerate(node_data(config, views).items()):
        node_config = config.nodes[index]
        model = build_model_for(node_model_config(config, node_config), data, config.seed + index, name)
        nodes[name] = CollabNode(
            name, data, model, config.train, Path(run_dir) / "nodes" / name, seed=config.seed + index
        )
    return nodes


def build_central_node(
    config: CollabConfig, views: DataViews, run_dir: Path, role: str = "teacher"
) -> CollabNode:
    """The central node with its teacher ("teacher"; loaded when `central.teacher` names a trained
    one) or its own student ("student"). With central.train_on="reserved" the teacher's training
    windows are only the centre's own sequences."""
    data = views.of(config.central.ap)
    if role == "teacher" and config.central.train_on == "reserved":
        train = data.windows["train"]
        own = windows_in_sequences(train, centre_sequences(config, views))
        data = dataclasses.replace(data, windows={**data.windows, "train": own})
    if role == "teacher" and config.central.teacher:
        model = load_trained_model(config.central.teacher)
        check_model_fits(model, data, f"{CENTRAL} (central.teacher)")
    else:
        model_config = config.central.model if role == "teacher" else central_student_config(config)
        model = build_model_for(model_config, data, config.seed + 7919, CENTRAL)
    return CollabNode(
        CENTRAL,
        data,
        model,
        config.central.train if role == "teacher" else config.train,
        Path(run_dir) / "nodes" / f"{CENTRAL}-{role}",
        seed=config.seed + 7919,
    )
