"""Turn the errors a user can cause into one red line and exit code 2, not a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.markup import escape

from kdcs.cli.output import err_console


@contextmanager
def user_errors() -> Iterator[None]:
    from kdcs.config import ConfigError
    from kdcs.data.errors import DataError
    from kdcs.deploy.source import DeployError
    from kdcs.models.weights import CheckpointError
    from kdcs.storage import StorageError

    try:
        yield
    except (
        ConfigError, DataError, CheckpointError, DeployError, StorageError, FileExistsError, FileNotFoundError
    ) as exc:  # fmt: skip
        err_console.print("[bold red]error:[/bold red] " + escape(str(exc)))
        raise typer.Exit(code=2) from None
