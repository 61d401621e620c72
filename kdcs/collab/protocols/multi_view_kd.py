"""Multi-view KD (centre to edge, offline pooling): nodes at different APs, one teacher for all.

Every AP sends the centre its raw sensor data over fronthaul; the centre trains one teacher on every
AP's views at the same instants, with one head per AP's codebook (`kdcs.models.multi_view_teacher`),
and sends each node its AP's head's soft labels on the node's own windows; nodes distil locally, so
a radar-only AP learns from what another AP's camera saw. Beam labels never cross APs: each head
scores only its own AP's codebook, hence nodes may sit at any AP.

Round 0 (handshake): each node uploads the ids of its train and val windows and, for the instants
they cover, every per-slot input its AP has (camera motion, radar, GPS) and its beam labels, as raw
bytes (counted in the ledger like any payload). The centre joins the uploads by sample index and
trains the teacher on the windows every AP has as training windows, selecting on those every AP has
as validation windows (`central.train`; `central.model` gives the per-view settings), or loads
`central.teacher`, a trained multi-view teacher with a head for every node's AP. Round 1 on: as
edge-kd (task + kd_weight * logit-kd toward the head's logits), with the node's AP's head.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np

from kdcs.collab.node import CollabNode
from kdcs.collab.payload import Payload, PayloadSpec
from kdcs.collab.protocols.edge_kd import EdgeKDProtocol
from kdcs.collab.proxy_set import ProxyInputs
from kdcs.config import ConfigError
from kdcs.data.multi_view import MultiViewData
from kdcs.data.windows import WindowIndex, WindowSpec
from kdcs.distill.multi_view import build_multi_view_teacher, fit_multi_view_teacher
from kdcs.distill.prediction import predict
from kdcs.distill.trained_model import load_trained_model
from kdcs.models.multi_view_teacher import MultiViewTeacher, split_head_logits

RAW = "raw_windows"
SENT_INPUTS = ("camera_motion", "radar", "gps")  # what an AP sends (camera frames go as motion masks)


def own_windows(node: CollabNode) -> WindowIndex:
    """The node's train and val windows, in that order."""
    train, val = node.data.windows["train"], node.data.windows["val"]
    ends = np.concatenate([train.end_rows, val.end_rows])
    return WindowIndex(train.spec, ends, np.concatenate([train.seq_ids, val.seq_ids]))


def merged_rows(first: dict[str, np.ndarray], second: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Two uploads of one AP (two nodes holding different shares of it) as one, each instant once,
    rows grouped by sequence in time order."""
    joined = {name: np.concatenate([first[name], second[name]]) for name in first if name in second}
    _, keep = np.unique(joined["index"], return_index=True)
    order = keep[np.lexsort((joined["index"][keep], joined["seq_index"][keep]))]
    return {name: values[order] for name, values in joined.items()}


class MultiViewKDProtocol(EdgeKDProtocol):
    name = "multi-view-kd"
    nodes_at_any_ap = True

    def setup(self) -> None:
        self.served: set[str] = set()
        self.teacher: MultiViewTeacher | None = None
        self.uploads: dict[str, dict[str, np.ndarray]] = {}  # AP -> its raw arrays
        self.node_ap: dict[str, str] = {}
        self.soft_labels: dict[str, np.ndarray] = {}  # node -> [W, S, C] for its ids
        # edge-kd's proxy term is not used: the teacher labels each node's own windows only
        self.uses_proxy = False

    # ------------------------------------------------------------------ round 0: raw data up

    def handshake_step(self, node: CollabNode) -> Payload:
        present = [m for m in SENT_INPUTS if m in node.data.cache.arrays]
        raw = ProxyInputs.of(node.data.cache.arrays, own_windows(node), (*present, "beam_history"))
        ids = {"train_ids": node.sample_ids("train"), "val_ids": node.sample_ids("val")}
        tensors = {**{k: v.astype(np.int64) for k, v in ids.items()}, **raw.to_tensors()}
        meta = {"ap": node.data.table.name, "layout": raw.layout(), "num_beams": node.data.cache.num_beams}
        return Payload(RAW, tensors, meta)

    def handshake_spec(self, node: str) -> PayloadSpec:
        return PayloadSpec(RAW)  # inputs differ per AP; their layout is checked when they are read

    def aggregate_handshake(self, replies: Mapping[str, Payload]) -> None:
        for name, reply in replies.items():
            ap = str(reply.meta["ap"])
            self.window_ids[name] = {k: reply.tensors[k].astype(np.int64) for k in ("train_ids", "val_ids")}
            self.node_ap[name] = ap
            self.num_beams = int(reply.meta.get("num_beams", 64))
            arrays = ProxyInputs.from_tensors(reply.tensors, reply.meta["layout"]).arrays
            self.uploads[ap] = merged_rows(self.uploads[ap], arrays) if ap in self.uploads else arrays

    # ------------------------------------------------------------------ the centre's teacher

    def pooled(self) -> MultiViewData:
        """The uploads joined by instant (the instants every AP sent); a window trains when it is some
        node's training window and no node's validation window, and validates when it is some node's
        validation window."""
        train, val = (
            functools.reduce(np.union1d, [ids[key] for ids in self.window_ids.values()])
            for key in ("train_ids", "val_ids")
        )
        splits = {"train": np.setdiff1d(train, val), "val": val}
        spec = WindowSpec(self.config.data.history, self.config.data.horizon)
        return MultiViewData.of_arrays(self.uploads, spec, self.num_beams, splits)

    def trained_teacher(self, data: MultiViewData) -> MultiViewTeacher:
        aps = tuple(sorted(self.uploads))
        if self.config.central.teacher:
            teacher = load_trained_model(self.config.central.teacher)
            missing = [
                ap for ap in aps if not isinstance(teacher, MultiViewTeacher) or ap not in teacher.config.aps
            ]
            if missing:
                raise ConfigError(
                    f"config key 'central.teacher' ({self.config.central.teacher}) is not a multi-view "
                    f"teacher with a head for AP {missing[0]!r}"
                )
            return teacher
        central = self.config.central
        teacher = build_multi_view_teacher(aps, (), central.model, data, self.config.seed + 7919)
        folder = self.services.run_dir / "nodes" / "central-teacher"
        fit_multi_view_teacher(teacher, data, central.train, folder)
        return teacher

    def label_nodes(self) -> None:
        """Train (or load) the teacher once, and keep every node's head logits on its own ids."""
        data = self.pooled()
        self.teacher = self.trained_teacher(data)
        predictions = predict(self.teacher, data.batcher("all", self.teacher.config.views, 256))
        position = {int(i): k for k, i in enumerate(data.window_ids("all"))}
        for name, ap in self.node_ap.items():
            ids = np.concatenate([self.window_ids[name]["train_ids"], self.window_ids[name]["val_ids"]])
            absent = [int(i) for i in ids if int(i) not in position]
            if absent:
                raise ConfigError(
                    f"node {name!r}: its window ending at sample index {absent[0]} is not at every AP the "
                    "nodes uploaded; a multi-view teacher needs the APs at the same instants"
                )
            rows = np.array([position[int(i)] for i in ids])
            self.soft_labels[name] = split_head_logits(predictions.logits[rows], self.teacher.config, ap)

    # ------------------------------------------------------------------ rounds: as edge-kd

    def configure(self, round: int, nodes: list[str]) -> dict[str, Payload]:
        if self.teacher is None and self.uploads:
            self.label_nodes()
        return super().configure(round, nodes)

    def labels_for(self, node: str, ids: np.ndarray) -> np.ndarray:
        return self.soft_labels[node]  # computed by `label_nodes` for these ids, in this order
