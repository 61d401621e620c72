"""A node's training across rounds is one run: a run paused after every round and resumed ends
where the same run trained in one go ends (optimiser state, schedule, weight average, RNG)."""

from __future__ import annotations

import json

import numpy as np

from kdcs.collab.local_training import Segment, epochs_done, training_folder
from kdcs.collab.protocol import TASK_ONLY
from tests.unit.test_collab_protocol_steps import scenario, setting  # noqa: F401  (the fixture)


def test_rounds_of_one_run_end_where_the_uninterrupted_run_ends(scenario, tmp_path):  # noqa: F811
    _, paused = setting(scenario, tmp_path / "paused", "local-only")
    _, whole = setting(scenario, tmp_path / "whole", "local-only")

    for round in (1, 2, 3):
        paused["n1"].train_segment(Segment(f"r{round}", 1, 3, TASK_ONLY, min_steps=5))
    whole["n1"].train_segment(Segment("r1", 3, 3, TASK_ONLY, min_steps=5))

    assert epochs_done(training_folder(paused["n1"])) == 3
    for key, value in whole["n1"].weights().items():
        np.testing.assert_array_equal(paused["n1"].weights()[key], value, err_msg=key)
    best = [json.loads((training_folder(n["n1"]) / "best.json").read_text()) for n in (paused, whole)]
    assert best[0] == best[1]
    lrs = [row.split(",")[1] for row in (training_folder(paused["n1"]) / "metrics.csv").read_text().split()[1:]]
    assert len(set(lrs)) == 3 and float(lrs[0]) > float(lrs[1]) > float(lrs[2])  # one cosine schedule


def test_a_node_deploys_its_best_validation_epoch(scenario, tmp_path):  # noqa: F811
    _, nodes = setting(scenario, tmp_path, "local-only")
    node = nodes["n1"]
    node.train_segment(Segment("r1", 3, 3, TASK_ONLY, min_steps=5))
    best = json.loads((training_folder(node) / "best.json").read_text())

    assert node.deploy_best()

    assert node.evaluate("val")["top1"]["mean"] == best["val"]["top1"]["mean"]
