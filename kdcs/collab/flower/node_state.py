"""A Flower node's memory between messages: one safetensors file in the run folder.

Flower may start a fresh ClientApp process for every message, and a SuperNode that died and came
back has lost everything it held, so after every step a node writes what it must remember to
`nodes/<name>/state/node.safetensors` (atomically) and reads it back at the next message:
    weights/<key>       the student's state_dict (the optimiser restarts every step, see
                        CollabNode, so there is no optimiser state to keep);
    state/<key>         the protocol's arrays in `node.state` (e.g. received soft labels); a tuple
                        or list of arrays is stored item by item as state/<key>/<i>;
    metadata "state"    JSON of the rest of `node.state` and of how to rebuild it.
Only tensors and JSON: nothing is unpickled.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save

from kdcs.atomic_files import write_bytes_atomically
from kdcs.collab.node import CollabNode

STATE_FILE = "node.safetensors"


def state_path(node: CollabNode) -> Path:
    return Path(node.run_dir) / "state" / STATE_FILE


def save_node_state(node: CollabNode) -> Path:
    tensors = {f"weights/{key}": _contiguous(value) for key, value in node.weights().items()}
    layout: dict[str, Any] = {}
    for key, value in node.state.items():
        if isinstance(value, np.ndarray):
            tensors[f"state/{key}"] = _contiguous(value)
            layout[key] = {"array": True}
        elif isinstance(value, tuple | list) and value and all(isinstance(v, np.ndarray) for v in value):
            for index, item in enumerate(value):
                tensors[f"state/{key}/{index}"] = _contiguous(item)
            layout[key] = {"arrays": len(value), "tuple": isinstance(value, tuple)}
        else:
            try:
                layout[key] = {"json": json.loads(json.dumps(value))}
            except TypeError:
                raise TypeError(
                    f"node {node.name!r}: state {key!r} ({type(value).__name__}) is neither arrays nor JSON"
                ) from None
    path = state_path(node)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomically(path, save(tensors, metadata={"state": json.dumps(layout)}))
    return path


def load_node_state(node: CollabNode) -> bool:
    """Restore the node's weights and state from its file; False when it has none yet."""
    path = state_path(node)
    if not path.is_file():
        return False
    with safe_open(path, framework="np") as handle:
        layout = json.loads(handle.metadata()["state"])
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    node.load_weights({k.removeprefix("weights/"): v for k, v in tensors.items() if k.startswith("weights/")})
    node.state = {}
    for key, entry in layout.items():
        if "array" in entry:
            node.state[key] = tensors[f"state/{key}"]
        elif "arrays" in entry:
            items = [tensors[f"state/{key}/{index}"] for index in range(entry["arrays"])]
            node.state[key] = tuple(items) if entry["tuple"] else items
        else:
            node.state[key] = entry["json"]
    return True


def _contiguous(array: np.ndarray) -> np.ndarray:
    """C-contiguous, as safetensors needs (np.ascontiguousarray would turn a 0-d tensor into 1-d)."""
    return array if array.flags.c_contiguous else np.ascontiguousarray(array)
