# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
What collection, training and evaluation need from an environment someone else wrote.

An adapter turns a gymnasium-style environment (image observations, optional proprioception,
a continuous action box of any size, its own success check and evaluation tasks) into
``EnvSpec`` + ``reset`` / ``step`` returning ``EnvStep``. Nothing downstream assumes the
embedded arm's 7-D end-effector actions: sizes and bounds come from ``EnvSpec`` and are stored
in the episodes and in the trained model.
"""

import dataclasses
from typing import Callable, List, Optional, Tuple

from jepa_ros.utils.errors import UserError
import numpy as np


class EnvSetupError(UserError, ValueError):
    """The environment cannot be adapted; the message says what to change or install."""


@dataclasses.dataclass
class EnvSpec:
    """Sizes, bounds and timing of one environment."""

    name: str                 # e.g. 'ogbench:visual-cube-single-v0'
    action_low: tuple         # floats, one per action dimension
    action_high: tuple
    state_dim: int            # proprioception size (0: the env exposes none)
    image_size: int           # square frames, pixels
    views: tuple              # camera names, one per view
    control_dt: float         # seconds per env step
    max_episode_steps: int
    num_tasks: int            # evaluation tasks (0: none)
    action_names: tuple = ()

    @property
    def action_dim(self) -> int:
        """Return the number of action dimensions."""
        return len(self.action_low)

    def action_space(self) -> dict:
        """Return the JSON description stored in episodes and models (``kind`` 'box')."""
        names = list(self.action_names) or [f'a{i}' for i in range(self.action_dim)]
        return {'kind': 'box', 'low': [float(v) for v in self.action_low],
                'high': [float(v) for v in self.action_high], 'names': names}


@dataclasses.dataclass
class EnvStep:
    """One observation: a frame per view, the proprioception and the env's success signal."""

    frames: List[np.ndarray]  # (H, W, 3) uint8 RGB per view
    state: np.ndarray         # (state_dim,) float32
    success: bool
    info: dict


Policy = Callable[[EnvStep], np.ndarray]


class EnvAdapter:
    """The interface every adapter implements (see ``jepa_ros.envs.make_env``)."""

    spec: EnvSpec

    def reset(self, seed: Optional[int] = None,
              task_id: Optional[int] = None) -> Tuple[EnvStep, Optional[List[np.ndarray]]]:
        """Start an episode; with ``task_id`` an evaluation task and its goal frames."""
        raise NotImplementedError

    def step(self, action) -> EnvStep:
        """Apply one action (inside the spec's box) for one control period."""
        raise NotImplementedError

    def play_policy(self, seed: int) -> Policy:
        """Return the env's own task-free play policy (scripted), for collection."""
        raise NotImplementedError

    def random_policy(self, seed: int) -> Policy:
        """Return a policy of uniform random actions inside the box."""
        rng = np.random.default_rng(seed)
        low = np.asarray(self.spec.action_low, np.float64)
        high = np.asarray(self.spec.action_high, np.float64)
        return lambda _obs: rng.uniform(low, high)

    def close(self):
        """Release renderers and simulators."""
