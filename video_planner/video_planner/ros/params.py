"""Node parameters as dataclasses: declared with descriptors, validated once, guarded on change.

A node's configuration is a plain dataclass whose fields carry their ROS description via
:func:`param`::

    @dataclass
    class ReplayConfig:
        bag_path: str = param('', 'rosbag2 file or folder holding the plan', read_only=True)
        rate_scale: float = param(1.0, 'playback speed multiplier', low=0.01, high=100.0)

        def validate(self):          # optional cross-field checks, raise ConfigError
            ...

:class:`NodeParameters` declares every field on a node (type from the annotation, description and
ranges in the ParameterDescriptor), reads the values into the dataclass, validates it and rejects
later ``ros2 param set`` calls that would make it invalid. The same dataclass loads from the
node's YAML file (``node_name: ros__parameters: ...``) with :func:`load_yaml_config`, without rclpy;
only the node-side half of this module touches rclpy, and imports it lazily.
"""
from __future__ import annotations

import dataclasses
import math
import typing
from pathlib import Path
from typing import Any, Callable, Generic, TypeVar

import yaml

from video_planner.errors import ConfigError, VideoPlannerError

C = TypeVar('C')
_META_KEY = 'ros_param'


@dataclasses.dataclass(frozen=True)
class ParamInfo:
    description: str
    low: float | None = None
    high: float | None = None
    read_only: bool = False
    choices: tuple[str, ...] | None = None


def param(default: Any, description: str, *, low: float | None = None, high: float | None = None,
          read_only: bool = False, choices: tuple[str, ...] | None = None) -> Any:
    """A dataclass field that is also a ROS parameter (``low``/``high`` inclusive)."""
    meta = {_META_KEY: ParamInfo(description, low, high, read_only, tuple(choices) if choices else None)}
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: list(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


# ------------------------------------------------------------------------------ typing + validation

def _field_types(config_cls) -> dict[str, Any]:
    hints = typing.get_type_hints(config_cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(config_cls)}


def _base_type(annotation) -> tuple[type, bool]:
    """(element type, is_list) for bool/int/float/str and list[...] of them."""
    origin = typing.get_origin(annotation)
    if origin in (list, tuple):
        (elem, *_) = typing.get_args(annotation) or (float,)
        return elem, True
    return annotation, False


def _info(field: dataclasses.Field) -> ParamInfo:
    return field.metadata.get(_META_KEY) or ParamInfo('')


def coerce_value(name: str, annotation, value: Any) -> Any:
    """Turn a YAML/ROS value into the field's type; ConfigError naming the parameter otherwise."""
    elem, is_list = _base_type(annotation)

    def one(v):
        if elem is bool:
            if isinstance(v, bool):
                return v
        elif elem is int:
            if isinstance(v, int) and not isinstance(v, bool):
                return v
        elif elem is float:
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return float(v)
        elif elem is str:
            if isinstance(v, str):
                return v
        raise ConfigError(f"parameter '{name}': expected {elem.__name__}"
                          f"{' list' if is_list else ''}, got {v!r} ({type(v).__name__})")

    if is_list:
        if isinstance(value, (str, bytes)) or not hasattr(value, '__iter__'):
            raise ConfigError(f"parameter '{name}': expected a list of {elem.__name__}, got {value!r}")
        return [one(v) for v in value]
    return one(value)


def check_field(name: str, info: ParamInfo, value: Any) -> str | None:
    """The reason ``value`` is invalid for this parameter, or None."""
    values = value if isinstance(value, list) else [value]
    for v in values:
        if isinstance(v, float) and not math.isfinite(v):
            return f"parameter '{name}' must be finite, got {v}"
        if info.low is not None and isinstance(v, (int, float)) and v < info.low:
            return f"parameter '{name}' must be >= {info.low}, got {v}"
        if info.high is not None and isinstance(v, (int, float)) and v > info.high:
            return f"parameter '{name}' must be <= {info.high}, got {v}"
        if info.choices is not None and v not in info.choices:
            return f"parameter '{name}' must be one of {', '.join(info.choices)}; got {v!r}"
    return None


def validate_config(config) -> None:
    """Field ranges/choices, then the dataclass's own ``validate()`` if it has one."""
    for f in dataclasses.fields(config):
        reason = check_field(f.name, _info(f), getattr(config, f.name))
        if reason:
            raise ConfigError(reason)
    validate = getattr(config, 'validate', None)
    if callable(validate):
        validate()


def config_from_dict(config_cls: type[C], values: dict[str, Any]) -> C:
    """Build + validate a config from a flat name->value dict; unknown names are an error."""
    types = _field_types(config_cls)
    unknown = sorted(set(values) - set(types))
    if unknown:
        raise ConfigError(f"unknown parameter(s) {', '.join(unknown)} for {config_cls.__name__}; "
                          f"known: {', '.join(types)}")
    kwargs = {k: coerce_value(k, types[k], v) for k, v in values.items()}
    config = config_cls(**kwargs)
    validate_config(config)
    return config


def _flatten(prefix: str, tree: dict) -> dict[str, Any]:
    """Nested YAML maps -> ROS dotted names (which match no dataclass field: flat parameters only)."""
    flat = {}
    for key, value in tree.items():
        name = f'{prefix}.{key}' if prefix else str(key)
        if isinstance(value, dict):
            flat.update(_flatten(name, value))
        else:
            flat[name] = value
    return flat


def load_yaml_config(path: str | Path, config_cls: type[C], node_name: str | None = None) -> C:
    """Load ``node_name: ros__parameters: {...}`` from a ROS parameter YAML file into ``config_cls``.

    With ``node_name`` None the file must hold exactly one node section (or a ``/**`` section).
    """
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f'parameter file {path} does not exist') from None
    except yaml.YAMLError as exc:
        raise ConfigError(f'parameter file {path} is not valid YAML: {exc}') from None
    if not isinstance(doc, dict) or not doc:
        raise ConfigError(f'parameter file {path}: expected "<node_name>: ros__parameters: ..." at the top')
    if node_name is None:
        keys = list(doc)
        if len(keys) != 1:
            raise ConfigError(f'parameter file {path} holds sections {keys}; say which node to load')
        node_name = keys[0]
    section = doc.get(node_name, doc.get('/' + node_name.lstrip('/'), doc.get('/**')))
    if not isinstance(section, dict) or 'ros__parameters' not in section:
        raise ConfigError(f"parameter file {path}: no '{node_name}: ros__parameters:' section "
                          f'(sections: {list(doc)})')
    try:
        return config_from_dict(config_cls, _flatten('', section['ros__parameters'] or {}))
    except ConfigError as exc:
        raise ConfigError(f'{path}: {exc}') from None


