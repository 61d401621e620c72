"""The byte ledger: every payload that crossed the fronthaul, by round, node, direction and kind.

Entries are recorded from `len(encoded bytes)` at the moment a payload is sent, never estimated.
A rejected payload still cost its bytes (it was sent) and is recorded with the rejection reason;
a node that missed a round is recorded with nbytes 0 and the reason, so a report shows who was out.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

from kdcs.atomic_files import write_text_atomically

DIRECTIONS = ("up", "down")
COLUMNS = ("round", "node", "direction", "kind", "nbytes", "status", "note")


@dataclass(frozen=True)
class LedgerEntry:
    """One transfer. direction: "up" (node to centre) or "down"; status: "ok", "rejected", "missing"."""

    round: int
    node: str
    direction: str
    kind: str
    nbytes: int
    status: str = "ok"
    note: str = ""


class ByteLedger:
    """Append-only record of transfers, with totals by node, direction and kind."""

    def __init__(self) -> None:
        self.entries: list[LedgerEntry] = []

    def record(
        self,
        round: int,
        node: str,
        direction: str,
        kind: str,
        nbytes: int,
        status: str = "ok",
        note: str = "",
    ) -> None:
        if direction not in DIRECTIONS:
            raise ValueError(f"ledger direction must be one of {DIRECTIONS}, got {direction!r}")
        if nbytes < 0:
            raise ValueError(f"ledger nbytes must be >= 0, got {nbytes}")
        self.entries.append(LedgerEntry(round, node, direction, kind, int(nbytes), status, note))

    def record_missing(self, round: int, node: str, reason: str) -> None:
        """The node did not complete the round (crash, timeout); it costs no bytes upward."""
        self.entries.append(LedgerEntry(round, node, "up", "missing", 0, "missing", reason))

    def total(self, direction: str | None = None, node: str | None = None, round: int | None = None) -> int:
        return sum(
            e.nbytes
            for e in self.entries
            if (direction is None or e.direction == direction)
            and (node is None or e.node == node)
            and (round is None or e.round == round)
        )

    def missing(self) -> dict[int, list[str]]:
        """{round: [nodes missing in it]}."""
        out: dict[int, list[str]] = defaultdict(list)
        for entry in self.entries:
            if entry.status == "missing":
                out[entry.round].append(entry.node)
        return dict(out)

    def totals(self) -> dict:
        """{"up": n, "down": n, "by_node": {node: {"up", "down"}}, "by_kind": {"up:kind": n}, "missing": ...}."""
        by_node: dict[str, dict[str, int]] = defaultdict(lambda: {"up": 0, "down": 0})
        by_kind: dict[str, int] = defaultdict(int)
        for entry in self.entries:
            by_node[entry.node][entry.direction] += entry.nbytes
            if entry.status != "missing":
                by_kind[f"{entry.direction}:{entry.kind}"] += entry.nbytes
        return {
            "up": self.total("up"),
            "down": self.total("down"),
            "by_node": dict(by_node),
            "by_kind": dict(by_kind),
            "missing": {str(r): nodes for r, nodes in self.missing().items()},
        }

    def to_rows(self) -> list[dict]:
        return [asdict(entry) for entry in self.entries]

    def to_csv(self, path: Path) -> None:
        """Write every entry as CSV, atomically."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.to_rows())
        write_text_atomically(Path(path), buffer.getvalue())
