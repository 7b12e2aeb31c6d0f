# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Limits applied to every action the planner returns, whatever the optimiser produced.

Order per step: non-finite check, translation norm, rotation norm, gripper action range, then
the workspace box for the resulting end-effector target and the [0, 1] range of the resulting
gripper closedness. Steps are applied in sequence from the current state, so a limit on step t
is seen by step t + 1.
"""

from typing import List, Tuple

import numpy as np

HOLD_ACTION = np.zeros(7, dtype=np.float64)


def hold_actions(horizon: int) -> np.ndarray:
    """Return a sequence of hold-still actions (no motion, gripper unchanged)."""
    return np.zeros((horizon, 7), dtype=np.float64)


def apply_limits(actions, state, cfg) -> Tuple[np.ndarray, List[str]]:
    """
    Return ``(safe_actions [H, 7], notes)`` for ``actions`` [H, 7] taken from ``state`` (7,).

    ``cfg`` is a PlannerConfig. ``notes`` names every limit that changed something. Non-finite
    actions or state raise ValueError: the caller turns that into a hold.
    """
    a = np.array(actions, dtype=np.float64).reshape(-1, 7)
    s = np.array(state, dtype=np.float64).reshape(7)
    if not np.isfinite(s).all():
        raise ValueError(f'current state is not finite: {s.tolist()}')
    if not np.isfinite(a).all():
        raise ValueError('planned actions contain NaN/Inf')
    lo = np.asarray(cfg.workspace_min, dtype=np.float64)
    hi = np.asarray(cfg.workspace_max, dtype=np.float64)
    notes = []
    pos = s[:3].copy()
    grip = float(np.clip(s[6], 0.0, 1.0))
    for t in range(a.shape[0]):
        d = a[t, :3]
        n = float(np.linalg.norm(d))
        if n > cfg.max_translation:
            d = d * (cfg.max_translation / n)
            notes.append(f'step {t}: translation {n:.4f} m scaled to {cfg.max_translation} m')
        if not cfg.optimize_rotation and np.any(a[t, 3:6] != 0):
            a[t, 3:6] = 0.0
            notes.append(f'step {t}: rotation zeroed (optimize_rotation is off)')
        r = float(np.linalg.norm(a[t, 3:6]))
        if r > cfg.max_rotation:
            a[t, 3:6] *= cfg.max_rotation / r
            notes.append(f'step {t}: rotation {r:.4f} rad scaled to {cfg.max_rotation} rad')
        g = float(a[t, 6])
        g_c = float(np.clip(g, cfg.gripper_action_min, cfg.gripper_action_max))
        if g_c != g:
            notes.append(f'step {t}: gripper action {g:.3f} clipped to {g_c:.3f}')
        target = np.clip(pos + d, lo, hi)
        if np.any(target != pos + d):
            notes.append(f'step {t}: target {np.round(pos + d, 4).tolist()} clamped to the '
                         f'workspace box')
            d = target - pos
            n = float(np.linalg.norm(d))
            if n > cfg.max_translation:  # the arm started outside the box: move back gradually
                d = d * (cfg.max_translation / n)
                notes.append(f'step {t}: return to the workspace limited to '
                             f'{cfg.max_translation} m')
        new_grip = float(np.clip(grip + g_c, 0.0, 1.0))
        if new_grip != grip + g_c:
            notes.append(f'step {t}: gripper action {g_c:.3f} limited to keep closedness in '
                         f'[0, 1]')
            g_c = new_grip - grip
        a[t, :3] = d
        a[t, 6] = g_c
        pos = pos + d
        grip = new_grip
    return a, notes


def integrate_path(actions, state) -> np.ndarray:
    """Return the end-effector positions [H + 1, 3] reached by ``actions`` from ``state``."""
    a = np.asarray(actions, dtype=np.float64).reshape(-1, 7)
    start = np.asarray(state, dtype=np.float64).reshape(7)[:3]
    return np.concatenate([start[None], start[None] + np.cumsum(a[:, :3], axis=0)], axis=0)
