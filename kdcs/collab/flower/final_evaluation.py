"""After the last round: every node evaluates its final model on its own test split ("evaluate").

A node that does not answer within `node_timeout_s` gets {"status": "missing", "reason": ...} in
results.json instead of its test metrics.
"""

from __future__ import annotations

import json
from typing import Any

from flwr.app import Message, MessageType
from flwr.serverapp import Grid

from kdcs.collab.flower.exchange import exchange
from kdcs.collab.flower.records import EVALUATE, content, control_of
from kdcs.collab.flower.roster import Roster
from kdcs.collab.flower.traffic import TrafficLog

EVALUATE_ROUND = "final"


def evaluate_nodes(
    grid: Grid, roster: Roster, traffic: TrafficLog, timeout: float
) -> dict[str, dict[str, Any]]:
    """{node name: node_result of its final model, or why it is missing}, in config order."""
    roster.settle()
    messages = {
        name: Message(content(ask=EVALUATE), dst_node_id=node_id, message_type=MessageType.EVALUATE)
        for name, node_id in roster.ids.items()
    }
    for name, message in messages.items():
        traffic.record(EVALUATE_ROUND, name, "down", EVALUATE, message)
    replies = exchange(grid, messages, timeout)
    results: dict[str, dict[str, Any]] = {}
    for name in roster.names:
        reply = replies.get(name)
        if reply is None:
            why = (
                "not connected to the SuperLink"
                if name not in messages
                else f"no answer within {timeout:g} s"
            )
            results[name] = {"status": "missing", "reason": why}
        elif reply.has_error():
            results[name] = {
                "status": "missing",
                "reason": f"Flower error {reply.error.code}: {reply.error.reason}",
            }
        else:
            traffic.record(EVALUATE_ROUND, name, "up", EVALUATE, reply)
            results[name] = json.loads(str(control_of(reply)["result"]))
    return results
