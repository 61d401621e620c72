"""Central KD (centre to edge, offline): the centre trains the teacher on its full-sensor view,
distils each node's student on the node's modalities there, and ships the student weights down.

The centre distils on its own AP's data (it must carry every modality a student reads; a clear
error otherwise): each student is one training run at the centre (task + kd_weight * logit-kd
toward the frozen teacher), continued by `local_epochs` every round; the new weights go down.
Nodes load them, score them on their own validation windows and deploy, after the final
broadcast, the received model that scored best there. Nodes send no data up.
"""

from __future__ import annotations

from collections.abc import Mapping

from kdcs.collab.local_training import Segment
from kdcs.collab.node import CollabNode
from kdcs.collab.node_setup import build_model_for
from kdcs.collab.payload import Payload, PayloadSpec
from kdcs.collab.protocol import FINISH, Protocol, ack, ack_spec, task_plus_kd
from kdcs.config import from_dict
from kdcs.distill.prediction import EVAL_BATCH
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
        batchers = [data.batcher(split, teacher.modalities, EVAL_BATCH) for split in ("train", "val")]
        self.teacher_outputs = CachedTeacher.build(teacher.model, batchers)

    def planned_epochs(self) -> int:
        return self.config.rounds * self.config.local_epochs

    def configure(self, round: int, nodes: list[str]) -> dict[str, Payload]:
        instructions = {}
        recipe = task_plus_kd(self.config)
        for name in nodes:
            student = self.students[name]
            epochs = self.config.local_epochs
            segment = Segment(
                f"r{round}",
                epochs,
                self.planned_epochs(),
                recipe,
                teacher=self.teacher_outputs,
                min_steps=self.config.min_epoch_steps,
            )
            student.train_segment(segment)
            instructions[name] = Payload(WEIGHTS, student.weights(), {"round": round})
        return instructions

    def node_step(self, node: CollabNode, instruction: Payload) -> Payload:
        if instruction.kind == FINISH:
            node.deploy_best_received()
            return ack(node)
        node.load_weights(instruction.tensors)
        node.keep_if_best_received()
        return ack(node)

    def reply_spec(self, node: str, instruction: Payload) -> PayloadSpec:
        return ack_spec()

    def aggregate(self, round: int, replies: Mapping[str, Payload]) -> None:
        """Nothing to combine: the knowledge went down with the weights."""
