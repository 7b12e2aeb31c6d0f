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
