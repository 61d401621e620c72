"""Which Flower node speaks for which kdcs node, learnt from a join query to every new SuperNode.

Flower numbers SuperNodes itself (a restarted SuperNode comes back under a new id), so the centre
asks each node id it has not heard from who it is: the node answers with its name and its
NodeCard. At start the centre waits until every configured node has joined
(`flower.join_timeout_s`). Afterwards `poll` runs while rounds wait for replies and `settle` before
every round, so a node that died and came back is found under its new id and rejoins (and the
round stops waiting for its old self). Asking never blocks: join queries are pushed, and their
replies pulled by later polls; one unanswered for `reply_timeout` seconds is asked again. Cards are
those of the first join (the protocol was set up with them).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from flwr.app import Message, MessageType
from flwr.serverapp import Grid

from kdcs.collab.flower.exchange import POLL_SECONDS
from kdcs.collab.flower.records import JOIN, content, control_of
from kdcs.collab.flower.traffic import TrafficLog
from kdcs.collab.protocol import NodeCard

LOG = logging.getLogger("kdcs.collab")
JOIN_ROUND = "join"


class Roster:
    """names: the nodes taking part (those refused at join time are moved to `refused`).

    refusals: returns {node: why} for SuperNodes known to have given up (the engine's
    flower/refused.json): join_all stops waiting for them.
    """

    def __init__(
        self,
        grid: Grid,
        names: list[str],
        traffic: TrafficLog,
        reply_timeout: float,
        refusals: Callable[[], dict[str, str]] = dict,
    ) -> None:
        self.grid, self.names, self.traffic, self.reply_timeout = grid, list(names), traffic, reply_timeout
        self.refusals = refusals
        self.refused: dict[str, str] = {}  # node -> why it never joined (missing from every round)
        self.ids: dict[str, int] = {}
        self.cards: dict[str, NodeCard] = {}
        self.heard: set[int] = set()  # node ids that answered a join (joined, or were turned away)
        self.asked: dict[int, float] = {}  # node id -> when its pending join was sent
        self.pending: dict[str, int] = {}  # join message id -> node id

    def join_all(self, timeout: float) -> dict[str, NodeCard]:
        """Wait until every node has joined or was refused; returns the cards of those that joined,
        in config order. Refused nodes leave `names` for `refused`."""
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            absent = [name for name in self.names if name not in self.ids]
            refused = {name: why for name, why in self.refusals().items() if name in absent}
            if absent and len(refused) == len(absent) == len(self.names):
                raise RuntimeError(f"no node could join the Flower run: {refused}")
            if len(refused) == len(absent):
                for name, why in refused.items():
                    LOG.warning(
                        "node %r never joined (its SuperNode %s): missing from every round", name, why
                    )
                self.refused = refused
                self.names = [name for name in self.names if name not in refused]
                return {name: self.cards[name] for name in self.names}
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"nodes {absent} did not join the Flower run within flower.join_timeout_s={timeout:g} s"
                )
            time.sleep(POLL_SECONDS)

    def settle(self) -> None:
        """Ask the new node ids who they are and wait (up to reply_timeout) until they have said."""
        deadline = time.monotonic() + self.reply_timeout
        self.poll()
        while self.pending and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            self.poll()

    def poll(self) -> None:
        """Send join queries to node ids not heard from yet; take in the join replies that came."""
        now = time.monotonic()
        for message_id, node_id in list(self.pending.items()):
            if now - self.asked[node_id] > self.reply_timeout:
                LOG.warning("SuperNode %s did not answer its join query; asking again", node_id)
                del self.pending[message_id], self.asked[node_id]
        fresh = [n for n in self.grid.get_node_ids() if n not in self.heard and n not in self.asked]
        if fresh:
            messages = [
                Message(content(ask=JOIN), dst_node_id=n, message_type=MessageType.QUERY) for n in fresh
            ]
            for node_id, message in zip(fresh, messages, strict=True):
                self.traffic.record(JOIN_ROUND, f"node-id-{node_id}", "down", JOIN, message)
            for node_id, message_id in zip(fresh, self.grid.push_messages(messages), strict=True):
                if message_id:
                    self.pending[message_id] = node_id
                    self.asked[node_id] = now
        if self.pending:
            for reply in self.grid.pull_messages(list(self.pending)):
                node_id = self.pending.pop(reply.metadata.reply_to_message_id, None)
                if node_id is not None:
                    del self.asked[node_id]
                    self._heard(node_id, reply)

    def _heard(self, node_id: int, reply: Message) -> None:
        self.heard.add(node_id)
        if reply.has_error():
            LOG.warning("SuperNode %s could not join: %s", node_id, reply.error.reason)
            return
        control = control_of(reply)
        name = str(control.get("node", ""))
        self.traffic.record(JOIN_ROUND, name, "up", JOIN, reply)
        if name not in self.names:
            LOG.warning("SuperNode %s calls itself %r, not a node of this run; ignored", node_id, name)
            return
        if name in self.ids:
            LOG.warning("node %r rejoined as SuperNode %s (was %s)", name, node_id, self.ids[name])
        self.ids[name] = node_id
        self.cards.setdefault(name, card_from_json(str(control["card"])))


def card_from_json(text: str) -> NodeCard:
    fields = json.loads(text)
    fields["weight_shapes"] = {k: tuple(v) for k, v in fields["weight_shapes"].items()}
    return NodeCard(**fields)
