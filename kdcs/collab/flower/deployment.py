"""A Flower deployment on loopback: a SuperLink, one SuperNode per edge node, and the `flwr` CLI.

Flower 1.41 serves the Fleet, Control and Runtime APIs of a SuperLink on one HTTP port
(`flower-superlink --insecure --port P`); a SuperNode connects with `--superlink 127.0.0.1:P` and
serves its ClientApps on a port of its own (`--port`). Ports are free ones chosen at start unless
`flower.port` fixes the SuperLink's; with `flower.superlink` set, no SuperLink is started and the
SuperNodes and the CLI use that address. Each SuperNode is told its node via --node-config
(node-name, collab-config = the run's config.yaml). The CLI's connection "kdcs" is written to its
FLWR_HOME's config.toml. Every process gets FLWR_HOME inside the run folder and runtime dependency
installation off (otherwise Flower would `uv sync` the app and could pull a CUDA torch).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from kdcs.atomic_files import write_json_atomically, write_text_atomically
from kdcs.collab.config import CollabConfig
from kdcs.collab.flower.app_files import toml_literal
from kdcs.collab.flower.edge_node import COLLAB_CONFIG, NODE_NAME
from kdcs.collab.flower.errors import FlowerRunError
from kdcs.collab.flower.layout import FlowerLayout
from kdcs.collab.flower.processes import ProcessKeeper
from kdcs.collab.flower.security import FlowerSecurity

CONNECTION = "kdcs"
LOOPBACK = "127.0.0.1"
SUPERLINK = "superlink"
ANSI_CODES = re.compile(r"\x1b\[[0-9;]*m")


def flower_command(name: str) -> str:
    """A Flower executable of this Python environment (where kdcs and flwr are installed)."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is None:
        raise FlowerRunError(f"the Flower command {name!r} is not installed (pip install flwr==1.41.0)")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


class FlowerDeployment:
    def __init__(
        self,
        config: CollabConfig,
        layout: FlowerLayout,
        config_path: Path,
        security: FlowerSecurity | None = None,
    ) -> None:
        self.config, self.layout, self.config_path = config, layout, Path(config_path).resolve()
        self.security = security or FlowerSecurity()
        self.keeper = ProcessKeeper()
        self.address = config.flower.superlink

    def __enter__(self) -> FlowerDeployment:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def env(self, part: str) -> dict[str, str]:
        env = dict(os.environ)
        env["FLWR_HOME"] = str(self.layout.home(part))
        env["FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION"] = "1"
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def start(self) -> None:
        """Start the SuperLink (unless attached to one) and the SuperNodes (unless they run elsewhere)."""
        if self.address is None:
            port = self.config.flower.port or free_port()
            argv = [
                flower_command("flower-superlink"),
                *self.security.superlink_args(),
                "--disable-runtime-dependency-installation",
                "--host",
                self.config.flower.host,
                "--port",
                str(port),
            ]
            process = self.keeper.start(SUPERLINK, argv, self.layout.log(SUPERLINK), self.env(SUPERLINK))
            _wait_for_port(port, process, self.layout.log(SUPERLINK))
            self.address = f"{LOOPBACK}:{port}"
        self._write_cli_connection()
        if self.security.node_keys is not None:
            for node in self.config.nodes:
                self.register(node.name)
        if self.config.flower.supernodes:
            for node in self.config.nodes:
                self.start_supernode(node.name)

    def start_supernode(self, name: str) -> subprocess.Popen:
        """Start (or start again) the SuperNode of node `name`; a restart comes back as a new Flower node."""
        node_config = (
            f"{NODE_NAME}={toml_literal(name)} {COLLAB_CONFIG}={toml_literal(str(self.config_path))}"
        )
        argv = [
            flower_command("flower-supernode"),
            *self.security.supernode_args(name),
            "--superlink",
            str(self.address),
            "--port",
            str(free_port()),
            "--node-config",
            node_config,
        ]
        part = f"supernode-{name}"
        return self.keeper.start(part, argv, self.layout.log(part), self.env(part))

    def supernode(self, name: str) -> subprocess.Popen:
        return self.keeper.started[f"supernode-{name}"]

    def register(self, name: str) -> None:
        """Register node `name`'s public key at the SuperLink (`flwr supernode register`)."""
        key = self.security.public_key(name)
        done = self.flwr("supernode", "register", str(key), CONNECTION, "--format", "json", timeout=60)
        try:
            registered = bool(json.loads(done.stdout)["success"])
        except (ValueError, KeyError, TypeError):
            registered = False
        if not registered:
            raise FlowerRunError(
                f"the SuperLink did not register the public key {key} of node {name!r}:\n{done.stdout}{done.stderr}"
            )

    def refusals(self) -> dict[str, str]:
        """{node: why} for the SuperNodes started here that gave up on their own (a SuperNode the
        SuperLink refuses, e.g. one whose key is not registered, or that cannot verify the
        SuperLink's certificate, exits with a Flower exit code)."""
        refused = {}
        for node in self.config.nodes:
            process = self.keeper.started.get(f"supernode-{node.name}")
            if process is not None and process.poll() is not None and process.returncode > 0:
                refused[node.name] = exit_reason(
                    self.layout.log(f"supernode-{node.name}"), process.returncode
                )
        return refused

    def flwr(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
        """Run the `flwr` CLI against this deployment's SuperLink connection."""
        return subprocess.run(
            [flower_command("flwr"), *args],
            env=self.env("cli"),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def stream_logs(self, run_id: int) -> subprocess.Popen:
        """`flwr log <run> --stream` into flower/logs/flwr-run.log; it ends when the run does."""
        argv = [flower_command("flwr"), "log", str(run_id), CONNECTION, "--stream"]
        return self.keeper.start("flwr-run", argv, self.layout.log("flwr-run"), self.env("cli"))

    def close(self) -> None:
        """End every process this deployment started; flower/processes.json lists them (and any left)."""
        self.keeper.end_all()
        noted = {"pids": {str(pid): group for pid, group in self.keeper.pids.items()}}
        noted["groups"] = sorted(self.keeper.groups)
        noted["left"] = self.keeper.leftovers()
        write_json_atomically(self.layout.processes_json, noted)

    def _write_cli_connection(self) -> None:
        home = self.layout.home("cli")
        home.mkdir(parents=True, exist_ok=True)
        text = (
            f'[superlink]\ndefault = "{CONNECTION}"\n\n'
            f'[superlink.{CONNECTION}]\naddress = "{self.address}"\n{self.security.cli_connection()}'
        )
        write_text_atomically(home / "config.toml", text)


def exit_reason(log: Path, returncode: int) -> str:
    """Flower's own words for why a process exited: its exit code and the lines after it in its log."""
    lines = [ANSI_CODES.sub("", line).strip() for line in log.read_text(errors="replace").splitlines()]
    marks = [i for i, line in enumerate(lines) if "Exit Code:" in line]
    if not marks:
        return f"exited with code {returncode}; see {log}"
    code = lines[marks[-1]].rpartition("Exit Code:")[2].strip()
    words = []
    for line in lines[marks[-1] + 1 :]:
        if not line or line.startswith("For more information"):
            break
        words.append(line)
    return f"exited with Flower exit code {code}: {' '.join(words)}"


def _wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise FlowerRunError(
                f"the Flower SuperLink exited at start (code {process.returncode}); see {log}"
            )
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.settimeout(0.5)
            if probe.connect_ex((LOOPBACK, port)) == 0:
                return
        time.sleep(0.2)
    raise FlowerRunError(f"the Flower SuperLink did not open port {port} within {timeout:g} s; see {log}")
