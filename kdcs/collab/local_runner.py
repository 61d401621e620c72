"""The local engine: rounds played in this process, nodes in turn or in worker processes.

The round loop (encode, ledger, decode against the reply spec, missing and rejected nodes) is
`kdcs.collab.rounds.Rounds`, shared with the Flower engine; this module only gets the instruction
bytes to the node side (`kdcs.collab.node_side`) and the reply bytes back.

runner="processes": each node step runs in a forked worker process (up to `workers` at once) and
a hung node is killed at its deadline; the node's new weights and state come back to this process.
runner="sequential": steps run here one after another; a step that overruns its deadline cannot be
interrupted, so its reply is discarded afterwards (the node keeps what it trained).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Mapping

import torch

from kdcs.collab.config import CollabConfig
from kdcs.collab.ledger import ByteLedger
from kdcs.collab.node import CollabNode
from kdcs.collab.node_side import node_side
from kdcs.collab.protocol import Protocol
from kdcs.collab.rounds import Delivered, Rounds


class LocalRunner(Rounds):
    def __init__(
        self, config: CollabConfig, protocol: Protocol, nodes: Mapping[str, CollabNode], ledger: ByteLedger
    ):
        super().__init__(config, protocol, list(nodes), ledger)
        self.nodes = dict(nodes)
        self.faults = {(fault.node, fault.round): fault.kind for fault in config.faults}

    def deliver(self, round: int, sent: Mapping[str, bytes], handshake: bool) -> dict[str, Delivered]:
        if self.config.runner == "processes":
            return self._in_processes(round, sent, handshake)
        return self._in_turn(round, sent, handshake)

    def _in_turn(self, round: int, sent: Mapping[str, bytes], handshake: bool) -> dict[str, Delivered]:
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
                results[name] = Delivered(True, up, seconds=time.perf_counter() - start)
            except Exception as error:  # a node's failure must not end the round for the others
                reason = f"{type(error).__name__}: {error}"
                results[name] = Delivered(False, reason=reason, seconds=time.perf_counter() - start)
        return results

    def _in_processes(self, round: int, sent: Mapping[str, bytes], handshake: bool) -> dict[str, Delivered]:
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

    def _collect(self, name: str, process, receiver, start: float) -> Delivered:
        remaining = max(self.config.node_timeout_s - (time.perf_counter() - start), 0.0)
        message = receiver.recv() if receiver.poll(remaining) else None
        if message is None:
            process.kill()
        process.join()
        if message is None:
            reason = f"timed out after {self.config.node_timeout_s:g} s"
            return Delivered(False, reason=reason, seconds=time.perf_counter() - start)
        if message[0] != "ok":
            return Delivered(False, reason=message[1], seconds=message[2])
        _, up, weights, state, seconds = message  # the worker's own clock: collection order adds waiting
        self.nodes[name].load_weights(weights)
        self.nodes[name].state = state
        return Delivered(True, up, seconds=seconds)


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
