"""What the user sees while an experiment runs: one line per stage event, with the elapsed time,
and a progress bar over all stages when the output is a terminal."""

from __future__ import annotations

import time

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kdcs.experiments.stages.store import StageRecord


class ConsoleProgress:
    """StageEvents that print to a rich console; use as a context manager around the run."""

    def __init__(
        self, console: Console, total: int, title: str = "stages", start: float | None = None
    ) -> None:
        """start: perf_counter() of the command's start, so printed times count from there."""
        self.console, self.total = console, total
        self.start = time.perf_counter() if start is None else start
        self.count = 0
        self.reused_names: set[str] = set()
        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        )
        self.task = self.bar.add_task(title, total=total)

    def __enter__(self) -> ConsoleProgress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def line(self, text: str) -> None:
        elapsed = time.perf_counter() - self.start
        self.bar.console.print(f"[dim]{elapsed:6.0f} s[/dim]  {text}")

    def _advance(self) -> None:
        self.count += 1
        self.bar.advance(self.task)

    def reused(self, record: StageRecord) -> None:
        self.reused_names.add(record.name)
        self._advance()
        self.line(f"[cyan]reused[/cyan]   {self._label(record.name)} {self._summary(record)}")

    def started(self, name: str) -> None:
        self.line(f"[yellow]started[/yellow]  {self._label(name)}")

    def finished(self, record: StageRecord) -> None:
        self._advance()
        self.line(
            f"[green]done[/green]     {self._label(record.name)} in {record.seconds:.0f} s {self._summary(record)}"
        )

    def failed(self, name: str, error: BaseException) -> None:
        self._advance()
        self.line(
            f"[bold red]failed[/bold red]   {escape(name)}: {escape(type(error).__name__)}: {escape(str(error))}"
        )

    def _label(self, name: str) -> str:
        return f"[bold]{escape(name)}[/bold] [dim]({self.count}/{self.total})[/dim]"

    @staticmethod
    def _summary(record: StageRecord) -> str:
        summary = record.result.get("summary")
        return f"- {escape(summary)}" if summary else ""
