"""Central KD (centre to edge, offline): the centre trains the teacher on its full-sensor view,
distils each node's student on the node's modalities there, and ships the student weights down.

The centre distils on its own AP's data (it must carry every modality a student reads; a clear
error otherwise). Every round continues each student's distillation for `local_epochs` and ships
the new weights; nodes load them and report their validation metrics. Nodes send no data up.
"""

from __future__ import annotations

from collections.abc import Mapping

from kdcs.collab.node import CollabNode
from kdcs.collab.node_setup import build_model_for
from kdcs.collab.payload import Payload, PayloadSpec
from kdcs.collab.protocol import Protocol, ack, ack_spec
from kdcs.config import from_dict
from kdcs.distill.recipes import merge_recipe
from kdcs.distill.teacher_outputs import CachedTeacher
from kdcs.models import ModelConfig

WEIGHTS = "weights"


class CentralKDProtocol(Protocol):
    name = "central-kd"

    def setup(self) -> None:
        teacher = self.services.trained_teacher()
        data = teacher.data
        self.students: dict[str, CollabNode] = {}
        for index, (name, card) in enumerate(self.cards.items()):
            model = build_model_for(
                from_dict(ModelConfig, card.model_config), data, self.config.seed + index, name
            )
            self.students[name] = CollabNode(
                f"central-for-{name}",
                data,
                model,
                self.config.train,
                teacher.run_dir.parent / f"central-for-{name}",
                seed=self.config.seed + 100 + index,
            )
        # the teacher is frozen: its outputs on the centre's train and val windows, computed once
        batchers = [data.batcher(split, teacher.modalities, 256) for split in ("train", "val")]
        self.teacher_outputs = CachedTeacher.build(teacher.model, batchers)

    def configure(self, round: int, nodes: list[str]) -> dict[str, Payload]:
        instructions = {}
        for name in nodes:
            student = self.students[name]
            student.fit(
                f"r{round}", self.config.local_epochs, merge_recipe("logit"), teacher=self.teacher_outputs
            )
            instructions[name] = Payload(WEIGHTS, student.weights(), {"round": round})
        return instructions

    def node_step(self, node: CollabNode, instruction: Payload) -> Payload:
        node.load_weights(instruction.tensors)
        return ack(node)

    def reply_spec(self, node: str, instruction: Payload) -> PayloadSpec:
        return ack_spec()

    def aggregate(self, round: int, replies: Mapping[str, Payload]) -> None:
        """Nothing to combine: the knowledge went down with the weights."""
