"""Spellings kept for one release after a rename: they still work and say, on stderr, what replaced them.

Library code calls `deprecated(old, new)`; it is a `KdcsDeprecationWarning` (a FutureWarning, so
Python shows it by default, in scripts and notebooks too). The `kdcs` command prints it as one line.
"""

from __future__ import annotations

import warnings


class KdcsDeprecationWarning(FutureWarning):
    """A spelling kdcs still accepts this release (a command-line option, a config key, a registry key)."""


def deprecation_message(old: str, new: str) -> str:
    return f"{old} is deprecated and will be removed in the next release; use {new}"


def deprecated(old: str, new: str) -> None:
    """Warn that `old` (what the user wrote) is deprecated in favour of `new`."""
    warnings.warn(deprecation_message(old, new), KdcsDeprecationWarning, stacklevel=3)
