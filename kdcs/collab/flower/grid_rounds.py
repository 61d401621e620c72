"""The shared round loop (`kdcs.collab.rounds.Rounds`) with Flower as the transport.

`deliver` first lets new SuperNodes join (a node that came back rejoins here), then sends each
node its instruction bytes in a "train" message and waits up to `node_timeout_s` for the replies.
No reply in time: the node is missing ("timed out"); its SuperNode came back under a new id while
the round waited: missing at once (its old self will never answer); Flower's error reply (the
ClientApp raised, or the SuperLink found the node offline): missing, with Flower's reason; a reply:
its payload bytes go back to the shared loop, which counts, decodes and validates them like the
local engine.
"""

from __future__ import annotations

from collections.abc import Mapping

from flwr.app import Message, MessageType
from flwr.serverapp import Grid

from kdcs.collab.config import CollabConfig
from kdcs.collab.flower.exchange import exchange
from kdcs.collab.flower.records import content, control_of, payload_of
from kdcs.collab.flower.roster import Roster
from kdcs.collab.flower.traffic import TrafficLog
from kdcs.collab.ledger import ByteLedger
from kdcs.collab.payload import Payload
from kdcs.collab.protocol import Protocol
from kdcs.collab.rounds import Delivered, NodeOutcome, Rounds, round_row

STEP = "step"


class GridRounds(Rounds):
    def __init__(
        self,
        config: CollabConfig,
        protocol: Protocol,
        ledger: ByteLedger,
        grid: Grid,
        roster: Roster,
        traffic: TrafficLog,
    ):
        super().__init__(config, protocol, roster.names, ledger)
        self.grid, self.roster, self.traffic = grid, roster, traffic

    def deliver(self, round: int, sent: Mapping[str, bytes], handshake: bool) -> dict[str, Delivered]:
        self.roster.settle()
        timeout = self.config.node_timeout_s
        results: dict[str, Delivered] = {}
        messages: dict[str, Message] = {}
        down_rows: dict[str, dict] = {}
        for name, data in sent.items():
            node_id = self.roster.ids.get(name)
            if node_id is None:
                results[name] = Delivered(False, reason="not connected to the SuperLink")
                continue
            messages[name] = Message(
                content(data, round=round, handshake=handshake),
                dst_node_id=node_id,
                message_type=MessageType.TRAIN,
                group_id=str(round),
            )
            down_rows[name] = self.traffic.record(round, name, "down", STEP, messages[name], len(data))
        sent_to = {name: message.metadata.dst_node_id for name, message in messages.items()}
        replies = exchange(self.grid, messages, timeout, give_up=lambda: self._restarted(sent_to))
        restarted = self._restarted(sent_to)
        for name in messages:
            reply = replies.get(name)
            if reply is None and name in restarted:
                new = self.roster.ids[name]
                reason = f"its SuperNode restarted during the round (Flower node {sent_to[name]} -> {new})"
                results[name] = Delivered(False, reason=reason)
            elif reply is None:
                results[name] = Delivered(False, reason=f"timed out after {timeout:g} s", seconds=timeout)
            elif reply.has_error():
                results[name] = Delivered(
                    False, reason=f"Flower error {reply.error.code}: {reply.error.reason}"
                )
            else:
                control = control_of(reply)
                data = payload_of(reply)
                down_rows[name]["received_record_bytes"] = control.get("received_record_bytes", "")
                self.traffic.record(round, name, "up", STEP, reply, len(data))
                results[name] = Delivered(True, data, seconds=float(control.get("seconds", 0.0)))
        return results

    def play(
        self, round: int, instructions: Mapping[str, Payload], handshake: bool = False
    ) -> list[NodeOutcome]:
        """The shared round, plus a missing row for every node whose SuperNode was refused at join."""
        outcomes = super().play(round, instructions, handshake)
        for name, why in self.roster.refused.items():
            reason = f"never joined: its SuperNode {why}"
            self.ledger.record_missing(round, name, reason)
            self.rows.append(round_row(round, NodeOutcome(name, "missing", reason=reason)))
        return outcomes

    def _restarted(self, sent_to: Mapping[str, int]) -> set[str]:
        """Nodes that rejoined under another Flower node id than the one their message went to."""
        self.roster.poll()
        return {name for name, node_id in sent_to.items() if self.roster.ids.get(name) != node_id}
