"""The local engine: rounds played in this process, nodes in turn or in worker processes.

Per round: the protocol configures an instruction per node; the runner encodes it (the run's
payload encoding), records its bytes, and hands the bytes to the node side, which decodes them, runs
`protocol.node_step` and encodes its reply. Back at the centre the reply bytes are recorded and
decoded against `protocol.reply_spec`; a malformed reply is rejected with a logged reason and never
reaches `aggregate`. A node that raises or runs past `node_timeout_s` is recorded missing for the
round, and the round completes with the others; every node is asked again the next round, so a
node that comes back rejoins.

runner="processes": each node step runs in a forked worker process (up to `workers` at once) and
a hung node is killed at its deadline; the node's new weights and state come back to this process.
runner="sequential": steps run here one after another; a step that overruns its deadline cannot be
interrupted, so its reply is discarded afterwards (the node keeps what it trained).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from kdcs.collab.config import CollabConfig
from kdcs.collab.ledger import ByteLedger
from kdcs.collab.node import CollabNode
from kdcs.collab.payload import Payload, PayloadError
from kdcs.collab.protocol import HANDSHAKE_ROUND, Protocol, window_ids_spec

LOG = logging.getLogger("kdcs.collab")
HANG_SECONDS = 10**6


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


def node_side(
    protocol: Protocol,
    node: CollabNode,
    instruction_bytes: bytes,
    handshake: bool,
    fault: str | None,
    timeout: float,
) -> bytes:
    """Everything that happens on the node: decode, step, encode (plus any injected fault)."""
    instruction = Payload.decode(instruction_bytes)
    if fault == "crash":
        raise RuntimeError(f"injected crash on node {node.name!r}")
    if fault == "hang":
        time.sleep(timeout + 0.05 if multiprocessing.parent_process() is None else HANG_SECONDS)
    reply = protocol.handshake_step(node) if handshake else protocol.node_step(node, instruction)
    if fault == "nan":
        reply = poisoned(reply)
    config = protocol.config
    data = reply.encode(config.payload_encoding, config.topk)
    return os.urandom(len(data)) if fault == "garbage" else data


def poisoned(reply: Payload) -> Payload:
    """The reply with NaN in its first floating tensor (a node gone numerically wrong)."""
    tensors = dict(reply.tensors)
    for name, value in tensors.items():
        if np.issubdtype(value.dtype, np.floating) and value.size:
            bad = value.copy()
            bad.flat[0] = np.nan
            tensors[name] = bad
            break
    return Payload(reply.kind, tensors, reply.meta, reply.logit_keys)


class LocalRunner:
    def __init__(
        self, config: CollabConfig, protocol: Protocol, nodes: Mapping[str, CollabNode], ledger: ByteLedger
    ):
        self.config, self.protocol, self.nodes, self.ledger = config, protocol, dict(nodes), ledger
        self.faults = {(fault.node, fault.round): fault.kind for fault in config.faults}
        self.rows: list[dict] = []

    def run(self) -> list[dict]:
        """Play the handshake (if any), every round, and the final broadcast; returns rounds.csv rows."""
        names = list(self.nodes)
        if self.protocol.handshake:
            outcomes = self.play(HANDSHAKE_ROUND, self.protocol.configure_handshake(names), handshake=True)
            self.protocol.aggregate_handshake(accepted(outcomes))
        for round in range(1, self.config.rounds + 1):
            outcomes = self.play(round, self.protocol.configure(round, names))
            self.protocol.aggregate(round, accepted(outcomes))
        final = self.protocol.finish(names)
        if final:
            self.play(self.config.rounds + 1, final)
        return self.rows

    def play(
        self, round: int, instructions: Mapping[str, Payload], handshake: bool = False
    ) -> list[NodeOutcome]:
        sent = {}
        for name, instruction in instructions.items():
            sent[name] = instruction.encode(self.config.payload_encoding, self.config.topk)
            self.ledger.record(round, name, "down", instruction.kind, len(sent[name]))
        results = (self._in_processes if self.config.runner == "processes" else self._in_turn)(
            round, sent, handshake
        )
        outcomes = [
            self._receive(round, name, instructions[name], sent[name], results[name], handshake)
            for name in instructions
        ]
        for outcome in outcomes:
            self.rows.append(round_row(round, outcome))
        return outcomes

    def _in_turn(self, round: int, sent: Mapping[str, bytes], handshake: bool) -> dict[str, tuple]:
        results = {}
        for name, data in sent.items():
            start = time.perf_counter()
            try:
                up = node_side(
                    self.protocol,
                    self.nodes[name],
                    data,
                    handshake,
                    self.faults.get((name, round)),
                    self.config.node_timeout_s,
                )
                results[name] = ("ok", up, time.perf_counter() - start)
            except Exception as error:  # a node's failure must not end the round for the others
                results[name] = ("error", f"{type(error).__name__}: {error}", time.perf_counter() - start)
        return results

    def _in_processes(self, round: int, sent: Mapping[str, bytes], handshake: bool) -> dict[str, tuple]:
        context = multiprocessing.get_context("fork")  # the node (model, memory-mapped data) is inherited
        workers = self.config.workers or os.cpu_count() or 1
        names, results = list(sent), {}
        for first in range(0, len(names), workers):
            batch = {}
            for name in names[first : first + workers]:
                receiver, sender = context.Pipe(duplex=False)
                args = (
                    sender,
                    self.protocol,
                    self.nodes[name],
                    sent[name],
                    handshake,
                    self.faults.get((name, round)),
                    self.config.node_timeout_s,
                )
                process = context.Process(target=_worker, args=args, daemon=True)
                process.start()
                sender.close()
                batch[name] = (process, receiver, time.perf_counter())
            for name, (process, receiver, start) in batch.items():
                results[name] = self._collect(name, process, receiver, start)
        return results

    def _collect(self, name: str, process, receiver, start: float) -> tuple:
        remaining = max(self.config.node_timeout_s - (time.perf_counter() - start), 0.0)
        message = receiver.recv() if receiver.poll(remaining) else None
        if message is None:
            process.kill()
        process.join()
        if message is None:
            return ("error", f"timed out after {self.config.node_timeout_s:g} s", time.perf_counter() - start)
        if message[0] != "ok":
            return ("error", message[1], message[2])
        _, up, weights, state, seconds = message  # the worker's own clock: collection order adds waiting
        self.nodes[name].load_weights(weights)
        self.nodes[name].state = state
        return ("ok", up, seconds)

    def _receive(self, round, name, instruction, sent, result, handshake) -> NodeOutcome:
        status, value, seconds = result
        outcome = NodeOutcome(name, "ok", down_bytes=len(sent), seconds=seconds)
        if status == "ok" and seconds > self.config.node_timeout_s:
            status, value = "error", f"timed out after {self.config.node_timeout_s:g} s (reply discarded)"
        if status != "ok":
            LOG.warning("round %s: node %r is missing: %s", round, name, value)
            self.ledger.record_missing(round, name, value)
            outcome.status, outcome.reason = "missing", value
            return outcome
        outcome.up_bytes = len(value)
        spec = window_ids_spec() if handshake else self.protocol.reply_spec(name, instruction)
        try:
            outcome.reply = Payload.decode(value, spec)
        except PayloadError as error:
            LOG.warning("round %s: reply of node %r rejected: %s", round, name, error)
            self.ledger.record(round, name, "up", spec.kind, len(value), "rejected", str(error))
            outcome.status, outcome.reason = "rejected", str(error)
            return outcome
        self.ledger.record(round, name, "up", outcome.reply.kind, len(value))
        return outcome


def _worker(sender, protocol, node, data, handshake, fault, timeout) -> None:
    """Body of a worker process: one node step; sends back the reply bytes, weights and node state."""
    torch.set_num_threads(1)
    start = time.perf_counter()
    try:
        up = node_side(protocol, node, data, handshake, fault, timeout)
        sender.send(("ok", up, node.weights(), node.state, time.perf_counter() - start))
    except BaseException as error:  # report everything: the parent decides the node is missing
        sender.send(("error", f"{type(error).__name__}: {error}", time.perf_counter() - start))
    finally:
        sender.close()


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
        "down_bytes": outcome.down_bytes,
        "up_bytes": outcome.up_bytes,
        "seconds": round_seconds(outcome.seconds),
        "reason": outcome.reason,
    }


def round_seconds(seconds: float) -> float:
    return float(f"{seconds:.3f}")
