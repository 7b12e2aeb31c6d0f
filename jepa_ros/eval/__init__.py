# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Closed-loop evaluation in the simulated arm: tasks from goal images, success checks, baselines.

Pure logic (no ROS). Names are imported lazily so ``jepa-ros --help`` never loads torch or
MuJoCo.
"""

import importlib

_EXPORTS = {
    'TASKS': 'tasks', 'EpisodeSpec': 'tasks', 'make_episodes': 'tasks',
    'goal_images': 'tasks', 'reset_to_start': 'tasks', 'task_distance': 'tasks',
    'SUCCESS_THRESHOLDS': 'tasks', 'DEFAULT_STEPS': 'tasks',
    'HoldPolicy': 'policies', 'OraclePolicy': 'policies', 'PlannerPolicy': 'policies',
    'RandomPolicy': 'policies',
    'EvalConfig': 'runner', 'run_episode': 'runner', 'run_eval': 'runner',
    'summarize': 'runner',
    'load_world_model_or_fallback': 'models', 'random_world_model': 'models',
    'untrained_like': 'models',
    'save_summary_png': 'report', 'save_episode_video': 'report',
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
