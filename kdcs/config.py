"""Typed configuration: dataclass defaults, YAML overrides, dotted command-line overrides.

YAML files hold only overrides; `key.sub=value` overrides from the command line are parsed
as YAML scalars and type-checked; an unknown key is an error naming the key.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration key or value that does not fit the typed defaults."""


def to_dict(obj: Any) -> Any:
    """A dataclass tree as plain dicts/lists (JSON- and YAML-safe)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple | list):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _coerce(value: Any, hint: Any, key: str) -> Any:
    """Check and convert one value against its type hint; raise ConfigError naming the key."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(value, option, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(f"config key '{key}': {value!r} fits none of {hint}")
    if dataclasses.is_dataclass(hint):
        if isinstance(value, hint):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"config key '{key}' must be a mapping, got {value!r}")
        return from_dict(hint, value, prefix=key)
    if origin is tuple or origin is list:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"config key '{key}' must be a list, got {value!r}")
        args = typing.get_args(hint)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(f"config key '{key}' needs {len(args)} items, got {len(value)}")
            items = [_coerce(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=True))]
        else:
            item_hint = args[0] if args else Any
            items = [_coerce(v, item_hint, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"config key '{key}' must be a mapping, got {value!r}")
        return dict(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"config key '{key}' must be true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"config key '{key}' must be an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, str):
            value = _yaml_float(value)  # YAML 1.1 reads "3e-3" (no dot) as a string
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"config key '{key}' must be a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"config key '{key}' must be a string, got {value!r}")
        return value
    if hint is Path:
        if not isinstance(value, str | Path):
            raise ConfigError(f"config key '{key}' must be a path, got {value!r}")
        return Path(value)
    if typing.get_origin(hint) is typing.Literal:
        if value not in typing.get_args(hint):
            raise ConfigError(f"config key '{key}' must be one of {typing.get_args(hint)}, got {value!r}")
        return value
    return value


def _yaml_float(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def from_dict(cls: type[T], data: dict[str, Any], prefix: str = "") -> T:
    """Build dataclass `cls` (every field has a default) overridden by `data`; unknown keys raise."""
    return merge(cls(), data, prefix=prefix)


def merge(obj: T, overrides: dict[str, Any], prefix: str = "") -> T:
    """A copy of dataclass `obj` with nested `overrides` applied (type-checked)."""
    hints = typing.get_type_hints(type(obj))
    names = {f.name for f in dataclasses.fields(obj) if f.init}
    changes = {}
    for key, value in overrides.items():
        full = f"{prefix}.{key}" if prefix else key
        if key not in names:
            raise ConfigError(f"unknown config key '{full}' (known: {', '.join(sorted(names))})")
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current) and isinstance(value, dict):
            changes[key] = merge(current, value, prefix=full)
        elif isinstance(current, dict) and isinstance(value, dict):
            # free-form mappings (e.g. a KD recipe) merge key by key; their owner validates them
            changes[key] = _merge_mappings(current, value)
        else:
            changes[key] = _coerce(value, hints[key], full)
    try:
        return dataclasses.replace(obj, **changes)
    except ConfigError:
        raise
    except (ValueError, TypeError) as error:  # a config class's own check (__post_init__)
        culprit = next((key for key in changes if _refused(obj, key, changes[key])), None)
        where = ".".join(part for part in (prefix, culprit) if part)
        raise ConfigError(f"config key '{where}': {error}") from None


def _refused(obj: Any, key: str, value: Any) -> bool:
    """Whether the dataclass `obj` refuses `value` for `key` on its own (which key a check is about)."""
    try:
        dataclasses.replace(obj, **{key: value})
    except (ValueError, TypeError):
        return True
    return False


def _merge_mappings(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(out.get(key), dict) and isinstance(value, dict):
            out[key] = _merge_mappings(out[key], value)
        else:
            out[key] = value
    return out


def parse_dotted(overrides: list[str]) -> dict[str, Any]:
    """["a.b=3", "c=[1,2]"] -> {"a": {"b": 3}, "c": [1, 2]}; values are parsed as YAML scalars."""
    tree: dict[str, Any] = {}
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override '{item}' must look like key.sub=value")
        key, raw = item.split("=", 1)
        parts = key.strip().split(".")
        if not all(parts):
            raise ConfigError(f"override '{item}' has an empty key part")
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override '{item}' sets inside a key that already has a value")
        node[parts[-1]] = yaml.safe_load(raw) if raw.strip() else ""
    return tree


def read_yaml_file(path: Path) -> dict[str, Any]:
    """The mapping a YAML config file holds; ConfigError naming the file when it is missing, is not
    valid YAML (with the line) or does not hold a mapping."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "unreadable"
        raise ConfigError(f"config file {path} is not valid YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    return data


def merge_file(config: T, data: dict[str, Any], path: Path) -> T:
    """`merge` of a YAML file's mapping; an error names the file as well as the key."""
    try:
        return merge(config, data)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


def load_config(defaults: T, yaml_path: Path | None = None, overrides: list[str] | None = None) -> T:
    """Typed defaults, then a YAML file of overrides, then dotted overrides."""
    config = defaults
    if yaml_path is not None:
        config = merge_file(config, read_yaml_file(yaml_path), yaml_path)
    if overrides:
        config = merge(config, parse_dotted(overrides))
    return config
