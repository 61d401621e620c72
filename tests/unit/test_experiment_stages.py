"""Stages: fingerprints, reuse, a failure that names its stage and keeps what finished, resume, workers."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from kdcs.experiments.stages.fingerprint import fingerprint
from kdcs.experiments.stages.runner import Stage, StageFailed, run_stages, stage_fingerprints
from kdcs.experiments.stages.store import StageStore
from kdcs.experiments.stages.worker_env import GLIBC_MALLOC, worker_environment
from kdcs.jobs.stage_jobs import claim_run_dir


def count_call(args: Mapping[str, Any], fingerprint: str) -> dict[str, Any]:
    """Appends its name to a log file (so a test sees what ran) and returns its value doubled."""
    with open(args["log"], "a") as handle:
        handle.write(args["name"] + "\n")
    if args.get("fail"):
        raise RuntimeError(f"{args['name']} was told to fail")
    return {"value": 2 * args["value"], "summary": f"{args['name']} ok"}


def graph(log: Path, fail: str | None = None, value_b: int = 2) -> list[Stage]:
    def stage(name: str, value: int, needs: tuple[str, ...] = ()) -> Stage:
        return Stage(
            name, count_call, {"name": name, "value": value, "log": str(log), "fail": name == fail}, needs
        )

    # a <- b <- c, d independent
    return [stage("a", 1), stage("b", value_b, ("a",)), stage("d", 4), stage("c", 3, ("b",))]


def ran(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def test_fingerprint_is_stable_and_sees_arguments_and_inputs():
    assert fingerprint("job", {"x": (1, 2)}, {"a": "f"}) == fingerprint("job", {"x": [1, 2]}, {"a": "f"})
    assert fingerprint("job", {"x": 1}) != fingerprint("job", {"x": 2})
    assert fingerprint("job", {"x": 1}, {"a": "f"}) != fingerprint("job", {"x": 1}, {"a": "g"})


def test_a_changed_stage_changes_the_fingerprints_of_its_dependants_only(tmp_path):
    before = stage_fingerprints(graph(tmp_path / "log"))
    after = stage_fingerprints(graph(tmp_path / "log", value_b=5))
    assert before["a"] == after["a"] and before["d"] == after["d"]
    assert before["b"] != after["b"] and before["c"] != after["c"]


def test_second_run_reuses_every_stage(tmp_path):
    store, log = StageStore(tmp_path / "stages"), tmp_path / "log"
    first = run_stages(graph(log), store)
    assert sorted(ran(log)) == ["a", "b", "c", "d"] and first["c"].result["value"] == 6

    second = run_stages(graph(log), store)

    assert sorted(ran(log)) == ["a", "b", "c", "d"]  # nothing ran again
    assert {name: r.result for name, r in second.items()} == {name: r.result for name, r in first.items()}
    record = json.loads((tmp_path / "stages" / "c.json").read_text())
    assert record["fingerprint"] == stage_fingerprints(graph(log))["c"]


def test_a_changed_config_reruns_that_stage_and_its_dependants(tmp_path):
    store, log = StageStore(tmp_path / "stages"), tmp_path / "log"
    run_stages(graph(log), store)
    log.unlink()

    results = run_stages(graph(log, value_b=5), store)

    assert sorted(ran(log)) == ["b", "c"] and results["b"].result["value"] == 10


def test_a_failed_stage_stops_the_run_names_itself_and_a_rerun_resumes(tmp_path):
    store, log = StageStore(tmp_path / "stages"), tmp_path / "log"
    with pytest.raises(StageFailed, match="stage 'b' failed: RuntimeError: b was told to fail") as failure:
        run_stages(graph(log, fail="b"), store)
    assert ran(log) == ["a", "b"]  # nothing started after the failure
    assert store.load("a") is not None and store.load("b") is None
    assert "b was told to fail" in failure.value.error_file.read_text()
    log.unlink()

    run_stages(graph(log), store)

    assert sorted(ran(log)) == ["b", "c", "d"]  # a was kept
    assert not store.path("b", ".error.txt").exists()


def test_worker_processes_run_independent_stages_and_store_them(tmp_path):
    store, log = StageStore(tmp_path / "stages"), tmp_path / "log"
    results = run_stages(graph(log), store, workers=2)
    assert {name: r.result["value"] for name, r in results.items()} == {"a": 2, "b": 4, "c": 6, "d": 8}


def test_a_damaged_record_is_run_again(tmp_path):
    store, log = StageStore(tmp_path / "stages"), tmp_path / "log"
    run_stages(graph(log), store)
    store.path("d").write_text("{not json")
    log.unlink()
    run_stages(graph(log), store)
    assert ran(log) == ["d"]


def test_unknown_or_later_needs_are_refused(tmp_path):
    stages = graph(tmp_path / "log")
    with pytest.raises(ValueError, match="stage 'b' needs 'a', which is not an earlier stage"):
        run_stages([stages[1], stages[0]], StageStore(tmp_path / "stages"))


def test_run_folder_resumes_only_for_the_same_fingerprint(tmp_path):
    run_dir = tmp_path / "run"
    assert claim_run_dir(run_dir, "f1") is False
    (run_dir / "checkpoint").write_text("partial")
    assert claim_run_dir(run_dir, "f1") is True and (run_dir / "checkpoint").exists()
    assert claim_run_dir(run_dir, "f2") is False and not (run_dir / "checkpoint").exists()


def test_worker_environment_sets_glibc_thresholds_only_while_workers_start(monkeypatch):
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "123")  # the user's own value is kept

    with worker_environment():
        assert os.environ["MALLOC_MMAP_THRESHOLD_"] == GLIBC_MALLOC["MALLOC_MMAP_THRESHOLD_"]
        assert os.environ["MALLOC_TRIM_THRESHOLD_"] == "123"
    assert "MALLOC_MMAP_THRESHOLD_" not in os.environ and os.environ["MALLOC_TRIM_THRESHOLD_"] == "123"
