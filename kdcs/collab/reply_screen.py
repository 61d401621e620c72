"""Screening a node's reply before it is decoded: its size, and the tensors its header announces.

A payload's header is a small JSON block in front of the tensor bytes, so it can be read without
decoding a single tensor. The centre reads it first and rejects, with a reason for the log and
the ledger, a reply that
- is larger than `max_reply_bytes` (collab config key; the largest legitimate reply is a student's
  weights, a few MB);
- is of another kind, or announces other tensors than the receiver expects;
- announces a tensor of another shape (a top-k tensor is rebuilt as rows x classes floats whatever
  its byte count, so a reply announcing [1, 10^9] would otherwise allocate 4 GB), or of another
  dtype class (window ids are integers; logits are floating point; weights are numbers: a model's
  state also holds integer buffers, e.g. BatchNorm's num_batches_tracked).
Only then does `Payload.decode` build arrays, checking the bytes against the header and the values
(finite, indices in range).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from kdcs.collab.payload import PayloadError, PayloadSpec, _read_header, check_payload

# payload kinds whose tensors are integers. raw_windows is multi-view-kd's upload: window ids, beam
# labels, and float inputs sent as their raw bytes (uint8)
INTEGER_KINDS = ("window_ids", "raw_windows")
NUMERIC_KINDS = ("weights",)  # a model's state: floating weights and integer buffers; all others are floating


def screen_reply(data: bytes, spec: PayloadSpec, max_bytes: int) -> None:
    """Raise PayloadError (saying why) unless `data` is a reply `spec` could accept, before decoding."""
    if len(data) > max_bytes:
        raise PayloadError(f"reply of {len(data):,} bytes exceeds max_reply_bytes={max_bytes:,}")
    header, _ = _read_header(data)  # magic, JSON header and byte counts only
    announced = {entry["name"]: SimpleNamespace(shape=tuple(entry["shape"])) for entry in header["tensors"]}
    check_payload(SimpleNamespace(kind=header["kind"], tensors=announced), spec)  # kind, names, shapes
    wanted = (
        np.integer if spec.kind in INTEGER_KINDS else np.number if spec.kind in NUMERIC_KINDS else np.floating
    )
    for entry in header["tensors"]:
        if not np.issubdtype(np.dtype(entry["dtype"]), wanted):
            what = {np.integer: "integer", np.number: "numeric"}.get(wanted, "floating-point")
            raise PayloadError(f"tensor {entry['name']!r} announces dtype {entry['dtype']}, expected {what}")
