"""Run a graph of named stages: reuse finished ones, run the rest (side by side when allowed), stop on failure.

A stage is a top-level function `job(args, fingerprint) -> dict` (JSON-ready), its arguments and the
stages it needs. Its fingerprint (see `kdcs.experiments.stages.fingerprint`) covers the job, the arguments
and the fingerprints of what it needs. A stage whose stored record has the same fingerprint is
reused; the others run, in worker processes when `workers > 1` and the stage allows it. Stages
that must not share the CPU (latency measurements) run in this process, alone.

When a stage fails, no new stage starts; stages already running finish and are stored, then
`StageFailed` names the failed stage. A re-run reuses everything that finished.
"""

from __future__ import annotations

import multiprocessing
import resource
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from kdcs.experiments.stages.fingerprint import fingerprint
from kdcs.experiments.stages.store import StageRecord, StageStore
from kdcs.experiments.stages.worker_env import worker_environment

Job = Callable[[Mapping[str, Any], str], dict[str, Any]]


@dataclass(frozen=True)
class Stage:
    """name: unique; job: a module-level function (worker processes import it by name);
    args: JSON-ready arguments; needs: names of stages that must finish first;
    in_worker: may run in a worker process (False: runs here, with nothing else running)."""

    name: str
    job: Job
    args: Mapping[str, Any]
    needs: tuple[str, ...] = ()
    in_worker: bool = True


class StageFailed(RuntimeError):
    """A stage raised; `stage` names it, `error` is the exception, `error_file` holds its traceback."""

    def __init__(self, stage: str, error: BaseException, error_file: Path | None) -> None:
        super().__init__(f"stage '{stage}' failed: {type(error).__name__}: {error}")
        self.stage, self.error, self.error_file = stage, error, error_file


class StageEvents(Protocol):
    def reused(self, record: StageRecord) -> None: ...
    def started(self, name: str) -> None: ...
    def finished(self, record: StageRecord) -> None: ...
    def failed(self, name: str, error: BaseException) -> None: ...


class SilentEvents:
    def reused(self, record: StageRecord) -> None: ...
    def started(self, name: str) -> None: ...
    def finished(self, record: StageRecord) -> None: ...
    def failed(self, name: str, error: BaseException) -> None: ...


def cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and of the child processes it has waited for."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def timed_call(job: Job, args: Mapping[str, Any], stage_fingerprint: str) -> tuple[dict[str, Any], float]:
    """(job's result, CPU seconds it took); run in the process that runs the job, so a worker counts its own."""
    start = cpu_seconds()
    result = job(args, stage_fingerprint)
    return result, cpu_seconds() - start


def job_name(job: Job) -> str:
    return f"{job.__module__}.{job.__qualname__}"


def stage_fingerprints(stages: Sequence[Stage]) -> dict[str, str]:
    """Fingerprint of every stage, in order (a stage's needs come before it: see `check_graph`)."""
    prints: dict[str, str] = {}
    for stage in stages:
        prints[stage.name] = fingerprint(job_name(stage.job), stage.args, {n: prints[n] for n in stage.needs})
    return prints


def check_graph(stages: Sequence[Stage]) -> None:
    """Names unique; every need names an earlier stage (so the order is a valid run order)."""
    seen: set[str] = set()
    for stage in stages:
        if stage.name in seen:
            raise ValueError(f"two stages are named {stage.name!r}")
        unknown = [need for need in stage.needs if need not in seen]
        if unknown:
            raise ValueError(f"stage {stage.name!r} needs {unknown[0]!r}, which is not an earlier stage")
        seen.add(stage.name)


def run_stages(
    stages: Sequence[Stage], store: StageStore, workers: int = 1, events: StageEvents | None = None
) -> dict[str, StageRecord]:
    """Run or reuse every stage; returns {name: record}. Raises StageFailed after the first failure."""
    check_graph(stages)
    run = _Run(list(stages), store, stage_fingerprints(stages), events or SilentEvents())
    use_pool = workers > 1 and sum(stage.in_worker for stage in stages) > 1
    if not use_pool:
        return run.go(None, 1)
    # spawn, not fork: a forked child inherits torch's thread pools in an undefined state
    context = multiprocessing.get_context("spawn")
    with worker_environment(), ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return run.go(pool, workers)


class _Run:
    def __init__(self, stages: list[Stage], store: StageStore, prints: dict[str, str], events: StageEvents):
        self.waiting, self.store, self.prints, self.events = stages, store, prints, events
        self.done: dict[str, StageRecord] = {}
        self.running: dict[Future, tuple[Stage, float]] = {}
        self.failure: StageFailed | None = None

    def go(self, pool: ProcessPoolExecutor | None, workers: int) -> dict[str, StageRecord]:
        while True:
            if self.failure is None:
                self._reuse_finished()
                self._start_ready(pool, workers)
            if not self.running:
                if self.failure is not None:
                    raise self.failure
                if not self.waiting:
                    return self.done
                continue  # an inline stage just ran: look again for what became ready
            finished, _ = wait(list(self.running), return_when=FIRST_COMPLETED)
            for future in finished:
                stage, start = self.running.pop(future)
                try:
                    result, cpu = future.result()
                except Exception as error:  # noqa: BLE001 - any failure of a stage is reported by name
                    self._fail(stage, error)
                else:
                    self._finish(stage, start, result, cpu)

    def _ready(self) -> list[Stage]:
        return [s for s in self.waiting if all(need in self.done for need in s.needs)]

    def _reuse_finished(self) -> None:
        changed = True
        while changed:
            changed = False
            for stage in self._ready():
                record = self.store.reusable(stage.name, self.prints[stage.name])
                if record is not None:
                    self.waiting.remove(stage)
                    self.done[stage.name] = record
                    self.events.reused(record)
                    changed = True

    def _start_ready(self, pool: ProcessPoolExecutor | None, workers: int) -> None:
        for stage in self._ready():
            if pool is not None and stage.in_worker:
                if len(self.running) < workers:
                    self.waiting.remove(stage)
                    self.events.started(stage.name)
                    future = pool.submit(timed_call, stage.job, dict(stage.args), self.prints[stage.name])
                    self.running[future] = (stage, time.perf_counter())
            elif not self.running:
                self._run_inline(stage)
                return  # its dependants may now be ready, and reuse is checked first

    def _run_inline(self, stage: Stage) -> None:
        self.waiting.remove(stage)
        self.events.started(stage.name)
        start = time.perf_counter()
        try:
            result, cpu = timed_call(stage.job, dict(stage.args), self.prints[stage.name])
        except Exception as error:  # noqa: BLE001 - reported by name, then raised as StageFailed
            self._fail(stage, error)
        else:
            self._finish(stage, start, result, cpu)

    def _finish(self, stage: Stage, start: float, result: dict[str, Any], cpu: float) -> None:
        seconds = time.perf_counter() - start
        record = self.store.save(stage.name, self.prints[stage.name], seconds, result, cpu)
        self.done[stage.name] = record
        self.events.finished(record)

    def _fail(self, stage: Stage, error: BaseException) -> None:
        text = "".join(traceback.format_exception(error))
        error_file = self.store.save_error(stage.name, text)
        self.events.failed(stage.name, error)
        if self.failure is None:
            self.failure = StageFailed(stage.name, error, error_file)
