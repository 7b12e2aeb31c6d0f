# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
What the planner optimises over: the action box, the sampling widths and the imagined states.

Two kinds. ``EndEffectorSpace`` is the embedded arm's 7-D V-JEPA 2-AC action (translation in
metres, rotation, gripper), with the planner config's bounds and the workspace limits of
``planning.safety``; states roll forward with the actions. ``BoxSpace`` is any environment's
continuous action box (from its ``EnvSpec``, stored in the model): candidates are sampled and
clipped inside the box, the returned actions are the box-clipped sequence, and the model is
conditioned on actions alone (state size 0), because an arbitrary robot's proprioception cannot
be rolled forward without its dynamics.
"""

from typing import List, Optional, Sequence, Tuple

from jepa_ros.planning.geometry import roll_states
from jepa_ros.planning.safety import apply_limits, hold_actions, integrate_path
import numpy as np
import torch


class EndEffectorSpace:
    """The embedded arm's 7-D end-effector deltas (the PlannerConfig's bounds)."""

    kind = 'ee7'
    dim = 7
    state_dim = 7
    names = ('dx', 'dy', 'dz', 'drx', 'dry', 'drz', 'dgripper')

    def __init__(self, cfg):
        self.cfg = cfg

    def _full(self, value, device, gripper=None, rotation=None):
        v = torch.full((7,), float(value), device=device)
        if rotation is not None:
            v[3:6] = rotation
        if gripper is not None:
            v[6] = gripper
        return v

    def init_std(self, device) -> torch.Tensor:
        """Return the first iteration's per-dim std (rotation 0 when it is not optimised)."""
        cfg = self.cfg
        rot = cfg.rotation_maxnorm if cfg.optimize_rotation else 0.0
        return self._full(cfg.maxnorm, device, cfg.init_std_gripper, rot)

    def momentum(self, device) -> Tuple[torch.Tensor, torch.Tensor]:
        """Return the per-dim momentum of the CEM mean and std."""
        cfg = self.cfg
        return (self._full(cfg.momentum_mean, device, cfg.momentum_mean_gripper),
                self._full(cfg.momentum_std, device, cfg.momentum_std_gripper))

    def clip(self, a: torch.Tensor) -> torch.Tensor:
        """Clamp candidate sequences [..., 7] to the optimiser's bounds (in place)."""
        cfg = self.cfg
        a[..., :3] = a[..., :3].clamp(-cfg.maxnorm, cfg.maxnorm)
        if cfg.optimize_rotation:
            a[..., 3:6] = a[..., 3:6].clamp(-cfg.rotation_maxnorm, cfg.rotation_maxnorm)
        else:
            a[..., 3:6] = 0.0
        a[..., 6] = a[..., 6].clamp(cfg.gripper_low, cfg.gripper_high)
        return a

    def free_dims(self) -> List[int]:
        """Return the optimised action dims."""
        return [0, 1, 2] + ([3, 4, 5] if self.cfg.optimize_rotation else []) + [6]

    def scale(self, device) -> torch.Tensor:
        """Return each dim's natural step (translation 1; gripper in translation units)."""
        cfg = self.cfg
        rot = 1.0 if cfg.optimize_rotation else 0.0
        return self._full(1.0, device, cfg.init_std_gripper / cfg.maxnorm, rot)

    def upper(self) -> np.ndarray:
        """Return the optimiser's upper bound per dim."""
        cfg = self.cfg
        return np.array([cfg.maxnorm] * 3 + [cfg.rotation_maxnorm] * 3 + [cfg.gripper_high])

    def roll(self, s_t: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Return the states before each action [S, H, 7]."""
        return roll_states(s_t, actions)[:, :-1]

    def finalize(self, a: np.ndarray, state: np.ndarray) -> Tuple[np.ndarray, List[str]]:
        """Return the safe sequence (gripper deadband, then every limit) and notes."""
        a = a.copy()
        small = np.abs(a[:, 6]) < self.cfg.gripper_deadband
        a[small, 6] = 0.0
        return apply_limits(a, state, self.cfg)

    def path(self, actions, state) -> np.ndarray:
        """Return the end-effector positions the sequence reaches (RViz)."""
        start = state if np.isfinite(state).all() else np.zeros(7)
        return integrate_path(actions, start)

    def hold(self, horizon: int) -> np.ndarray:
        """Return hold-still actions (no motion, gripper unchanged)."""
        return hold_actions(horizon)

    def centre(self, device) -> torch.Tensor:
        """Return the cold-start mean (no motion)."""
        return torch.zeros(7, device=device)

    def describe(self) -> dict:
        """Return the JSON form (for results files)."""
        return {'kind': self.kind, 'names': list(self.names)}


class BoxSpace:
    """
    A continuous action box of any size, from an environment's spec.

    CEM starts at the box centre with ``box_std`` x the half-width per dim; candidates are
    clipped to the box; the momentum is the config's translation momentum for every dim.
    """

    kind = 'box'
    state_dim = 0

    def __init__(self, cfg, low: Sequence[float], high: Sequence[float],
                 names: Optional[Sequence[str]] = None):
        self.cfg = cfg
        self.low = np.asarray(low, dtype=np.float64).reshape(-1)
        self.high = np.asarray(high, dtype=np.float64).reshape(-1)
        if self.low.shape != self.high.shape or self.low.size == 0:
            raise ValueError(f'an action box needs low and high of one size >= 1, got '
                             f'{self.low.tolist()} and {self.high.tolist()}')
        if not (np.isfinite(self.low).all() and np.isfinite(self.high).all()):
            raise ValueError('the action box must be finite on every dim (an unbounded '
                             'action cannot be sampled safely)')
        if np.any(self.low >= self.high):
            raise ValueError(f'action box low {self.low.tolist()} must be below high '
                             f'{self.high.tolist()} on every dim')
        self.dim = int(self.low.size)
        self.names = tuple(names) if names else tuple(f'a{i}' for i in range(self.dim))
        self._t = {}

    @classmethod
    def from_description(cls, cfg, desc: dict) -> 'BoxSpace':
        """Build from the JSON form stored in a model (``{'kind': 'box', 'low', 'high'}``)."""
        return cls(cfg, desc['low'], desc['high'], desc.get('names'))

    def _bounds(self, device):
        key = str(device)
        if key not in self._t:
            self._t[key] = (torch.as_tensor(self.low, dtype=torch.float32, device=device),
                            torch.as_tensor(self.high, dtype=torch.float32, device=device))
        return self._t[key]

    def centre(self, device) -> torch.Tensor:
        """Return the middle of the box (the cold-start mean)."""
        lo, hi = self._bounds(device)
        return (lo + hi) / 2

    def init_std(self, device) -> torch.Tensor:
        """Return ``box_std`` x the half-width per dim."""
        lo, hi = self._bounds(device)
        return (hi - lo) / 2 * float(self.cfg.box_std)

    def momentum(self, device) -> Tuple[torch.Tensor, torch.Tensor]:
        """Return the per-dim momentum of the CEM mean and std."""
        cfg = self.cfg
        return (torch.full((self.dim,), cfg.momentum_mean, device=device),
                torch.full((self.dim,), cfg.momentum_std, device=device))

    def clip(self, a: torch.Tensor) -> torch.Tensor:
        """Clamp candidate sequences [..., A] to the box (in place)."""
        lo, hi = self._bounds(a.device)
        return a.copy_(torch.maximum(torch.minimum(a, hi), lo))

    def free_dims(self) -> List[int]:
        """Return the optimised action dims (all)."""
        return list(range(self.dim))

    def scale(self, device) -> torch.Tensor:
        """Return each dim's natural step: its half-width over the widest half-width."""
        lo, hi = self._bounds(device)
        w = (hi - lo) / 2
        return w / w.max()

    def upper(self) -> np.ndarray:
        """Return the box's upper bound."""
        return self.high.copy()

    def roll(self, s_t: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Return empty states [S, H, 0]: the model is conditioned on actions alone."""
        return actions.new_zeros(actions.shape[0], actions.shape[1], 0)

    def finalize(self, a: np.ndarray, state: np.ndarray) -> Tuple[np.ndarray, List[str]]:
        """Return the box-clipped sequence and notes; non-finite actions raise ValueError."""
        a = np.array(a, dtype=np.float64).reshape(-1, self.dim)
        if not np.isfinite(a).all():
            raise ValueError('planned actions contain NaN/Inf')
        safe = np.clip(a, self.low, self.high)
        notes = [f'step {t}: clipped to the action box' for t in range(len(a))
                 if np.any(safe[t] != a[t])]
        return safe, notes

    def path(self, actions, state) -> np.ndarray:
        """Return an empty end-effector path: a box says nothing about the arm's pose."""
        return np.zeros((0, 3))

    def hold(self, horizon: int) -> np.ndarray:
        """Return the box centre repeated: what a hold sends in a box space."""
        return np.tile((self.low + self.high) / 2, (horizon, 1))

    def describe(self) -> dict:
        """Return the JSON form stored in models and results."""
        return {'kind': self.kind, 'low': self.low.tolist(), 'high': self.high.tolist(),
                'names': list(self.names)}


def action_space_for(world_model, cfg):
    """Return the action space a world model was trained for (the arm's 7-D one by default)."""
    desc = getattr(world_model, 'action_space', None)
    if desc and desc.get('kind') == 'box':
        return BoxSpace.from_description(cfg, desc)
    return EndEffectorSpace(cfg)
