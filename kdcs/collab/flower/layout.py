"""Where the Flower engine keeps its files: the run folder's flower/ sub-folder.

flower/app/            the Flower App (`flwr run` builds it into a FAB): only a pyproject.toml
                       naming the ServerApp and ClientApp modules of this package
flower/home/<part>/    FLWR_HOME of the SuperLink, of each SuperNode and of the `flwr` CLI
                       (which finds its SuperLink connection in cli/config.toml)
flower/logs/           superlink.log, supernode-<name>.log, flwr-run.log, serverapp.log
flower/traffic.csv     Flower's sizes of every message (see traffic.py)
flower/error.json      why the ServerApp failed, when it did
flower/credentials/    flower.tls=auto: the throw-away CA, SuperLink certificate and node keys
flower/refused.json    SuperNodes started here that the SuperLink refused ({node: why}); the
                       ServerApp stops waiting for them and records them missing
"""

from __future__ import annotations

import json
from pathlib import Path


class FlowerLayout:
    def __init__(self, run_dir: Path) -> None:
        self.root = Path(run_dir) / "flower"

    @property
    def app_dir(self) -> Path:
        return self.root / "app"

    def home(self, part: str) -> Path:
        return self.root / "home" / part

    def log(self, part: str) -> Path:
        return self.root / "logs" / f"{part}.log"

    @property
    def serverapp_log(self) -> Path:
        return self.log("serverapp")

    @property
    def traffic_csv(self) -> Path:
        return self.root / "traffic.csv"

    @property
    def error_json(self) -> Path:
        return self.root / "error.json"

    @property
    def processes_json(self) -> Path:
        return self.root / "processes.json"

    @property
    def credentials(self) -> Path:
        return self.root / "credentials"

    @property
    def refused_json(self) -> Path:
        return self.root / "refused.json"

    def refusals(self) -> dict[str, str]:
        """The refused SuperNodes the engine noted so far ({} when none, or not yet readable)."""
        try:
            return dict(json.loads(self.refused_json.read_text()))
        except (OSError, ValueError, TypeError):
            return {}
