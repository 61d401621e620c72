"""The ClientApp: a thin adapter between Flower messages and one edge node.

    query "join"      -> the node's name and its NodeCard (what it declares when it joins);
    train             -> one protocol step: `node_side` (decode, protocol.node_step or the handshake,
                         encode, injected faults) on the payload bytes, reply with the reply bytes;
    evaluate          -> the node's final test evaluation with its final weights (`node_result`).

The node evaluates itself because the test split is its data: the centre never reads a node's
windows, on Flower as on the local engine. After a step the node saves its weights and state
(`node_state`) before replying, so the next message, in whatever process, starts from them.
A step that raises comes back to the centre as Flower's error reply, with the exception's text.
"""

from __future__ import annotations

import dataclasses
import time

import torch
from flwr.app import Context, Message
from flwr.clientapp import ClientApp

from kdcs.collab.flower.edge_node import EdgeSite
from kdcs.collab.flower.node_state import save_node_state
from kdcs.collab.flower.records import (
    EVALUATE,
    JOIN,
    content,
    control_of,
    json_field,
    payload_of,
    record_bytes,
)
from kdcs.collab.node_side import node_side
from kdcs.collab.protocol import NodeCard
from kdcs.collab.protocols import protocol_class
from kdcs.collab.run_folder import node_result

app = ClientApp()


def _site(context: Context) -> EdgeSite:
    torch.set_num_threads(1)  # the nodes of a loopback deployment share this machine's cores
    return EdgeSite.of(dict(context.node_config), dict(context.run_config))


@app.query()
def query(message: Message, context: Context) -> Message:
    site = _site(context)
    ask = control_of(message).get("ask")
    if ask != JOIN:
        raise ValueError(f"node {site.name!r}: unknown query {ask!r}")
    card = NodeCard.of(site.node())
    return Message(
        content(ask=JOIN, node=site.name, card=json_field(dataclasses.asdict(card))), reply_to=message
    )


@app.train()
def train(message: Message, context: Context) -> Message:
    site = _site(context)
    control = control_of(message)
    round, handshake = int(control["round"]), bool(control["handshake"])
    node = site.node()
    protocol = protocol_class(site.config)(site.config, {site.name: NodeCard.of(node)}, None)
    start = time.perf_counter()
    reply = node_side(
        protocol, node, payload_of(message), handshake, site.fault(round), site.config.node_timeout_s
    )
    seconds = time.perf_counter() - start
    save_node_state(node)
    fields = {
        "node": site.name,
        "round": round,
        "seconds": seconds,
        "received_record_bytes": record_bytes(message),
    }
    return Message(content(reply, **fields), reply_to=message)


@app.evaluate()
def evaluate(message: Message, context: Context) -> Message:
    site = _site(context)
    result = node_result(site.node(), site.config)
    return Message(content(ask=EVALUATE, node=site.name, result=json_field(result)), reply_to=message)