# ------------------------------------------------------------------------------ rclpy side

def _descriptor(name: str, annotation, info: ParamInfo):
    from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor

    elem, _ = _base_type(annotation)
    text = info.description + (f" (one of: {', '.join(info.choices)})" if info.choices else '')
    desc = ParameterDescriptor(name=name, description=text, read_only=info.read_only)
    if info.low is not None or info.high is not None:
        low = -math.inf if info.low is None else info.low
        high = math.inf if info.high is None else info.high
        if elem is float:
            desc.floating_point_range = [FloatingPointRange(from_value=float(low), to_value=float(high), step=0.0)]
        elif elem is int:
            big = 2 ** 62
            desc.integer_range = [IntegerRange(from_value=int(max(low, -big)), to_value=int(min(high, big)), step=1)]
    return desc


def _ros_type(annotation):
    from rclpy.parameter import Parameter

    elem, is_list = _base_type(annotation)
    scalar = {bool: Parameter.Type.BOOL, int: Parameter.Type.INTEGER, float: Parameter.Type.DOUBLE,
              str: Parameter.Type.STRING}
    array = {bool: Parameter.Type.BOOL_ARRAY, int: Parameter.Type.INTEGER_ARRAY,
             float: Parameter.Type.DOUBLE_ARRAY, str: Parameter.Type.STRING_ARRAY}
    return (array if is_list else scalar)[elem]


class NodeParameters(Generic[C]):
    """Declares ``config_cls``'s fields on ``node``, holds the validated config in ``.config`` and
    keeps it valid: a ``ros2 param set`` that fails the checks is rejected with the reason, one that
    passes calls ``on_change(new_config)`` (a VideoPlannerError from it rejects the change too) and
    then replaces ``.config``."""

    def __init__(self, node, config_cls: type[C], on_change: Callable[[C], None] | None = None):
        from rclpy.exceptions import InvalidParameterValueException

        self._node = node
        self._cls = config_cls
        self._types = _field_types(config_cls)
        self._infos = {f.name: _info(f) for f in dataclasses.fields(config_cls)}
        self._on_change = on_change
        defaults = config_cls()
        values = {}
        for name, annotation in self._types.items():
            default = getattr(defaults, name)
            initial = default if not (isinstance(default, list) and not default) else _ros_type(annotation)
            try:
                p = node.declare_parameter(name, initial, _descriptor(name, annotation, self._infos[name]))
            except InvalidParameterValueException as exc:
                raise ConfigError(f"node '{node.get_name()}': parameter '{name}': {exc}") from None
            values[name] = default if p.value is None else p.value
        try:
            self.config: C = config_from_dict(config_cls, values)
        except ConfigError as exc:
            raise ConfigError(f"node '{node.get_name()}': {exc}") from None
        node.add_on_set_parameters_callback(self._on_set)

    def _on_set(self, params):
        from rcl_interfaces.msg import SetParametersResult

        values = dataclasses.asdict(self.config)
        for p in params:
            if p.name not in self._types:
                continue
            if self._infos[p.name].read_only:
                return SetParametersResult(successful=False,
                                           reason=f"parameter '{p.name}' is read-only; restart the node to change it")
            values[p.name] = p.value
        try:
            candidate = config_from_dict(self._cls, values)
        except ConfigError as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        if self._on_change is not None:
            try:
                self._on_change(candidate)
            except VideoPlannerError as exc:  # the node could not act on it: refuse, keep the old config
                return SetParametersResult(successful=False, reason=str(exc))
        self.config = candidate
        return SetParametersResult(successful=True)
