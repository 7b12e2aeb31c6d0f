# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
One dataclass per concern, usable from the CLI, ROS parameters and YAML alike.

Configs are flat dataclasses whose fields are bool, int, float, str, Optional[...] of those, or
tuples/lists of numbers. These helpers turn them into argparse options, read them back, and build
them from plain dicts (YAML, ROS parameters) with errors that name the bad key and the expected
type.
"""

import argparse
import dataclasses
import math
import typing
from typing import Any, Dict, Mapping, Optional, Type, TypeVar

from jepa_ros.utils.errors import UserError
import yaml

T = TypeVar('T')


class ConfigError(UserError, ValueError):
    """A configuration value or key is wrong; the message says what to fix."""


def field_kind(tp):
    """Return (base type, is_sequence, optional) for a supported field annotation."""
    optional = False
    origin = typing.get_origin(tp)
    if origin is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f'unsupported config annotation {tp!r}')
        optional, tp, origin = True, args[0], typing.get_origin(args[0])
    if origin in (tuple, list):
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        return (args[0] if args else float), True, optional
    return tp, False, optional


def _coerce(value, base, name, cls_name):
    if base is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ('true', 'false', '1', '0', 'yes', 'no'):
            return value.lower() in ('true', '1', 'yes')
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
    elif base is int:
        if isinstance(value, bool):
            pass
        elif isinstance(value, int):
            return value
        elif isinstance(value, float) and value.is_integer():
            return int(value)
        elif isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
    elif base is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif base is str:
        if isinstance(value, str):
            return value
    else:
        return value
    raise ConfigError(f'{cls_name}.{name}: expected {base.__name__}, got {value!r}')


def coerce_field(cls, name, value):
    """Convert ``value`` to the type of field ``name`` of ``cls``, or raise ConfigError."""
    hints = typing.get_type_hints(cls)
    if name not in hints:
        known = ', '.join(f.name for f in dataclasses.fields(cls))
        raise ConfigError(f'unknown key {name!r} for {cls.__name__}; known keys: {known}')
    base, is_seq, optional = field_kind(hints[name])
    if value is None or (optional and value == ''):
        if optional:
            return None
        raise ConfigError(f'{cls.__name__}.{name}: a value is required')
    if is_seq:
        if isinstance(value, str):
            value = [v for v in value.replace(',', ' ').split() if v]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f'{cls.__name__}.{name}: expected a list, got {value!r}')
        return tuple(_coerce(v, base, name, cls.__name__) for v in value)
    return _coerce(value, base, name, cls.__name__)


def from_dict(cls: Type[T], values: Optional[Mapping[str, Any]] = None, **overrides) -> T:
    """Build ``cls`` from a mapping (YAML, ROS parameters); reject unknown keys and bad types."""
    merged = dict(values or {})
    merged.update(overrides)
    kwargs = {k: coerce_field(cls, k, v) for k, v in merged.items()}
    try:
        obj = cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f'{cls.__name__}: {exc}') from exc
    validate = getattr(obj, 'validate', None)
    if callable(validate):
        validate()
    return obj


def to_dict(obj) -> Dict[str, Any]:
    """Return a config as a plain dict (tuples become lists, so it serialises to YAML/JSON)."""
    out = {}
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        out[f.name] = list(v) if isinstance(v, tuple) else v
    return out


def add_arguments(parser: argparse.ArgumentParser, cls, prefix: str = '', skip=(), defaults=None):
    """
    Add one ``--option`` per field of ``cls`` (defaults are left to the dataclass).

    ``defaults`` overrides the default shown in the help where the caller builds its config on
    other base values (see ``from_args(base=...)``).
    """
    hints = typing.get_type_hints(cls)
    group = parser.add_argument_group(f'{cls.__name__} options')
    for f in dataclasses.fields(cls):
        if f.name in skip or f.name.startswith('_'):
            continue
        base, is_seq, _ = field_kind(hints[f.name])
        flag = '--' + (prefix + f.name).replace('_', '-')
        default = f.default if f.default is not dataclasses.MISSING else None
        if default is None and f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        if defaults and f.name in defaults:
            default = defaults[f.name]
        help_text = f'(default: {default})'
        dest = '_cfg_' + prefix + f.name
        metavar = f.name.upper()
        if base is bool and not is_seq:
            group.add_argument(flag, dest=dest, default=None,
                               action=argparse.BooleanOptionalAction, help=help_text)
        elif is_seq:
            group.add_argument(flag, dest=dest, default=None, nargs='+', metavar=metavar,
                               help=help_text)
        else:
            group.add_argument(flag, dest=dest, default=None, metavar=metavar, help=help_text)
    return parser


def from_args(cls: Type[T], args: argparse.Namespace, prefix: str = '', base=None, **extra) -> T:
    """Build ``cls`` from parsed options (only those given override ``base`` or the defaults)."""
    values = to_dict(base) if base is not None else {}
    for f in dataclasses.fields(cls):
        v = getattr(args, '_cfg_' + prefix + f.name, None)
        if v is not None:
            values[f.name] = v
    values.update(extra)
    return from_dict(cls, values)


def load_yaml(path, cls: Type[T], node_name: Optional[str] = None) -> T:
    """
    Load ``cls`` from a YAML file.

    Accepts a plain mapping or the ROS layout ``node_name: {ros__parameters: {...}}``.
    """
    with open(path) as fh:
        try:
            data = yaml.safe_load(fh) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, 'problem_mark', None)
            where = f' (line {mark.line + 1}, column {mark.column + 1})' if mark else ''
            raise ConfigError(f'{path} is not valid YAML{where}: '
                              f'{getattr(exc, "problem", None) or exc}') from None
    if not isinstance(data, dict):
        raise ConfigError(f'{path}: expected a mapping at the top level')
    if node_name is not None and node_name in data:
        data = data[node_name]
    if isinstance(data, dict) and 'ros__parameters' in data:
        data = data['ros__parameters']
    # use_sim_time belongs to every ROS node, not to our configs; other unknown keys are errors.
    return from_dict(cls, {k: v for k, v in data.items() if k != 'use_sim_time'})


def require_finite(name, *values):
    """Raise ConfigError unless every value is a finite number."""
    for v in values:
        if not math.isfinite(float(v)):
            raise ConfigError(f'{name} must be finite, got {v!r}')
