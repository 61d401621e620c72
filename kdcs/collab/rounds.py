"""The round loop both engines share; only the transport differs (`Rounds.deliver`).

Per round: the protocol configures an instruction per node; the loop encodes it (the run's payload
encoding), records its bytes in the ledger and hands the bytes to `deliver`, which gets them to the
node side and brings back what each node answered. Back at the centre the reply bytes are recorded,
screened (size, announced tensors: `kdcs.collab.reply_screen`) and decoded against
`protocol.reply_spec`; a malformed reply is rejected with a logged reason and never reaches `aggregate`. A node that failed or ran past `node_timeout_s` is recorded missing for
the round, and the round completes with the others; every node is asked again the next round, so a
node that comes back rejoins.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from kdcs.collab.config import CollabConfig, payload_codec
from kdcs.collab.ledger import ByteLedger
from kdcs.collab.payload import Payload, PayloadError
from kdcs.collab.protocol import HANDSHAKE_ROUND, Protocol
from kdcs.collab.reply_screen import screen_reply

LOG = logging.getLogger("kdcs.collab")


@dataclass
class Delivered:
    """What came back from one node for one instruction: its reply bytes, or why there are none.

    seconds: the node's step time (its own clock where the transport reports it).
    """

    ok: bool
    data: bytes = b""
    reason: str = ""
    seconds: float = 0.0


@dataclass
class NodeOutcome:
    """What became of one node in one round. status: "ok", "missing" or "rejected"."""

    node: str
    status: str
    reply: Payload | None = None
    up_bytes: int = 0
    down_bytes: int = 0
    seconds: float = 0.0
    reason: str = ""


class Rounds:
    """Base of the engines' runners: subclasses implement `deliver`."""

    def __init__(self, config: CollabConfig, protocol: Protocol, names: list[str], ledger: ByteLedger):
        self.config, self.protocol, self.names, self.ledger = config, protocol, list(names), ledger
        self.rows: list[dict] = []

    def deliver(self, round: int, sent: Mapping[str, bytes], handshake: bool) -> dict[str, Delivered]:
        """Get each node its instruction bytes; return what every node in `sent` answered."""
        raise NotImplementedError

    def run(self) -> list[dict]:
        """Play the handshake (if any), every round, and the final broadcast; returns rounds.csv rows."""
        if self.protocol.handshake:
            outcomes = self.play(
                HANDSHAKE_ROUND, self.protocol.configure_handshake(self.names), handshake=True
            )
            self.protocol.aggregate_handshake(accepted(outcomes))
        for round in range(1, self.config.rounds + 1):
            outcomes = self.play(round, self.protocol.configure(round, self.names))
            self.protocol.aggregate(round, accepted(outcomes))
        final = self.protocol.finish(self.names)
        if final:
            self.play(self.config.rounds + 1, final)
        return self.rows

    def play(
        self, round: int, instructions: Mapping[str, Payload], handshake: bool = False
    ) -> list[NodeOutcome]:
        sent = {}
        encoding, options = payload_codec(self.config)
        for name, instruction in instructions.items():
            sent[name] = instruction.encode(encoding, options=options)
            self.ledger.record(round, name, "down", instruction.kind, len(sent[name]))
        results = self.deliver(round, sent, handshake)
        outcomes = [
            self._receive(round, name, instructions[name], sent[name], results[name], handshake)
            for name in instructions
        ]
        for outcome in outcomes:
            self.rows.append(round_row(round, outcome))
        return outcomes

    def _receive(
        self,
        round: int,
        name: str,
        instruction: Payload,
        sent: bytes,
        result: Delivered,
        handshake: bool,
    ) -> NodeOutcome:
        outcome = NodeOutcome(name, "ok", down_bytes=len(sent), seconds=result.seconds)
        missing = "" if result.ok else (result.reason or "no reply")
        if result.ok and result.seconds > self.config.node_timeout_s:
            missing = f"timed out after {self.config.node_timeout_s:g} s (reply discarded)"
        if missing:
            LOG.warning("round %s: node %r is missing: %s", round, name, missing)
            self.ledger.record_missing(round, name, missing)
            outcome.status, outcome.reason = "missing", missing
            return outcome
        outcome.up_bytes = len(result.data)
        spec = (
            self.protocol.handshake_spec(name) if handshake else self.protocol.reply_spec(name, instruction)
        )
        try:
            screen_reply(result.data, spec, self.config.max_reply_bytes)  # before any array is built
            outcome.reply = Payload.decode(result.data, spec)
        except PayloadError as error:
            LOG.warning("round %s: reply of node %r rejected: %s", round, name, error)
            self.ledger.record(round, name, "up", spec.kind, len(result.data), "rejected", str(error))
            outcome.status, outcome.reason = "rejected", str(error)
            return outcome
        self.ledger.record(round, name, "up", outcome.reply.kind, len(result.data))
        return outcome


def accepted(outcomes: list[NodeOutcome]) -> dict[str, Payload]:
    return {o.node: o.reply for o in outcomes if o.status == "ok" and o.reply is not None}


def round_row(round: int, outcome: NodeOutcome) -> dict:
    metrics = (outcome.reply.meta.get("metrics") or {}) if outcome.reply is not None else {}
    return {
        "round": round,
        "node": outcome.node,
        "status": outcome.status,
        "val_top1": metrics.get("val_top1", ""),
        "val_top5": metrics.get("val_top5", ""),
        "val_position_m": metrics.get("val_position_m", ""),  # world frame, a node with its AP's GPS
        "down_bytes": outcome.down_bytes,
        "up_bytes": outcome.up_bytes,
        "seconds": round_seconds(outcome.seconds),
        "reason": outcome.reason,
    }


def round_seconds(seconds: float) -> float:
    return float(f"{seconds:.3f}")
