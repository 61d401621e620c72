"""collab.max_reply_bytes on a real run: replies over the bound are rejected, logged and kept out."""

from __future__ import annotations

from kdcs.jobs.collab import run_collab
from tests.integration.test_collab_protocols import (
    SAME_STUDENT,
    rounds_rows,
    scenario,  # noqa: F401 (a fixture)
    tiny_config,
)


def test_replies_over_the_bound_are_rejected_before_decoding(scenario, tmp_path, caplog):  # noqa: F811
    config = tiny_config(scenario, "protocol=fedavg", SAME_STUDENT, "rounds=1", "max_reply_bytes=1000")

    results = run_collab(config, tmp_path / "run")

    rows = [row for row in rounds_rows(tmp_path / "run") if row["round"] == "1"]
    assert {row["status"] for row in rows} == {"rejected"}
    assert all("exceeds max_reply_bytes=1,000" in row["reason"] for row in rows)
    assert "reply of node 'n1' rejected: reply of" in caplog.text
    assert results["bytes"]["up"] > 3 * 1000  # the bytes came (and are counted); none was decoded
