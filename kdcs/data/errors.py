"""The one exception type for bad input in the data layer.

A user who meets a `DataError` should be able to open the file and go straight to the problem,
so every message is one sentence naming the file, the CSV line and the column.
"""

from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """Bad input data (missing file, corrupt cell, missing column, ...); the message says where."""


def cell_location(csv_path: Path | str, csv_row: int | None, column: str | None) -> str:
    """Where a problem is, e.g. "<csv> line 7 (header is line 1), column 'unit1_rgb'".

    Parts that are None are left out.

    Parameters:
        csv_path: the scenario CSV.
        csv_row: 1-based line number in the CSV (header = line 1), or None for the whole file.
        column: the column name, or None.
    """
    where = str(csv_path)
    if csv_row is not None:
        where += f" line {csv_row} (header is line 1)"
    if column is not None:
        where += f", column {column!r}"
    return where


def cell_error(csv_path: Path | str, csv_row: int | None, column: str | None, reason: str) -> DataError:
    """A DataError whose message is "<where>: <reason>." (reason without its final full stop)."""
    return DataError(f"{cell_location(csv_path, csv_row, column)}: {reason.rstrip('.')}.")
