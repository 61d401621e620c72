"""How kdcs content rides in Flower messages, and what Flower says those messages weigh.

A payload (the bytes `Payload.encode` produced, the same bytes the byte ledger counts) travels as
the single Array of an ArrayRecord, stored as it is (stype "kdcs.payload": no NumPy framing), so
Flower carries exactly the ledger's bytes. Everything else in a message is small control data in a
ConfigRecord: the round, the node's name, its card, timings, its final evaluation as JSON.

Two Flower measures of a message are kept beside the ledger (flower/traffic.csv):
    record_bytes: `ArrayRecord.count_bytes()` of the payload record, Flower's own counter (the one
        its `message_size_mod` logs): the Array's data plus the length of its key;
    message_bytes: the message as Flower serialises it for the Fleet API, the sum of
        `deflate()` over every object of the message (Message, RecordDict, records, Array, chunks).
"""

from __future__ import annotations

import json
from typing import Any

from flwr.app import Array, ArrayRecord, ConfigRecord, Message, RecordDict
from flwr.supercore.inflatable.inflatable_object import get_all_nested_objects

PAYLOAD = "payload"  # RecordDict key of the ArrayRecord with the encoded kdcs payload
PAYLOAD_ARRAY = "bytes"  # key of its one Array
PAYLOAD_STYPE = "kdcs.payload"
CONTROL = "kdcs"  # RecordDict key of the ConfigRecord with the control fields

# what a query message asks of a node
JOIN = "join"
EVALUATE = "evaluate"


def payload_record(data: bytes) -> ArrayRecord:
    return ArrayRecord(
        {PAYLOAD_ARRAY: Array(dtype="uint8", shape=(len(data),), stype=PAYLOAD_STYPE, data=data)}
    )


def content(data: bytes | None = None, **control: Any) -> RecordDict:
    """A message body: the payload bytes (if any) and the control fields."""
    records: dict[str, Any] = {CONTROL: ConfigRecord(dict(control))}
    if data is not None:
        records[PAYLOAD] = payload_record(data)
    return RecordDict(records)


def payload_of(message: Message) -> bytes:
    """The payload bytes of a message (b"" when it carries none: the receiver rejects that)."""
    record = message.content.array_records.get(PAYLOAD)
    if record is None or PAYLOAD_ARRAY not in record:
        return b""
    return bytes(record[PAYLOAD_ARRAY].data)


def control_of(message: Message) -> dict[str, Any]:
    record = message.content.config_records.get(CONTROL)
    return dict(record) if record is not None else {}


def json_field(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def record_bytes(message: Message) -> int:
    """Flower's count_bytes() of the payload record (0 without one)."""
    record = message.content.array_records.get(PAYLOAD) if message.has_content() else None
    return record.count_bytes() if record is not None else 0


def message_bytes(message: Message) -> int:
    """Bytes of every object Flower serialises for this message."""
    return sum(len(item.deflate()) for item in get_all_nested_objects(message).values())
