"""TLS and SuperNode authentication of a Flower deployment, from the `flower.*` config keys.

flower.tls:
    "off"   every process runs --insecure (loopback runs, tests).
    "auto"  a throw-away CA, a SuperLink certificate (loopback plus `flower.tls_hosts`) and, with
            node_auth, one key pair per node, written into <run>/flower/credentials/
            (`kdcs.collab.flower.credentials`). Only for a SuperLink and SuperNodes started here.
    "files" PEM files of the user's own CA: `flower.ca_certfile` (every client trusts it), and for a
            SuperLink started here its `certfile` and `keyfile`.
flower.node_auth: the SuperLink refuses SuperNodes whose public key is not registered
    (flower-superlink --enable-supernode-auth); kdcs registers every node's public key with
    `flwr supernode register` before any SuperNode starts. Each SuperNode signs its requests with its
    private key (flower-supernode --auth-supernode-private-key). Keys: generated (tls=auto) or in
    `flower.node_keys`, a folder of `<node>.pub` (SSH format) and, for SuperNodes started here,
    `<node>.key` (OpenSSH private key), e.g. from `ssh-keygen -t ecdsa -b 384 -N "" -f <node>`
    (then renamed `<node>.key`). Flower allows node authentication over TLS only.

`check_flower_security` is the config check (no Flower import); `FlowerSecurity` gives the command
line arguments of each process and registers the keys.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kdcs.collab.flower.credentials import make_node_keys, make_tls_files
from kdcs.config import ConfigError

TLS_MODES = ("off", "auto", "files")
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def check_flower_security(flower: Any, node_names: list[str]) -> None:
    """Raise ConfigError naming the `flower.*` key when the TLS / authentication settings cannot work."""
    if flower.tls not in TLS_MODES:
        raise ConfigError(f"config key 'flower.tls' must be one of {TLS_MODES}, got {flower.tls!r}")
    if flower.node_auth and flower.tls == "off":
        raise ConfigError(
            "config key 'flower.node_auth' needs TLS (Flower authenticates SuperNodes only over TLS); "
            "set flower.tls=auto or flower.tls=files"
        )
    if flower.tls == "off" and flower.host not in LOOPBACK_HOSTS:
        raise ConfigError(
            f"config key 'flower.host' ({flower.host}) opens the SuperLink beyond this machine; "
            "set flower.tls=files (and flower.node_auth=true) first"
        )
    if flower.tls_hosts and flower.tls != "auto":
        raise ConfigError("config key 'flower.tls_hosts' applies to flower.tls=auto only")
    if flower.tls == "auto" and (flower.superlink is not None or not flower.supernodes):
        raise ConfigError(
            "config key 'flower.tls': auto makes a throw-away CA for a SuperLink and SuperNodes started "
            "here; with flower.superlink set or SuperNodes elsewhere, use flower.tls=files with your CA"
        )
    if flower.tls == "files":
        _check_file(flower.ca_certfile, "flower.ca_certfile")
        if flower.superlink is None:
            _check_file(flower.certfile, "flower.certfile")
            _check_file(flower.keyfile, "flower.keyfile")
    if flower.node_auth and flower.tls == "files":
        if not flower.node_keys:
            raise ConfigError("config key 'flower.node_keys' must name the folder of the nodes' keys")
        for name in node_names:
            _check_file(str(Path(flower.node_keys) / f"{name}.pub"), "flower.node_keys")
            if flower.supernodes:
                _check_file(str(Path(flower.node_keys) / f"{name}.key"), "flower.node_keys")


def _absolute(path: str | None) -> Path | None:
    return Path(path).resolve() if path else None


def _check_file(path: str | None, key: str) -> None:
    if not path:
        raise ConfigError(f"config key '{key}' must name a file (flower.tls=files)")
    if not Path(path).is_file():
        raise ConfigError(f"config key '{key}': {path} does not exist")


@dataclass(frozen=True)
class FlowerSecurity:
    """Absolute paths of the credentials a deployment uses (None: not used)."""

    ca_certfile: Path | None = None
    certfile: Path | None = None
    keyfile: Path | None = None
    node_keys: Path | None = None  # folder of <node>.key / <node>.pub when node_auth is on

    @classmethod
    def prepare(cls, flower: Any, node_names: list[str], credentials_dir: Path) -> FlowerSecurity:
        """Generate (tls=auto) or locate (tls=files) the credentials; nothing for tls=off."""
        if flower.tls == "off":
            return cls()
        if flower.tls == "auto":
            files = make_tls_files(credentials_dir, [*LOOPBACK_HOSTS, *flower.tls_hosts])
            if flower.node_auth:
                for name in node_names:
                    make_node_keys(credentials_dir, name)
            keys = credentials_dir if flower.node_auth else None
            return cls(files.ca_certfile, files.certfile, files.keyfile, keys)
        keys = _absolute(flower.node_keys) if flower.node_auth else None
        return cls(_absolute(flower.ca_certfile), _absolute(flower.certfile), _absolute(flower.keyfile), keys)

    @property
    def tls(self) -> bool:
        return self.ca_certfile is not None

    def superlink_args(self) -> list[str]:
        if not self.tls:
            return ["--insecure"]
        args = ["--ssl-ca-certfile", str(self.ca_certfile)]
        args += ["--ssl-certfile", str(self.certfile), "--ssl-keyfile", str(self.keyfile)]
        return args + (["--enable-supernode-auth"] if self.node_keys is not None else [])

    def supernode_args(self, name: str) -> list[str]:
        if not self.tls:
            return ["--insecure"]
        args = ["--root-certificates", str(self.ca_certfile)]
        if self.node_keys is not None:
            args += ["--auth-supernode-private-key", str(self.node_keys / f"{name}.key")]
        return args

    def cli_connection(self) -> str:
        """The TLS lines of the `flwr` CLI's connection in config.toml."""
        if not self.tls:
            return "insecure = true\n"
        return f"root-certificates = {json.dumps(str(self.ca_certfile))}\n"

    def public_key(self, name: str) -> Path:
        assert self.node_keys is not None
        return self.node_keys / f"{name}.pub"
