# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
OGBench's play-data oracle, driven as OGBench's own data generation drives it.

The 'play' datasets come from ``mode='data_collection'`` episodes driven by the plan oracles of
``ogbench.manipspace.oracles.plan`` (noise 0.1, smoothing 0.5); when a plan is done the env
draws a new target (``set_new_target``) and a fresh plan starts. The oracles draw from
``np.random``; here they draw from a stream of their own, so a policy seed reproduces a play
episode without touching the caller's global stream.
"""

import contextlib

import numpy as np

# Oracle plan noise and smoothing, and the per-episode stacking probability range by cube count,
# as in OGBench's data generation for the 'play' datasets.
PLAY_NOISE = 0.1
PLAY_NOISE_SMOOTHING = 0.5
_P_STACK_RANGE = {1: (0.0, 0.0), 2: (0.0, 0.25), 3: (0.05, 0.35), 4: (0.1, 0.5), 8: (0.0, 0.35)}


@contextlib.contextmanager
def _global_np_random(state):
    """Run with ``np.random`` on ``state`` (a RandomState), leaving the caller's stream alone."""
    saved = np.random.get_state()
    np.random.set_state(state.get_state())
    try:
        yield
    finally:
        state.set_state(np.random.get_state())
        np.random.set_state(saved)


class PlayPolicy:
    """OGBench's play-data oracle: plan oracles with noise, a new target whenever one is done."""

    def __init__(self, env, rng_seed):
        """Make the oracles of ``env`` (an OGBenchEnv)'s family, drawing from ``rng_seed``."""
        from ogbench.manipspace.envs.cube_env import CubeEnv
        from ogbench.manipspace.envs.puzzle_env import PuzzleEnv
        from ogbench.manipspace.envs.scene_env import SceneEnv
        from ogbench.manipspace.oracles.plan import button_plan, cube_plan, drawer_plan
        from ogbench.manipspace.oracles.plan import window_plan

        self._owner = env
        self._env = env.unwrapped
        self._rs = np.random.RandomState(rng_seed)
        kw = {'env': self._env, 'noise': PLAY_NOISE, 'noise_smoothing': PLAY_NOISE_SMOOTHING}
        if isinstance(self._env, CubeEnv):
            self._agents = {'cube': cube_plan.CubePlanOracle(**kw)}
            self._p_stack_range = _P_STACK_RANGE.get(self._env._num_cubes, (0.5, 0.5))
        elif isinstance(self._env, SceneEnv):
            self._agents = {'cube': cube_plan.CubePlanOracle(**kw),
                            'button': button_plan.ButtonPlanOracle(**kw),
                            'drawer': drawer_plan.DrawerPlanOracle(**kw),
                            'window': window_plan.WindowPlanOracle(**kw)}
            self._p_stack_range = (0.5, 0.5)
        elif isinstance(self._env, PuzzleEnv):
            self._agents = {'button': button_plan.ButtonPlanOracle(
                gripper_always_closed=True, **kw)}
            self._p_stack_range = (0.5, 0.5)
        else:
            raise ValueError(f'no play oracle for {type(self._env).__name__}')
        self._episode = None
        self._agent = None
        self._p_stack = 0.5
        self.targets = 0  # plans started in this episode

    def _start(self, info):
        with _global_np_random(self._rs):
            self._agent = self._agents[info['privileged/target_task']]
            self._agent.reset(None, info)
        self.targets += 1

    def __call__(self, step):
        """Return the oracle's action (float32, in [-1, 1]) for ``step`` (an EnvStep)."""
        if self._owner.task_id is not None:
            raise RuntimeError('the play policy needs a play episode: reset(task_id=None)')
        if self._episode != self._owner._episode:
            self._episode = self._owner._episode
            self._p_stack = float(self._rs.uniform(*self._p_stack_range))
            self.targets = 0
            self._start(step.info)
        elif self._agent.done:
            _, info = self._env.set_new_target(p_stack=self._p_stack)
            self._start(info)
        action = self._agent.select_action(None, step.info)
        return np.clip(action, -1.0, 1.0).astype(np.float32)
