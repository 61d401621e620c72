"""The byte ledger adds up exactly what was serialised, and shows who was missing."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from kdcs.collab.ledger import ByteLedger
from kdcs.collab.payload import Payload


def test_totals_equal_the_sum_of_encoded_lengths(tmp_path):
    ledger = ByteLedger()
    sent = {}
    for round_number in (1, 2):
        for node, size in (("a", 10), ("b", 30)):
            down = Payload("weights", {"w": np.ones(size, np.float32)}).encode("fp16")
            up = Payload("logits", {"l": np.zeros((size, 2, 64), np.float32)}, logit_keys=("l",)).encode(
                "topk", 4
            )
            ledger.record(round_number, node, "down", "weights", len(down))
            ledger.record(round_number, node, "up", "logits", len(up))
            sent[(round_number, node)] = (len(down), len(up))
    ledger.record_missing(3, "b", "timed out")

    totals = ledger.totals()

    assert totals["down"] == sum(d for d, _ in sent.values())
    assert totals["up"] == sum(u for _, u in sent.values())
    assert totals["by_node"]["a"]["up"] == sent[(1, "a")][1] + sent[(2, "a")][1]
    assert ledger.total("up", round=2) == sent[(2, "a")][1] + sent[(2, "b")][1]
    assert ledger.missing() == {3: ["b"]} and totals["missing"] == {"3": ["b"]}
    ledger.to_csv(tmp_path / "ledger.csv")
    rows = list(csv.DictReader((tmp_path / "ledger.csv").open()))
    assert len(rows) == 9 and sum(int(r["nbytes"]) for r in rows) == totals["up"] + totals["down"]
    assert rows[-1]["status"] == "missing" and rows[-1]["note"] == "timed out"


def test_bad_direction_is_refused():
    with pytest.raises(ValueError, match="direction"):
        ByteLedger().record(1, "a", "sideways", "weights", 3)
