"""The processes the Flower engine starts, and ending every one of them, by PID, whatever happens.

Each process starts in a session (and process group) of its own, so it can be ended without
touching this one. Flower's processes start others: the SuperLink and each SuperNode start a
SuperExec (the SuperLink's in a session of its own), which starts the ServerApp or a ClientApp per
message. `watch` notes every descendant and its process group from /proc; `end_all` notes them
once more, sends SIGTERM to every noted group and process, waits, then SIGKILLs what is left, so an
orphan whose parent died first (e.g. the ClientApp of a killed SuperNode) goes too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO


def process_table() -> dict[int, tuple[int, int, str]]:
    """{pid: (parent pid, process group, state letter)} of every process visible in /proc."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                text = handle.read().decode(errors="replace")
        except OSError:  # it ended meanwhile
            continue
        fields = text[text.rindex(")") + 2 :].split()  # after "pid (command) "
        table[int(entry.name)] = (int(fields[1]), int(fields[2]), fields[0])
    return table


class ProcessKeeper:
    def __init__(self) -> None:
        self.started: dict[str, subprocess.Popen] = {}
        self.pids: dict[int, int] = {}  # pid -> its process group when noted (a reused pid has another)
        self.groups: set[int] = set()
        self._logs: list[IO] = []
        self._lock = threading.RLock()  # a test may restart a SuperNode while the engine watches

    def start(self, label: str, argv: list[str], log: Path, env: Mapping[str, str]) -> subprocess.Popen:
        """Start `argv` in a new session, output to `log`; `label` names it (a restart replaces it)."""
        log.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            handle = log.open("ab")
            self._logs.append(handle)
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                env=dict(env),
                start_new_session=True,
            )
            self.started[label] = process
            self.pids[process.pid] = process.pid  # a session leader's group id is its pid
            self.groups.add(process.pid)
        return process

    def watch(self) -> None:
        """Note every live descendant of the started processes and its process group."""
        table = process_table()
        children: dict[int, list[int]] = {}
        for pid, (parent, _, _) in table.items():
            children.setdefault(parent, []).append(pid)
        with self._lock:
            stack = [p.pid for p in self.started.values()]
            while stack:
                pid = stack.pop()
                for child in children.get(pid, []):
                    if child not in self.pids:
                        self.pids[child] = table[child][1]
                        self.groups.add(table[child][1])
                    stack.append(child)

    def end_all(self, grace: float = 5.0) -> None:
        """SIGTERM, then after `grace` seconds SIGKILL, every noted process and process group."""
        with self._lock:
            self._end_all(grace)

    def _end_all(self, grace: float) -> None:
        self.watch()
        self._signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while self.leftovers() and time.monotonic() < deadline:
            self._reap()
            time.sleep(0.1)
        if self.leftovers():
            self._signal(signal.SIGKILL)
            time.sleep(0.2)
        for process in self.started.values():
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        for handle in self._logs:
            handle.close()
        self._logs.clear()

    def leftovers(self) -> list[int]:
        """Live (not zombie) processes that are noted, or in a noted process group."""
        self._reap()
        return [
            pid
            for pid, (_, group, state) in process_table().items()
            if state != "Z" and (self.pids.get(pid) == group or group in self.groups)
        ]

    def _signal(self, which: signal.Signals) -> None:
        table = process_table()
        live_groups = {group for _, group, state in table.values() if state != "Z"}
        for group in (self.groups & live_groups) - {os.getpgrp(), 0, 1}:
            _quietly(os.killpg, group, which)
        for pid, group in self.pids.items():
            if pid != os.getpid() and pid in table and table[pid][1] == group:
                _quietly(os.kill, pid, which)

    def _reap(self) -> None:
        for process in self.started.values():
            process.poll()


def _quietly(kill, target: int, which: signal.Signals) -> None:
    try:
        kill(target, which)
    except (ProcessLookupError, PermissionError):
        pass


def alive(pids: Iterable[int]) -> list[int]:
    table = process_table()
    return [pid for pid in pids if pid in table and table[pid][2] != "Z"]
