"""The one vocabulary every command shares, and the old spellings kept for one release.

Inputs are `--scenario` (and `--model` for a trained model), outputs `--out`, overrides `--set key=value`
with keys rooted where the command's `--config` file is rooted, split fractions `--split-fractions`
and split names `--split`, cache-building processes `--cache-workers` (a config's `workers` is
training or node processes), a tiny first look `--quick`. An old spelling still works and says, on
stderr, what replaced it (`kdcs.deprecation`).
"""

from __future__ import annotations

from typing import Any, TypeVar

from kdcs.config import ConfigError
from kdcs.deprecation import deprecated

T = TypeVar("T")

SCENARIO_HELP = "Scenario folder (DeepSense layout) or a multi-AP root of them"
CACHE_WORKERS_HELP = "Processes that build the data cache (default: all cores)."
OLD = "Deprecated spelling, kept for one release."


def given(value: Any) -> bool:
    return value is not None and value is not False and value != [] and value != ()


def renamed(new_value: T, new: str, old_value: T, old: str, *, required: bool = False) -> T:
    """The value given under the option's name `new`, or under its old spelling `old` (deprecated).

    Both at once, or neither when `required`, is an error naming the option.
    """
    if given(old_value):
        if given(new_value):
            raise ConfigError(f"give {new} only: {old} is its old spelling")
        deprecated(old, new)
        return old_value
    if required and not given(new_value):
        raise ConfigError(f"missing option {new}")
    return new_value


def data_overrides(scenario: Any, ap: str | None, root: str = "data") -> list[str]:
    """`--scenario` and `--ap` as overrides of the command's config (`data.scenario`, `data.ap`)."""
    extra = [f"{root}.scenario={scenario}"] if scenario is not None else []
    return extra + ([f"{root}.ap={ap}"] if ap is not None else [])
