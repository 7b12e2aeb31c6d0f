# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Declare ROS parameters from config dataclasses and read them back as a validated config.

Every field becomes a parameter with the dataclass default (Optional fields: '' means None).
Values go through :func:`jepa_ros.utils.config.from_dict`, so a bad parameter stops the node at
start-up with a message that names it.
"""

import array
import dataclasses
import typing

from jepa_ros.utils.config import field_kind, from_dict, to_dict
from rcl_interfaces.msg import ParameterDescriptor
import yaml


def _ros_default(cls, f):
    """Return (ROS default value, is a list) for field ``f`` of ``cls``."""
    hints = typing.get_type_hints(cls)
    base, is_seq, _ = field_kind(hints[f.name])
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
    else:
        raise TypeError(f'{cls.__name__}.{f.name} needs a default to become a ROS parameter')
    if is_seq:
        return [base(v) for v in value], True
    return ('' if value is None else value), False


def declare_config(node, cls, prefix='', dynamic=(), defaults=None):
    """
    Declare one parameter per field of ``cls`` and return the config built from their values.

    Parameters are dynamically typed (an int given for a float field is accepted); type and
    range checks are left to ``from_dict`` / ``cls.validate``, which raise ConfigError. Fields
    not named in ``dynamic`` are read-only: ``ros2 param set`` is refused instead of being
    accepted and silently ignored. ``defaults`` replaces some fields' defaults (e.g. a device
    profile); what the user gives still wins.
    """
    values = {}
    for f in dataclasses.fields(cls):
        if f.name.startswith('_'):
            continue
        default, is_list = _ros_default(cls, f)
        if defaults and f.name in defaults:
            default = defaults[f.name]
            if is_list:
                default = list(default)
        desc = ParameterDescriptor(description=f'{cls.__name__}.{f.name}', dynamic_typing=True,
                                   read_only=f.name not in dynamic)
        name = prefix + f.name
        if is_list and not default:
            # An empty list has no ROS type of its own; an empty string means "no entries".
            default = ''
        param = node.declare_parameter(name, default, desc)
        value = param.value
        if is_list and isinstance(value, str):
            value = [v for v in value.replace(',', ' ').split() if v]
        values[f.name] = list(value) if isinstance(value, (list, tuple, array.array)) else value
    return from_dict(cls, values)


def ros_params_yaml(node_name, *configs):
    """Return the ``node_name: ros__parameters:`` YAML text of config instances (defaults)."""
    params = {}
    for cfg in configs:
        for key, value in to_dict(cfg).items():
            # None and empty lists have no ROS type: '' (declare_config reads it back as such)
            params[key] = '' if value is None or (isinstance(value, list) and not value) \
                else value
    return yaml.safe_dump({node_name: {'ros__parameters': params}}, sort_keys=False,
                          default_flow_style=None, width=99)


# Declared by rclpy itself on every node (or by the middleware), never ours to refuse.
_ROS_OWN = ('use_sim_time', 'start_type_description_service', 'start_parameter_services')


def user_set_parameters(node):
    """Return the names the user gave this node (params files, ``-p``, launch ``parameters``)."""
    return set(getattr(node, '_parameter_overrides', {}) or {})


def refuse_unknown_parameters(node):
    """
    Raise ConfigError for a parameter the user gave that the node never declared.

    rclpy ignores such overrides, so a typo in a params file would silently run on defaults;
    the message names the closest declared parameter.
    """
    import difflib
    from jepa_ros.utils.config import ConfigError
    declared = set(node._parameters)
    unknown = sorted(n for n in user_set_parameters(node)
                     if n not in declared and n not in _ROS_OWN
                     and not n.startswith('qos_overrides.'))
    if not unknown:
        return
    lines = []
    for name in unknown:
        close = difflib.get_close_matches(name, sorted(declared), n=1, cutoff=0.6)
        lines.append(f'{name!r}' + (f' (did you mean {close[0]!r}?)' if close else ''))
    raise ConfigError(f'unknown parameter{"s" if len(lines) > 1 else ""} {", ".join(lines)} '
                      f'for {node.get_name()}; `ros2 param list` on a running node, or '
                      f'docs/ros_interface.md, lists the valid names')
