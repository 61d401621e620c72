"""Stage fingerprints: a hash of what a stage's result depends on, so a changed config reruns it.

What goes in: the job's name, its resolved arguments (configs as plain dicts, paths as strings)
and the fingerprints of the stages it needs; a changed teacher therefore reruns its students.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from kdcs.config import to_dict


def canonical_json(value: Any) -> str:
    """One text per value: dataclasses as dicts, sorted keys, tuples as lists, no whitespace."""
    return json.dumps(to_dict(value), sort_keys=True, separators=(",", ":"), default=str)


def fingerprint(job: str, args: Any, needs: dict[str, str] | None = None) -> str:
    """sha256 hex digest of the job name, its arguments and the fingerprints of its inputs."""
    payload = canonical_json({"job": job, "args": args, "needs": dict(sorted((needs or {}).items()))})
    return hashlib.sha256(payload.encode()).hexdigest()
