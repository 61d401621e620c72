"""Parts of the Flower engine that need no Flower run: node state files, config keys, the app's
pyproject, and ending every started process (children, orphans, new sessions) by PID."""

from __future__ import annotations

import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import pytest

from kdcs.collab import CollabConfig
from kdcs.collab.flower.app_files import toml_literal, write_flower_app
from kdcs.collab.flower.node_state import load_node_state, save_node_state, state_path
from kdcs.collab.flower.processes import ProcessKeeper, alive
from kdcs.collab.run_folder import write_run_config
from kdcs.collab.validation import validate_collab_config
from kdcs.config import ConfigError, load_config


class FakeNode:
    """What node_state touches of a CollabNode: name, run_dir, weights, state."""

    def __init__(self, run_dir: Path, weights: dict[str, np.ndarray], state: dict) -> None:
        self.name, self.run_dir, self._weights, self.state = "n1", run_dir, weights, state

    def weights(self) -> dict[str, np.ndarray]:
        return dict(self._weights)

    def load_weights(self, tensors: dict[str, np.ndarray]) -> None:
        assert set(tensors) == set(self._weights)
        self._weights = dict(tensors)


def test_node_state_round_trips_weights_arrays_tuples_and_json(tmp_path):
    weights = {"fc.weight": np.arange(6, dtype=np.float32).reshape(2, 3), "bn.steps": np.array(7, np.int64)}
    state = {
        "proxy_ids": np.array([3, 5, 8], np.int64),
        "soft_labels": (np.array([1, 2], np.int32), np.ones((2, 1, 4), np.float32)),
        "_steps": ["r1-local", "r2-local"],
    }
    save_node_state(FakeNode(tmp_path, weights, state))
    fresh = FakeNode(tmp_path, {k: np.zeros_like(v) for k, v in weights.items()}, {})

    assert load_node_state(fresh)
    assert state_path(fresh) == tmp_path / "state" / "node.safetensors"
    np.testing.assert_array_equal(fresh.weights()["fc.weight"], weights["fc.weight"])
    assert int(fresh.weights()["bn.steps"]) == 7
    np.testing.assert_array_equal(fresh.state["proxy_ids"], state["proxy_ids"])
    assert isinstance(fresh.state["soft_labels"], tuple)
    np.testing.assert_array_equal(fresh.state["soft_labels"][1], state["soft_labels"][1])
    assert fresh.state["_steps"] == ["r1-local", "r2-local"]
    assert not load_node_state(FakeNode(tmp_path / "elsewhere", weights, {}))


def test_node_state_refuses_what_is_neither_arrays_nor_json(tmp_path):
    with pytest.raises(TypeError, match="'teacher'"):
        save_node_state(FakeNode(tmp_path, {}, {"teacher": object()}))


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("flower.superlink=localhost", "flower.superlink"),
        ("flower.port=70000", "flower.port"),
        ("flower.join_timeout_s=0", "flower.join_timeout_s"),
        ("flower.supernodes=false", "flower.supernodes"),
    ],
)
def test_flower_config_errors_name_the_key(override, key):
    config = load_config(
        CollabConfig(),
        overrides=["engine=flower", "data.scenario=somewhere", "nodes=[{name: n1, ap: ap1}]", override],
    )
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        validate_collab_config(config)


def test_the_flower_app_names_the_kdcs_apps_and_the_run_config(tmp_path):
    config_path = tmp_path / "run folder" / "config.yaml"
    pyproject = tomllib.loads(
        (write_flower_app(tmp_path / "app", config_path) / "pyproject.toml").read_text()
    )

    components = pyproject["tool"]["flwr"]["app"]["components"]
    assert components == {
        "serverapp": "kdcs.collab.flower.server_app:app",
        "clientapp": "kdcs.collab.flower.client_app:app",
    }
    assert pyproject["tool"]["flwr"]["app"]["config"]["collab-config"] == str(config_path.resolve())
    with pytest.raises(ValueError, match="quote"):
        toml_literal("/tmp/it's")


def test_every_started_process_ends_with_its_children_orphans_and_new_sessions(tmp_path):
    spawner = (
        "import subprocess, time\n"
        "subprocess.Popen(['sleep', '60'])\n"  # a child in this group
        "subprocess.Popen(['sleep', '61'], start_new_session=True)\n"  # a child in a session of its own
        "time.sleep(60)\n"
    )
    keeper = ProcessKeeper()
    keeper.start("spawner", [sys.executable, "-c", spawner], tmp_path / "spawner.log", {})
    keeper.start("orphaner", ["sh", "-c", "sleep 62 & exit 0"], tmp_path / "orphaner.log", {})
    deadline = time.monotonic() + 10
    while len(keeper.pids) < 4 and time.monotonic() < deadline:
        keeper.watch()
        time.sleep(0.1)
    assert len(keeper.pids) >= 4  # spawner, its two children, orphaner (its sleep may be orphaned already)

    keeper.end_all(grace=2.0)

    assert keeper.leftovers() == []
    assert not alive(keeper.pids)


def test_the_run_config_the_flower_processes_read_back_is_the_config(tmp_path):
    """ServerApp and ClientApps rebuild everything from config.yaml: it must give the same config."""
    config = load_config(
        CollabConfig(),
        overrides=[
            "engine=flower",
            "protocol=mutual",
            "flower.superlink=127.0.0.1:9093",
            "nodes=[{name: n1, ap: ap1, neighbours: [n2], model: {hidden: 16}}, {name: n2, ap: ap2}]",
            "faults=[{node: n2, round: 1, kind: hang}]",
        ],
    )

    assert load_config(CollabConfig(), write_run_config(config, tmp_path)) == config
