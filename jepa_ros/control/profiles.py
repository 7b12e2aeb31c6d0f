# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Planner settings per device, in one place: the node, the launch files, ``make demo`` and eval.

The official V-JEPA 2-AC settings (400 samples x 10 iterations, horizon 2: ``PlannerConfig``'s
defaults) plan in 38-47 s on a 2-core CPU, so an arm on a CPU would never move. The ``cpu``
profile is the setting the shipped model's success rates were measured with (48 x 3, horizon 1,
changed-token energy, trust region; about 0.2 s per plan). Precedence, lowest first:
``PlannerConfig`` defaults < the device profile < the model's own recommendation (its
config.json ``extra.planner``) < what the user set (params file, ``-p``, CLI options).
"""

import json
from typing import Dict, Mapping, Optional

PROFILES: Dict[str, Dict[str, object]] = {
    'cpu': {'horizon': 1, 'samples': 48, 'topk': 8, 'iterations': 3,
            'energy_weighting': 'changed', 'support_std': 2.5},
    'cuda': {},       # the official settings
}
PROFILE_CHOICES = ('auto',) + tuple(PROFILES) + ('none',)
# Planner fields a model folder may recommend (config.json ``extra.planner``; the trainers write
# only these). A params file must leave them unset like the profile's fields: a value there
# counts as the user's and would beat every model's own choice.
MODEL_FIELDS = ('energy', 'energy_weighting', 'goal_state_deadzone', 'goal_state_weight',
                'horizon', 'iterations', 'samples', 'topk')


def chosen_fields():
    """Return the planner fields a device profile or a model chooses (sorted)."""
    return sorted({k for p in PROFILES.values() for k in p} | set(MODEL_FIELDS))


def profile_name(profile: str, device: str) -> str:
    """Return the profile to use: ``auto`` picks by device (cuda:N -> cuda, else cpu)."""
    if profile == 'auto':
        return 'cuda' if str(device).startswith('cuda') else 'cpu'
    return profile


def model_recommendation(checkpoint: str) -> Dict[str, object]:
    """Return the planner settings a jepa_ros model folder recommends ({} when none)."""
    if not checkpoint or str(checkpoint).endswith('.pt'):
        return {}
    try:
        from jepa_ros.models.checkpoint import CONFIG, resolve_model_dir
        meta = json.loads((resolve_model_dir(checkpoint) / CONFIG).read_text())
    except (OSError, ValueError):
        return {}
    settings = (meta.get('extra') or {}).get('planner') if isinstance(meta, dict) else None
    return dict(settings) if isinstance(settings, dict) else {}


def planner_settings(profile: str, device: str, checkpoint: str = '',
                     user: Optional[Mapping[str, object]] = None) -> Dict[str, object]:
    """
    Return the PlannerConfig field values to apply over its defaults, in precedence order.

    ``user`` holds only what the user set explicitly; it always wins.
    """
    from jepa_ros.utils.config import ConfigError
    name = profile_name(profile, device)
    if name != 'none' and name not in PROFILES:
        raise ConfigError(f'planner_profile must be one of {", ".join(PROFILE_CHOICES)}, '
                          f'got {profile!r}')
    values = dict(PROFILES.get(name, {}))
    values.update(model_recommendation(checkpoint))
    values.update(user or {})
    return values
