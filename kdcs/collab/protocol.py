"""The protocol contract, transport-agnostic (Flower's strategy split).

A round:  instructions = protocol.configure(round, nodes)      # on the centre
          reply = protocol.node_step(node, instruction)         # on each node, its data only
          protocol.aggregate(round, accepted replies)           # on the centre
After the last round, `finish` sends each node a last instruction: the final round's knowledge is
used (a last training segment with it) and the node deploys the model it selected on its own
validation windows.

A node's training across rounds is one run (`kdcs.collab.local_training`): its epochs follow one
learning-rate schedule over `planned_epochs()` (rounds + 1 segments of `local_epochs` for protocols
whose nodes train: one before the first exchange, one after each), with its optimiser state kept.

Instructions and replies are `Payload`s; the runner (local or Flower) encodes them with the run's
payload encoding, counts the bytes, decodes them on the other side and validates replies against
`reply_spec` before `aggregate` ever sees them. `node_step` runs on a node and must only use that
node (its data and model) and the instruction; everything the centre knows about the nodes is in
their `NodeCard`s (what a node declares when it joins) and in the replies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import nn

from kdcs.collab.config import CollabConfig
from kdcs.collab.local_training import Segment
from kdcs.collab.node import CollabNode
from kdcs.collab.payload import Payload, PayloadSpec
from kdcs.config import to_dict

ACK = "ack"
FINISH = "finish"
KNOWLEDGE = "knowledge"  # the payload key of received soft labels (logits)
HANDSHAKE_ROUND = 0


@dataclass(frozen=True)
class NodeCard:
    """What a node declares when it joins: its student (config and tensor shapes) and output size."""

    name: str
    model_config: dict[str, Any]
    weight_shapes: dict[str, tuple[int, ...]]
    num_slots: int
    num_beams: int

    @classmethod
    def of(cls, node: CollabNode) -> NodeCard:
        config = node.model.config
        return cls(node.name, to_dict(config), node.weight_shapes(), config.num_slots, config.num_beams)


class Protocol:
    """Base class. Subclasses set `name` and implement configure / node_step / reply_spec / aggregate.

    handshake: when True the runner first plays round 0, in which every node uploads the sample ids
    of its train and val windows (the centre needs them to send per-window soft labels).
    """

    name = ""
    handshake = False
    # Whether nodes may sit at different APs. A beam index names a direction of one AP's codebook, so
    # predictions (or models) made for one AP are wrong labels at another: protocols that move beam
    # predictions or models between the centre and the nodes need every node at the centre's AP
    # (each a sensor subset of that site). Only protocols that exchange nothing learned set this.
    nodes_at_any_ap = False

    def __init__(self, config: CollabConfig, cards: Mapping[str, NodeCard], services: Any) -> None:
        self.config, self.cards, self.services = config, dict(cards), services
        self.window_ids: dict[str, dict[str, np.ndarray]] = {}

    def setup(self) -> None:
        """Centre-side work before round 1 (e.g. train the teacher)."""

    def configure(self, round: int, nodes: list[str]) -> dict[str, Payload]:
        raise NotImplementedError

    def node_step(self, node: CollabNode, instruction: Payload) -> Payload:
        raise NotImplementedError

    def reply_spec(self, node: str, instruction: Payload) -> PayloadSpec:
        raise NotImplementedError

    def aggregate(self, round: int, replies: Mapping[str, Payload]) -> None:
        raise NotImplementedError

    def finish(self, nodes: list[str]) -> dict[str, Payload]:
        """Instructions of a last broadcast after the final round ({} = none). By default every node
        trains its last segment (with whatever knowledge `finish_tensors` adds) and deploys its best."""
        return {
            name: Payload(
                FINISH,
                self.finish_tensors(name),
                self.schedule(self.config.rounds + 1),
                logit_keys=(KNOWLEDGE,),
            )
            for name in nodes
        }

    def finish_tensors(self, node: str) -> dict[str, np.ndarray]:
        """What a node's last segment distils from (e.g. fed-distill's final consensus)."""
        return {}

    def planned_epochs(self) -> int:
        """Epochs of each node's training run: rounds + 1 segments of local_epochs."""
        return (self.config.rounds + 1) * self.config.local_epochs

    def schedule(self, round: int) -> dict[str, Any]:
        """Instruction metadata: the round, this segment's epochs (of at least `min_steps` steps) and
        the run's planned epochs."""
        return {
            "round": round,
            "epochs": self.config.local_epochs,
            "total_epochs": self.planned_epochs(),
            "min_steps": self.config.min_epoch_steps,
        }

    def central_nodes(self) -> dict[str, CollabNode]:
        """Central models to evaluate on the test split too, by label."""
        return {}

    # ------------------------------------------------------------------ the handshake (round 0)

    def configure_handshake(self, nodes: list[str]) -> dict[str, Payload]:
        return {name: Payload("hello") for name in nodes}

    def handshake_spec(self, node: str) -> PayloadSpec:
        """What a node's handshake reply must look like."""
        return window_ids_spec()

    def handshake_step(self, node: CollabNode) -> Payload:
        ids = {"train_ids": node.sample_ids("train"), "val_ids": node.sample_ids("val")}
        return Payload("window_ids", {k: v.astype(np.int32) for k, v in ids.items()})

    def aggregate_handshake(self, replies: Mapping[str, Payload]) -> None:
        for name, reply in replies.items():
            self.window_ids[name] = {k: v.astype(np.int64) for k, v in reply.tensors.items()}


def window_ids_spec() -> PayloadSpec:
    return PayloadSpec("window_ids", {"train_ids": (None,), "val_ids": (None,)})


def node_metrics(node: CollabNode) -> dict[str, float]:
    """The node's validation top-1 / top-5 (mean over slots) after its step, for rounds.csv."""
    summary = node.evaluate("val")
    return {"val_top1": summary["top1"]["mean"], "val_top5": summary["top5"]["mean"]}


def ack(node: CollabNode, **meta: Any) -> Payload:
    return Payload(ACK, meta={"metrics": node_metrics(node), **meta})


def ack_spec() -> PayloadSpec:
    return PayloadSpec(ACK, {})


def logits_spec(card: NodeCard, key: str = "logits", windows: int | None = None) -> PayloadSpec:
    return PayloadSpec("logits", {key: (windows, card.num_slots, card.num_beams)})


def kd_only_recipe(loss: str, temperature: float) -> dict[str, dict[str, Any]]:
    """Distillation on proxy windows, whose labels a node is not assumed to know."""
    return {"kd": {"loss": loss, "weight": 1.0, "temperature": temperature}}


TASK_ONLY = {"task": {"loss": "focal", "weight": 1.0}}


def task_plus_kd(config: CollabConfig, loss: str = "logit-kd") -> dict[str, dict[str, Any]]:
    """task + kd_weight * KD(T = kd_temperature) on windows the received knowledge covers."""
    return {
        **TASK_ONLY,
        **{"kd": {**kd_only_recipe(loss, config.kd_temperature)["kd"], "weight": config.kd_weight}},
    }


def segment_of(instruction: Payload, recipe: dict, **parts: Any) -> Segment:
    """The training segment an instruction asks for (its schedule metadata), with `recipe`."""
    meta = instruction.meta
    epochs, total, min_steps = int(meta["epochs"]), int(meta["total_epochs"]), int(meta.get("min_steps", 0))
    return Segment(f"r{meta['round']}", epochs, total, recipe, min_steps=min_steps, **parts)


def final_models(nodes: Mapping[str, CollabNode]) -> dict[str, nn.Module]:
    return {name: node.model for name, node in nodes.items()}
