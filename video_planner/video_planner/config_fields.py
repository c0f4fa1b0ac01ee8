"""Config dataclasses from mappings (YAML sections, CLI overrides), validated once with one kind of message."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

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


def preset_or_yaml(name_or_path: str | None, config_type: type, tiny, section: str) -> tuple[Any, dict]:
    """(config, training overrides) for a small network's `--config`: 'default', 'tiny' (a copy of `tiny`),
    or a YAML file with optional `<section>:` (the config) and `training:` sections."""
    if name_or_path in (None, '', 'default'):
        return config_type(), {}
    if name_or_path == 'tiny':
        return config_type.from_dict(tiny.to_dict()), {}
    path = Path(name_or_path)
    if not path.is_file():
        raise ConfigError(f"{section} --config: expected 'default', 'tiny' or a YAML file, got {name_or_path!r}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f'{section} config {path}: not valid YAML ({exc})') from exc
    return config_type.from_dict(data.get(section) or {}, source=str(path)), dict(data.get('training') or {})
