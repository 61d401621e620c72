"""Atomic file writes: a temporary sibling, flushed to disk, then os.replace'd onto the target.

One implementation for every layer (cache manifests, checkpoints, run configs, ledgers, reports),
so a reader never sees a half-written file and a killed writer leaves no partial one behind.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def write_bytes_atomically(path: Path, data: bytes, mode: int = 0o666) -> None:
    """Write `data` to a temporary sibling, fsync it, then os.replace it onto `path`.

    mode: permission bits of the new file (before the umask); 0o600 for a private key, which is
    then never readable by others, not even for a moment.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_text_atomically(path: Path, text: str) -> None:
    write_bytes_atomically(path, text.encode())


def write_json_atomically(path: Path, payload: Mapping[str, Any]) -> None:
    write_bytes_atomically(path, json.dumps(payload, indent=1, sort_keys=True).encode())
