"""What a user causes: an error is one red line and exit code 2, not a traceback; a deprecated
spelling is one yellow line on stderr, each time it is used."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.markup import escape

from kdcs.cli.output import err_console
from kdcs.deprecation import KdcsDeprecationWarning


@contextmanager
def user_errors() -> Iterator[None]:
    # imported here, as the jobs are: these modules load torch and onnx (see kdcs.cli)
    from kdcs.collab.flower.errors import FlowerRunError
    from kdcs.config import ConfigError
    from kdcs.data.errors import DataError
    from kdcs.deploy.source import DeployError
    from kdcs.models.weights import CheckpointError
    from kdcs.storage import StorageError, is_write_failure, os_error_sentence

    with warnings.catch_warnings():
        warnings.simplefilter("always", KdcsDeprecationWarning)
        warnings.showwarning = _show_deprecations(warnings.showwarning)
        try:
            yield
        except (
            ConfigError, DataError, CheckpointError, DeployError, StorageError, FlowerRunError, FileExistsError,
            FileNotFoundError,
        ) as exc:  # fmt: skip
            _refuse(str(exc))
        except OSError as exc:  # a full disk or a folder the user may not write: theirs to fix, not a bug
            if not is_write_failure(exc):
                raise
            _refuse(os_error_sentence(exc))


def _refuse(sentence: str) -> None:
    err_console.print("[bold red]error:[/bold red] " + escape(sentence))
    raise typer.Exit(code=2) from None


def _show_deprecations(show_other):
    def show(message, category, filename, lineno, file=None, line=None) -> None:
        if issubclass(category, KdcsDeprecationWarning):
            err_console.print(f"[yellow]deprecated:[/yellow] {escape(str(message))}")
        else:
            show_other(message, category, filename, lineno, file, line)

    return show
