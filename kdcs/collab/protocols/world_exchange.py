"""fed-distill and mutual in the shared physical frame (`knowledge_frame: world`): nodes at any AP.

The rounds are fed-distill's and mutual's (`ProxyExchangeProtocol`): proxy inputs once, a training
segment per round, an upload, knowledge back. What travels changes (`kdcs.collab.world_frame`):

- a node uploads its predicted vehicle positions on the proxy windows, [P, S, 4] (east, north,
  log std per axis, metres in the world frame), never beam logits;
- fed-distill: the centre fuses the nodes' positions (precision-weighted, widened where they
  disagree) and sends the fused [P, S, 4] back; mutual: the centre relays the neighbours' [P, K, S, 4]
  and each node fuses them itself. With `world.fusion: validated` only nodes that validated their
  position output (own validation windows against their AP's GPS; the mean squared error per slot and
  axis travels in the reply's meta) are fused, each weighted by the inverse of that error;
- each node turns the positions into soft labels over its own AP's codebook through its geometry
  (expected beam gain, raised to `world.gain_power`) and trains its next segment on task (own
  windows) + kd_weight * (logit-kd toward those soft labels + `world.position_weight` * position-nll
  toward the positions) on the proxy windows; where its AP logs the vehicle's GPS, its position
  output also learns from it on its own windows (`world.position_weight` * position-nll).

Every reply's metrics carry the node's validation position error (mean distance, m; nodes whose AP
logs GPS) into rounds.csv; where the centre's AP logs GPS, results.json's diagnostics hold, per
round, the error of every node's upload and of the consensus on the proxy windows against the
centre's own fixes (scored at the centre, never sent).

The centre tells every node the frame's origin (`Centre.world_origin`) and sends each node the proxy
windows' inputs as its own AP recorded them. A node without a geometry (no manifest, no
`unit1_loc`, no GPS to fit an orientation on) stops with an error naming the missing piece.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from kdcs.collab.config import node_ap
from kdcs.collab.node import CollabNode
from kdcs.collab.payload import Payload, PayloadSpec
from kdcs.collab.protocol import FINISH, TASK_ONLY, ack_spec, kd_only_recipe, node_metrics, segment_of
from kdcs.collab.protocols.fed_distill import FedDistillProtocol
from kdcs.collab.protocols.mutual import MutualProtocol
from kdcs.collab.protocols.proxy_exchange import proxy_distillation
from kdcs.collab.proxy_distillation import ProxyDistillation
from kdcs.collab.proxy_set import ProxyInputs
from kdcs.collab.world_frame import (
    ORIGIN_STATE,
    fuse_positions,
    own_position_targets,
    position_error_m,
    proxy_positions,
    validated_position_error,
    validated_uploads,
    world_knowledge,
)

LOG = logging.getLogger("kdcs.collab")
POSITIONS = "positions"
ORIGIN = "world_origin"
POSITION_MSE = "position_mse"  # reply meta: the node's validated position error, [S, 2] m^2


class WorldFrameExchange:
    """What both world-frame protocols change in a proxy exchange (mixed in before the protocol)."""

    nodes_at_any_ap = True
    reply_key = POSITIONS
    knowledge_keys: tuple[str, ...] = ()  # positions are not soft labels: no soft-label codec

    def setup(self) -> None:
        super().setup()
        self.origin = [float(v) for v in self.services.world_origin()]
        self.validated: dict[str, np.ndarray | None] = {}  # each node's latest validated error
        self.proxy_gps = self.services.proxy_gps_positions()
        for name in self.cards:  # before any round: a missing piece of geometry is named up front
            self.services.check_geometry(node_ap(self.config, name), self.config.world.codebook)

    def schedule(self, round: int) -> dict[str, Any]:
        return {**super().schedule(round), ORIGIN: getattr(self, "origin", None)}

    def proxy_inputs_for(self, node: str) -> ProxyInputs:
        modalities = tuple(self.cards[node].model_config["modalities"])
        return self.services.proxy_inputs(modalities, ap=node_ap(self.config, node))

    def node_step(self, node: CollabNode, instruction: Payload) -> Payload:
        if instruction.meta.get(ORIGIN) is not None:
            node.state[ORIGIN_STATE] = np.asarray(instruction.meta[ORIGIN], dtype=np.float64)
        return super().node_step(node, instruction)

    def position_recipe(self) -> dict[str, dict[str, Any]]:
        return {"position": {"loss": "position-nll", "weight": self.config.world.position_weight}}

    def local_segment(self, node: CollabNode, instruction: Payload, auxiliary: ProxyDistillation | None):
        own = own_position_targets(node, self.config.world.gps_std_m)
        recipe = {**TASK_ONLY, **self.position_recipe()} if own is not None else TASK_ONLY
        return segment_of(instruction, recipe, teacher=own, auxiliary=auxiliary)

    def distillation(self, node: CollabNode, knowledge: np.ndarray, passes: int) -> ProxyDistillation:
        world = self.config.world
        temperature = self.config.kd_temperature
        teacher = world_knowledge(node, knowledge, world.codebook, world.gain_power, temperature)
        recipe = {**kd_only_recipe("logit-kd", temperature), **self.position_recipe()}
        return proxy_distillation(node, recipe, self.config.kd_weight, passes, teacher=teacher)

    def reply(self, node: CollabNode) -> Payload:
        meta = {"metrics": node_metrics(node), "num_windows": len(node.data.windows["train"])}
        mse = validated_position_error(node)
        if mse is not None:
            meta["metrics"]["val_position_m"] = float(np.sqrt(mse.sum(axis=-1).mean()))  # RMS distance
            meta[POSITION_MSE] = mse.tolist()
        return Payload(POSITIONS, {POSITIONS: proxy_positions(node)}, meta)

    def aggregate(self, round: int, replies: Mapping[str, Payload]) -> None:
        for name, reply in replies.items():
            self.validated[name] = self.reported_error(name, reply.meta.get(POSITION_MSE))
        super().aggregate(round, replies)
        self.record_errors(round)

    def reported_error(self, node: str, reported: Any) -> np.ndarray | None:
        """A reply's validated position error as [S, 2] (None when absent or malformed: such a node
        is then fused as one that could not validate)."""
        if reported is None:
            return None
        try:
            mse = np.asarray(reported, dtype=np.float64)
        except (TypeError, ValueError):
            mse = np.full(0, np.nan)
        if mse.shape != (self.cards[node].num_slots, 2) or not (np.isfinite(mse) & (mse >= 0)).all():
            LOG.warning("node %r reported a malformed validated position error; ignored", node)
            return None
        return mse

    def fusable(self, names: list[str]) -> dict[str, np.ndarray]:
        """The latest uploads of `names` that go into a fusion (`world.fusion`), calibrated if validated."""
        uploads = {name: self.latest[name] for name in names if name in self.latest}
        if self.config.world.fusion == "validated" and uploads:
            return validated_uploads(uploads, self.validated)
        return uploads

    def record_errors(self, round: int) -> None:
        """results.json diagnostics: this round's position errors on the proxy windows against the
        centre's own GPS fixes (RMS distance, m), per node and of the consensus (mutual: of the
        fusion of every node's latest)."""
        if self.proxy_gps is None or not self.latest:
            return
        fused = getattr(self, "consensus", None)  # fed-distill's, of this round's replies
        if fused is None:  # mutual: the fusion of every node's latest
            fusable = self.fusable(list(self.latest))
            fused, fused_nodes = fuse_positions(np.stack(list(fusable.values()))), sorted(fusable)
        else:
            fused_nodes = self.consensus_nodes
        entry = {
            "round": round,
            "nodes": {name: position_error_m(p, self.proxy_gps) for name, p in self.latest.items()},
            "fused": position_error_m(fused, self.proxy_gps),
            "fused_nodes": fused_nodes,
        }
        self.services.diagnostics.setdefault("world_position_error_m", []).append(entry)

    def reply_spec(self, node: str, instruction: Payload) -> PayloadSpec:
        if instruction.kind == FINISH:
            return ack_spec()
        return PayloadSpec(POSITIONS, {POSITIONS: (self.proxy_count, self.cards[node].num_slots, 4)})


class WorldFedDistillProtocol(WorldFrameExchange, FedDistillProtocol):
    """fed-distill with positions: the centre fuses every node's positions into one consensus."""

    def combine(self, round: int, replies: Mapping[str, Payload]) -> None:
        if replies:  # this round's accepted replies only
            fusable = self.fusable(list(replies))
            self.consensus = fuse_positions(np.stack(list(fusable.values())))
            self.consensus_nodes = sorted(fusable)


class WorldMutualProtocol(WorldFrameExchange, MutualProtocol):
    """mutual with positions: each node fuses its neighbours' latest positions itself (with
    `world.fusion: validated`, the centre relays only validated neighbours', calibrated)."""

    def knowledge_for(self, node: str) -> np.ndarray | None:
        peers = self.fusable(self.neighbours(node))
        return np.stack(list(peers.values()), axis=1) if peers else None  # [P, K, S, 4]
