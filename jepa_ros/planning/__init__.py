# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Latent-space MPC planning towards goal images (CEM / MPPI over a V-JEPA 2-AC world model).

Pure PyTorch; no ROS imports. Names are imported lazily, so ``jepa_ros.planning.config`` (and
the CLI's ``--help``) does not pull in torch.
"""

import importlib

_EXPORTS = {
    'PlannerConfig': 'config',
    'energy': 'energies', 'layer_norm_tokens': 'energies', 'sequence_energy': 'energies',
    'token_weights': 'energies',
    'roll_state': 'geometry', 'roll_states': 'geometry',
    'energy_landscape': 'landscape', 'Landscape': 'landscape', 'save_landscape_png': 'landscape',
    'CEMPlanner': 'planner', 'GoalSequence': 'goal_sequence', 'make_planner': 'planner',
    'MPPIPlanner': 'planner', 'Plan': 'planner',
    'apply_limits': 'safety', 'integrate_path': 'safety',
    'LinearToyWorldModel': 'toy',
    'VJEPA2WorldModel': 'world_model', 'WorldModel': 'world_model',
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    value = getattr(importlib.import_module(f'{__name__}.{_EXPORTS[name]}'), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
