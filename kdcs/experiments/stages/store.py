"""Finished stages on disk: one JSON record per stage, written atomically when the stage ends.

A record holds the stage's fingerprint, its JSON result and how long it took (wall seconds, and the
CPU seconds of the process that ran it and the child processes it waited for). A later run reuses
the result when the fingerprint it computes is the same; a record with another fingerprint, or a
damaged one, is ignored (the stage runs again and overwrites it). A failed stage leaves a
`<name>.error.txt` with its traceback and no record.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kdcs.atomic_files import write_json_atomically, write_text_atomically

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class StageRecord:
    name: str
    fingerprint: str
    seconds: float
    result: dict[str, Any]
    cpu_seconds: float | None = None


class StageStore:
    """Records under `folder` (e.g. runs/demo/stages/)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path(self, name: str, suffix: str = ".json") -> Path:
        return self.folder / f"{_UNSAFE.sub('_', name)}{suffix}"

    def load(self, name: str) -> StageRecord | None:
        """The stored record of `name`, or None when there is none or it cannot be read."""
        path = self.path(name)
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text())
            cpu = data.get("cpu_seconds")
            return StageRecord(
                data["name"],
                data["fingerprint"],
                float(data["seconds"]),
                data["result"],
                None if cpu is None else float(cpu),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def reusable(self, name: str, fingerprint: str) -> StageRecord | None:
        record = self.load(name)
        return record if record is not None and record.fingerprint == fingerprint else None

    def save(
        self,
        name: str,
        fingerprint: str,
        seconds: float,
        result: dict[str, Any],
        cpu_seconds: float | None = None,
    ) -> StageRecord:
        self.folder.mkdir(parents=True, exist_ok=True)
        cpu = None if cpu_seconds is None else round(cpu_seconds, 2)
        record = {
            "name": name,
            "fingerprint": fingerprint,
            "seconds": round(seconds, 2),
            "cpu_seconds": cpu,
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "result": result,
        }
        write_json_atomically(self.path(name), record)
        self.path(name, ".error.txt").unlink(missing_ok=True)
        return StageRecord(name, fingerprint, round(seconds, 2), result, cpu)

    def save_error(self, name: str, text: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.path(name, ".error.txt")
        write_text_atomically(path, text)
        return path
