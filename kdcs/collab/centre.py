"""The central node's services to protocols: its teacher, its student, the shared proxy set (its own
recorded sequences, or with `proxy: twin` a synthetic twin of its site, `kdcs.collab.twin_proxy`).

Built lazily: a protocol that never asks for the teacher never trains one. In a Flower deployment
these live in the server app; in the local runner, in the runner's process.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from kdcs.collab.config import CollabConfig
from kdcs.collab.node import CollabNode
from kdcs.collab.node_setup import DataViews, build_central_node, centre_sequences
from kdcs.collab.protocol import TASK_ONLY
from kdcs.collab.proxy_set import ProxyInputs, thinned
from kdcs.collab.twin_proxy import TwinProxy
from kdcs.config import ConfigError, from_dict
from kdcs.data.ap_geometry import (
    CodebookSpec,
    GeometryError,
    WorldFrame,
    data_geometry,
    table_frame,
    vehicle_world_positions,
)
from kdcs.data.partition import windows_in_sequences
from kdcs.data.prepared import PreparedData
from kdcs.data.windows import WindowIndex, build_windows
from kdcs.models import ModelConfig, build_model


def windows_ending_at(data: PreparedData, ids: np.ndarray, ap: str) -> WindowIndex:
    """The windows of `data` ending at the given sample ids, in that order (the same instants as at
    the centre's AP); ConfigError naming the first id that AP has no window for."""
    every = build_windows(np.asarray(data.cache.arrays["seq_index"]), data.spec)
    end_ids = np.asarray(data.cache.arrays["index"], dtype=np.int64)[every.end_rows]
    position = {int(value): k for k, value in enumerate(end_ids)}
    missing = [int(value) for value in ids if int(value) not in position]
    if missing:
        raise ConfigError(
            f"AP {ap!r} has no window ending at sample index {missing[0]}, a proxy window of the centre's "
            "AP: a shared-frame exchange needs every AP at the same instants"
        )
    return every.subset(np.array([position[int(value)] for value in ids], dtype=np.int64))


class Centre:
    def __init__(self, config: CollabConfig, views: DataViews, run_dir: Path) -> None:
        self.config, self.views, self.run_dir = config, views, Path(run_dir)
        self._nodes: dict[str, CollabNode] = {}
        self.teacher_val: dict | None = None
        self.diagnostics: dict = {}  # what a protocol measured at the centre, for results.json
        self.twin = TwinProxy(config, self.run_dir, views) if config.proxy == "twin" else None

    def node(self, role: str) -> CollabNode:
        """The central node holding its "teacher" or its "student" model (built once)."""
        if role not in self._nodes:
            self._nodes[role] = build_central_node(self.config, self.views, self.run_dir, role)
        return self._nodes[role]

    def trained_teacher(self) -> CollabNode:
        """The teacher: `central.teacher` loaded as is, or trained once on the centre's full-sensor
        view (task loss, central.train)."""
        teacher = self.node("teacher")
        if self.teacher_val is None:
            if self.config.central.teacher:
                self.teacher_val = teacher.evaluate("val")
            else:
                self.teacher_val = teacher.fit("teacher", self.config.central.train.epochs, TASK_ONLY)
        return teacher

    def reserved_windows(self) -> WindowIndex:
        """The centre's own training windows: those of the sequences it kept out of the nodes' pool."""
        train = self.views.of(self.config.central.ap).windows["train"]
        return windows_in_sequences(train, centre_sequences(self.config, self.views))

    def proxy_windows(self) -> WindowIndex:
        """The proxy set: at most `proxy_windows` of the centre's reserved windows, or of its twin's."""
        if self.twin is not None:
            return self.twin.windows()
        windows = thinned(self.reserved_windows(), self.config.proxy_windows)
        if len(windows) == 0:
            raise ConfigError(
                "config key 'proxy_fraction' leaves the centre no training window of its own for the "
                "proxy set; raise it"
            )
        return windows

    def proxy_count(self) -> int:
        return len(self.proxy_windows())

    def proxy_inputs(self, modalities: tuple[str, ...], ap: str | None = None) -> ProxyInputs:
        """What goes to a node reading `modalities`: the proxy windows' rows of those inputs only, as
        AP `ap` (default: the centre's) recorded them at the same instants."""
        if self.twin is not None:  # validation keeps a twin's nodes at the centre's AP
            return self.twin.inputs(modalities)
        central = self.views.of(self.config.central.ap)
        windows = self.proxy_windows()
        if ap is None or ap == self.config.central.ap:
            return ProxyInputs.of(central.cache.arrays, windows, modalities)
        ids = np.asarray(central.cache.arrays["index"], dtype=np.int64)[windows.end_rows]
        data = self.views.of(ap)
        return ProxyInputs.of(data.cache.arrays, windows_ending_at(data, ids, ap), modalities)

    def check_geometry(self, ap: str | None, codebook: CodebookSpec) -> None:
        """Raise GeometryError (naming the missing piece) when AP `ap`'s beams cannot be placed in the
        world frame: no manifest entry, no position, nothing to fit an orientation on."""
        data_geometry(self.views.of(ap), WorldFrame(self.world_origin()), codebook)

    def world_origin(self) -> tuple[float, float]:
        """The shared metric frame's origin (latitude, longitude): the scenario manifest's, else the
        centre's AP position (`unit1_loc`)."""
        return table_frame(self.views.of(self.config.central.ap).table).origin_latlon_deg

    def proxy_gps_positions(self) -> np.ndarray | None:
        """[P, S, 2] the centre's own GPS fixes of the vehicle at the proxy windows' target slots, in
        the world frame: to score the positions nodes upload (never sent). None with a twin proxy or
        when the centre's AP logs no GPS."""
        if self.twin is not None:
            return None
        data = self.views.of(self.config.central.ap)
        try:
            gps = vehicle_world_positions(data, WorldFrame(self.world_origin()))
        except GeometryError:
            return None
        return gps[self.proxy_windows().target_rows]

    def fresh_weights(self, model_config: dict) -> dict[str, np.ndarray]:
        """Initial weights of a model described by a node card's config (seeded by the run's seed)."""
        torch.manual_seed(self.config.seed)
        model = build_model(from_dict(ModelConfig, model_config))
        return {key: value.detach().numpy().copy() for key, value in model.state_dict().items()}

    def built(self) -> dict[str, CollabNode]:
        return dict(self._nodes)
