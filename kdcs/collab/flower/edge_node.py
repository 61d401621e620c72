"""The edge node a ClientApp speaks for, rebuilt for every message.

Which node: the SuperNode's node config `node-name`. Which run: `collab-config` (the path of the
run's config.yaml) from the node config, else from the run config the ServerApp was started with.
The node is built exactly as the local engine builds it (`build_edge_nodes`: same data views,
partitions, seeds), then its weights and state come back from its state file (`node_state`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kdcs.collab.config import CollabConfig
from kdcs.collab.flower.node_state import load_node_state
from kdcs.collab.node import CollabNode
from kdcs.collab.node_setup import DataViews, build_edge_nodes
from kdcs.config import ConfigError, load_config

NODE_NAME = "node-name"
COLLAB_CONFIG = "collab-config"


@dataclass
class EdgeSite:
    """One node of one run, as its SuperNode sees it."""

    name: str
    config: CollabConfig
    run_dir: Path

    @classmethod
    def of(cls, node_config: dict[str, Any], run_config: dict[str, Any]) -> EdgeSite:
        name = str(node_config.get(NODE_NAME, ""))
        path = node_config.get(COLLAB_CONFIG) or run_config.get(COLLAB_CONFIG)
        if not name or not path:
            raise ConfigError(
                f"a kdcs SuperNode needs --node-config '{NODE_NAME}=\"<node>\"' and a "
                f"'{COLLAB_CONFIG}' path; got node config {dict(node_config)}"
            )
        config = load_config(CollabConfig(), Path(str(path)))
        names = [node.name for node in config.nodes]
        if name not in names:
            raise ConfigError(
                f"node config '{NODE_NAME}' ({name!r}) is not one of the config's nodes {names}"
            )
        return cls(name, config, Path(str(path)).parent)

    def node(self) -> CollabNode:
        """This node with its latest weights and state (fresh ones before its first step)."""
        node = build_edge_nodes(self.config, DataViews(self.config), self.run_dir)[self.name]
        load_node_state(node)
        return node

    def fault(self, round: int) -> str | None:
        return next((f.kind for f in self.config.faults if (f.node, f.round) == (self.name, round)), None)
