"""FedAvg (McMahan et al., 2017): the weight-averaging baseline, for identical students.

Each round the centre sends the global weights; every node loads them, scores them on its own
validation windows (keeping the best global model it has seen), trains its run's next segment from
them on its own windows (optimiser state and learning-rate schedule go on across rounds; the weight
average restarts from the global model) and sends its new weights back; the centre averages them
weighted by each node's number of training windows. Integer buffers (BatchNorm's step counters)
take the largest value. After the last round the global model is broadcast once more, and each
node deploys the global model that scored best on its validation windows.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from kdcs.collab.node import CollabNode
from kdcs.collab.payload import Payload, PayloadSpec
from kdcs.collab.protocol import TASK_ONLY, Protocol, ack, ack_spec, node_metrics, segment_of
from kdcs.config import ConfigError

WEIGHTS = "weights"
LOAD = "load"


def check_identical_students(cards) -> None:
    """FedAvg averages tensors name by name: every node must run the same architecture and shapes."""
    first = next(iter(cards.values()))
    for card in cards.values():
        if card.weight_shapes != first.weight_shapes or card.model_config != first.model_config:
            key = next(
                (k for k in first.model_config if card.model_config.get(k) != first.model_config[k]),
                "tensor shapes",
            )
            raise ConfigError(
                f"fedavg needs identical students: node {card.name!r} differs from node {first.name!r} "
                f"in {key} ({card.model_config.get(key, '?')!r} vs {first.model_config.get(key, '?')!r})"
            )


def weighted_average(replies: Mapping[str, Payload], counts: Mapping[str, float]) -> dict[str, np.ndarray]:
    """Float tensors: sum_k n_k w_k / sum_k n_k; integer tensors: the largest value."""
    names = list(replies)
    total = float(sum(counts[name] for name in names))
    averaged = {}
    for key, first in replies[names[0]].tensors.items():
        stack = np.stack([replies[name].tensors[key] for name in names])
        if np.issubdtype(first.dtype, np.floating):
            weights = np.array([counts[name] / total for name in names]).reshape(-1, *[1] * first.ndim)
            averaged[key] = (stack.astype(np.float64) * weights).sum(axis=0).astype(np.float32)
        else:
            averaged[key] = stack.max(axis=0)
    return averaged


class FedAvgProtocol(Protocol):
    name = "fedavg"

    def setup(self) -> None:
        check_identical_students(self.cards)
        # the global model is initialised at the centre from the students' declared config; every
        # node receives it in round 1, so all start from the same point
        self.global_weights = self.services.fresh_weights(next(iter(self.cards.values())).model_config)

    def planned_epochs(self) -> int:
        return self.config.rounds * self.config.local_epochs  # nodes deploy a global model: no last segment

    def configure(self, round: int, nodes: list[str]) -> dict[str, Payload]:
        return {name: Payload(WEIGHTS, self.global_weights, self.schedule(round)) for name in nodes}

    def node_step(self, node: CollabNode, instruction: Payload) -> Payload:
        node.load_weights(instruction.tensors)
        node.keep_if_best_received()
        if instruction.kind == LOAD:
            node.deploy_best_received()
            return ack(node)
        node.train_segment(segment_of(instruction, TASK_ONLY, start_weights=instruction.tensors))
        meta = {"num_windows": len(node.data.windows["train"]), "metrics": node_metrics(node)}
        return Payload(WEIGHTS, node.weights(), meta)

    def reply_spec(self, node: str, instruction: Payload) -> PayloadSpec:
        if instruction.kind == LOAD:
            return ack_spec()
        return PayloadSpec(WEIGHTS, self.cards[node].weight_shapes)

    def aggregate(self, round: int, replies: Mapping[str, Payload]) -> None:
        if not replies:
            return  # nobody answered: the global model stays as it was
        counts = {name: max(float(reply.meta.get("num_windows", 1)), 1.0) for name, reply in replies.items()}
        self.global_weights = weighted_average(replies, counts)

    def finish(self, nodes: list[str]) -> dict[str, Payload]:
        return {name: Payload(LOAD, self.global_weights, {"round": "final"}) for name in nodes}
