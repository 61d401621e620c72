"""Printing helpers shared by the subcommands: JSON for machines, rich tables for people."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console(stderr=False, soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def print_json(data: Any) -> None:
    """The whole report on stdout, nothing else, so `--json | jq` works."""
    sys.stdout.write(json.dumps(data, indent=2, default=_jsonable) + "\n")


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    """A rich table; floats are shown with 3 decimals."""
    out = Table(title=title, title_justify="left")
    for column in columns:
        out.add_column(column, justify="right" if column != columns[0] else "left")
    for row in rows:
        out.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row])
    return out
