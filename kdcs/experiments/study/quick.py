"""`--quick` (`kdcs demo --quick`, `kdcs run --quick`): the demo's study on the tiny scenario (2 APs, 4
sequences of 12 samples), shorter windows (L=4, J=1) and at most `QUICK["max_epochs"]` epochs per model:
a smoke test of every stage in well under 2 minutes, not a result.

The one statement of these overrides (merged over the demo's defaults, before any YAML file or
`--set`); plain data, so the command's help can quote it without loading torch.
"""

from __future__ import annotations

from typing import Any

_WINDOW = {"history": 4, "horizon": 1}
_SPLIT = [0.34, 0.33, 0.33]

QUICK: dict[str, Any] = {
    "name": "demo-quick",
    "scenario": {"tiny": True},
    "workers": 1,
    "train_stride": 1,
    "max_epochs": 2,
    "common": {"data": {**_WINDOW, "split": _SPLIT}, "train": {"batch_size": 4}},
    "collab_common": {
        "data": {**_WINDOW, "split": _SPLIT},
        "proxy_windows": 32,
        # two training sequences: the centre keeps one (the proxy set), both nodes hold the other
        "nodes": [{"name": "node1", "ap": "ap1"}, {"name": "node2", "ap": "ap1"}],
    },
    "evaluation": {"latency_repeats": 5, "scene_slots": 8},
}


def quick_summary() -> str:
    """What --quick does, in the words the command's help shows."""
    return (
        f"The tiny scenario, L={_WINDOW['history']}, J={_WINDOW['horizon']} and at most "
        f"{QUICK['max_epochs']} epochs per model: a smoke test of every stage, not a result."
    )
