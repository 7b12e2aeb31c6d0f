# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Action and state normalisation, stored with the model as ``extra['normalization']``.

The planner's world model applies the same statistics, so they are plain lists of floats (7 each
for the embedded arm; an environment's action and proprioception sizes otherwise).
"""

from typing import Dict, List

import numpy as np

KEYS = ('action_mean', 'action_std', 'state_mean', 'state_std')


def compute_normalization(states: np.ndarray, actions: np.ndarray,
                          min_std: float = 1e-3) -> Dict[str, List[float]]:
    """
    Return per-dimension mean/std of states (N, S) and actions (M, A) (S may be 0).

    Dimensions that never move (e.g. a fixed gripper) get std ``min_std`` rather than 0, so
    normalising them cannot blow up.
    """
    states = np.asarray(states, dtype=np.float64)
    actions = np.asarray(actions, dtype=np.float64)
    states = states.reshape(len(states), -1) if states.ndim != 2 else states
    actions = actions.reshape(len(actions), -1) if actions.ndim != 2 else actions
    if len(states) == 0 or len(actions) == 0:
        raise ValueError('normalisation needs at least one state and one action')
    if not (np.isfinite(states).all() and np.isfinite(actions).all()):
        raise ValueError('states/actions contain NaN or inf; fix the episodes first')
    return {'action_mean': actions.mean(0).tolist(),
            'action_std': np.maximum(actions.std(0), min_std).tolist(),
            'state_mean': states.mean(0).tolist(),
            'state_std': np.maximum(states.std(0), min_std).tolist()}


def check_normalization(norm) -> Dict[str, List[float]]:
    """Validate a normalisation dict (4 keys of 7 finite floats, positive stds)."""
    if not isinstance(norm, dict):
        raise ValueError(f'normalization must be a dict with keys {KEYS}')
    out = {}
    for k in KEYS:
        if k not in norm:
            raise ValueError(f'normalization lacks {k!r}')
        v = np.asarray(norm[k], dtype=np.float64)
        if v.shape != (7,) or not np.isfinite(v).all():
            raise ValueError(f'normalization[{k!r}] must be 7 finite floats, got {norm[k]!r}')
        if k.endswith('std') and (v <= 0).any():
            raise ValueError(f'normalization[{k!r}] must be positive')
        out[k] = v.tolist()
    return out


def normalize(x, mean, std):
    """Return (x - mean) / std (numpy or torch, broadcasting over the last axis)."""
    if hasattr(x, 'new_tensor'):
        return (x - x.new_tensor(mean)) / x.new_tensor(std)
    return (np.asarray(x) - np.asarray(mean)) / np.asarray(std)


def denormalize(x, mean, std):
    """Invert ``normalize``."""
    if hasattr(x, 'new_tensor'):
        return x * x.new_tensor(std) + x.new_tensor(mean)
    return np.asarray(x) * np.asarray(std) + np.asarray(mean)
