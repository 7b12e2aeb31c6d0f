# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Launch arguments -> parameter overrides, so that a user's params file always wins.

A launch argument left empty means "whatever the params file says"; only arguments the user
gave become parameters, and they are passed after the params file (launch applies later entries
over earlier ones). Pure Python: the launch files import it, the tests check it without
launch_ros (which has no wheel).
"""

from typing import Dict, Mapping

BOOL_WORDS = {'true': True, 'false': False, '1': True, '0': False, 'yes': True, 'no': False}


def given_overrides(values: Mapping[str, str], parameters: Mapping[str, str],
                    bools=()) -> Dict[str, object]:
    """
    Return {parameter: value} for the launch arguments that were given (non-empty).

    ``values`` maps argument names to their performed strings, ``parameters`` argument names to
    parameter names; arguments in ``bools`` become booleans ('true' / 'false').
    """
    out = {}
    for arg, param in parameters.items():
        text = str(values.get(arg, '') or '').strip()
        if not text:
            continue
        if arg in bools:
            if text.lower() not in BOOL_WORDS:
                raise ValueError(f'launch argument {arg}:={text!r} must be true or false')
            out[param] = BOOL_WORDS[text.lower()]
        else:
            out[param] = text
    return out


def sim_image_topic(camera: str, default_camera: str = 'front') -> str:
    """Return sim_arm_node's image topic of ``camera`` (the default camera: camera/image_raw)."""
    return 'camera/image_raw' if camera == default_camera else f'camera_{camera}/image_raw'


def model_sim_views(checkpoint: str, default_camera: str = 'front'):
    """
    Return the cameras a multi-view model needs from sim_arm_node, default camera first.

    ``()`` for a one-view model or one without stored camera names. Raises ValueError when the
    model's first view is not the sim's default camera (its topic would be misnamed).
    """
    from types import SimpleNamespace

    from jepa_ros.control.loading import model_cameras
    names = model_cameras(SimpleNamespace(world_model='', checkpoint=checkpoint or 'default'))
    if len(names) <= 1:
        return ()
    if names[0] != default_camera:
        raise ValueError(f'the first view of model {checkpoint or "default"!r} is camera '
                         f'{names[0]!r}, but sim_arm_node publishes {default_camera!r} on '
                         f'camera/image_raw; train the model with {default_camera!r} first')
    return tuple(names)


def sim_view_overrides(values: Mapping[str, str]) -> Dict[str, Dict[str, str]]:
    """
    Return {'sim': {...}, 'planner': {...}} camera overrides for sim_demo.launch.py.

    When neither ``extra_cameras`` nor ``image_topics`` was given, a multi-view model (the
    ``checkpoint`` argument, or the shipped default) gets the sim's extra cameras and the
    planner's image topics of its camera names; otherwise nothing is derived.
    """
    if str(values.get('extra_cameras') or '').strip() or \
            str(values.get('image_topics') or '').strip():
        return {'sim': {}, 'planner': {}}
    checkpoint = str(values.get('checkpoint') or '').strip()
    if checkpoint.endswith('.pt'):
        return {'sim': {}, 'planner': {}}
    cams = model_sim_views(checkpoint)
    if not cams:
        return {'sim': {}, 'planner': {}}
    return {'sim': {'extra_cameras': ' '.join(cams[1:])},
            'planner': {'image_topics': ' '.join(sim_image_topic(c) for c in cams)}}
