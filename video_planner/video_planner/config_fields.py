"""Config dataclasses from mappings (YAML sections, CLI overrides), validated once with one kind of message."""
from __future__ import annotations

import dataclasses
from typing import Any

from video_planner.errors import ConfigError


def dataclass_from_dict(cls: type, values: Any, source: str, what: str | None = None):
    """`cls(**values)`, after checking `values` is a mapping of `cls`'s fields; errors name `source`."""
    known = sorted(f.name for f in dataclasses.fields(cls))
    if not isinstance(values, dict):
        raise ConfigError(f'{source}: expected a mapping of {cls.__name__} fields, got {type(values).__name__}')
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f'{source}: unknown {what or cls.__name__ + " field(s)"} {unknown}; known: {known}')
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f'{source}: {exc}') from exc
