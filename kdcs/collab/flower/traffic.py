"""flower/traffic.csv: every message of the run with Flower's own measures of it, beside the ledger's.

One row per message the centre sent or received (payload steps, and the join and evaluate queries,
which carry no payload and are not in the ledger):
    nbytes               the payload bytes (what the ledger records; 0 for a query);
    record_bytes         Flower's `ArrayRecord.count_bytes()` of the payload record, taken on the
                         message as the centre built it (down) or as Flower delivered it (up);
    received_record_bytes  the same count taken by the node on the message Flower delivered to it
                         (down only; empty when the node did not answer);
    message_bytes        the message as Flower serialises it (`records.message_bytes`).
So for every payload, record_bytes == nbytes + len(PAYLOAD_ARRAY) (Flower counts the Array's data
plus its key), and the run's Fleet traffic, which Flower counts itself (`flwr ls`: bytes the
SuperLink sent to and received from SuperNodes), is the sum of message_bytes plus the Fleet API's
own request/response framing.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from flwr.app import Message

from kdcs.atomic_files import write_text_atomically
from kdcs.collab.flower.records import message_bytes, record_bytes

COLUMNS = (
    "round",
    "node",
    "direction",
    "kind",
    "nbytes",
    "record_bytes",
    "received_record_bytes",
    "message_bytes",
)


class TrafficLog:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def record(
        self, round: int | str, node: str, direction: str, kind: str, message: Message, nbytes: int = 0
    ) -> dict:
        row = {
            "round": round,
            "node": node,
            "direction": direction,
            "kind": kind,
            "nbytes": nbytes,
            "record_bytes": record_bytes(message),
            "received_record_bytes": "",
            "message_bytes": message_bytes(message),
        }
        self.rows.append(row)
        return row

    def totals(self) -> dict[str, int]:
        """Sums of message_bytes by direction ("down", "up"), over every message."""
        out = {"down": 0, "up": 0}
        for row in self.rows:
            out[row["direction"]] += int(row["message_bytes"])
        return out

    def to_csv(self, path: Path) -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        write_text_atomically(Path(path), buffer.getvalue())
