"""What happens on a node for one instruction, whatever carries the bytes (local runner or Flower).

The node decodes the instruction bytes, runs the protocol's step (or the handshake) on its own data
and encodes its reply in the run's payload encoding. Faults injected on purpose (config `faults`)
act here, so both engines show the same failures: "crash" raises, "hang" sleeps past the deadline,
"nan" poisons the reply, "garbage" replaces the reply bytes by random ones.
"""

from __future__ import annotations

import multiprocessing
import os
import time

import numpy as np

from kdcs.collab.config import payload_codec
from kdcs.collab.node import CollabNode
from kdcs.collab.payload import Payload
from kdcs.collab.protocol import Protocol

HANG_SECONDS = 10**6


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
        # a forked worker is killed at its deadline, so it may hang for good; anywhere else the
        # step only overruns, and its late reply is discarded
        time.sleep(timeout + 0.05 if multiprocessing.parent_process() is None else HANG_SECONDS)
    reply = protocol.handshake_step(node) if handshake else protocol.node_step(node, instruction)
    if fault == "nan":
        reply = poisoned(reply)
    encoding, options = payload_codec(protocol.config)
    data = reply.encode(encoding, options=options)
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
