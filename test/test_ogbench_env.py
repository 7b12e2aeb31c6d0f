# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
OGBench adapter on visual-cube-single-v0: spec, shapes, tasks and goals, play oracle, renderer.

One env serves the whole module (building one compiles the MuJoCo model, ~2 s). Frames come from
the adapter's own renderer; OGBench's renderer is only called for the comparisons (~0.2 s each
on a software GL).
"""

import sys

from jepa_ros.envs.base import EnvSetupError
from jepa_ros.envs.ogbench_env import FrameRenderer, OGBenchEnv
import numpy as np
import pytest

pytest.importorskip('ogbench', reason='optional package ogbench (pip install ogbench==1.2.2)')
mujoco = pytest.importorskip('mujoco')

NAME = 'visual-cube-single-v0'


@pytest.fixture(scope='module')
def env():
    """Return one 64 px cube env for the module."""
    e = OGBenchEnv(NAME, image_size=64, seed=0)
    yield e
    e.close()


def _no_frames(monkeypatch, env):
    """Skip rendering (for tests that only look at actions and state)."""
    monkeypatch.setattr(env._renderer, 'render', lambda data: [np.zeros((64, 64, 3), np.uint8)])


def test_spec(env):
    """The cube env is a 5-D [-1, 1] box at 20 Hz, 64 px, 5 tasks of 200 steps, 19-D proprio."""
    s = env.spec
    assert s.name == f'ogbench:{NAME}'
    assert s.action_low == (-1.0,) * 5 and s.action_high == (1.0,) * 5
    assert len(s.action_names) == 5
    assert s.image_size == 64 and s.views == ('front_pixels',)
    assert s.state_dim == 19 and s.num_tasks == 5 and s.max_episode_steps == 200
    assert s.control_dt == pytest.approx(0.05)


def test_play_reset_and_step_shapes(env):
    """Play resets have no goal; steps give one uint8 frame, float32 state and a bool success."""
    obs, goal = env.reset(seed=1)
    assert goal is None and env.task_id is None
    for o in (obs, env.step(np.zeros(5))):
        assert len(o.frames) == 1
        assert o.frames[0].shape == (64, 64, 3) and o.frames[0].dtype == np.uint8
        assert o.state.shape == (19,) and o.state.dtype == np.float32
        assert np.all(np.isfinite(o.state))
        assert isinstance(o.success, bool)
    assert o.info['t'] == 1 and 'privileged/block_0_pos' in o.info
    with pytest.raises(ValueError, match='5 finite'):
        env.step(np.full(5, np.nan))


def test_task_reset_goal_and_success(env):
    """A task gives a goal frame, a seed gives the same goal, and reaching it is success."""
    obs, goal = env.reset(seed=3, task_id=2)
    assert env.task_id == 2 and isinstance(obs.success, bool) and not obs.success
    assert len(goal) == 1 and goal[0].shape == (64, 64, 3) and goal[0].dtype == np.uint8
    assert np.abs(goal[0].astype(int) - obs.frames[0]).mean() > 0.5  # the cube is elsewhere
    _, again = env.reset(seed=3, task_id=2)
    np.testing.assert_array_equal(goal[0], again[0])

    u = env.unwrapped  # put the cube on its goal: the env's own check says success
    target = u.data.mocap_pos[u._cube_target_mocap_ids[0]].copy()
    u.data.joint('object_joint_0').qpos[:3] = target
    u.data.joint('object_joint_0').qvel[:] = 0.0
    mujoco.mj_forward(u.model, u.data)
    step = env.step(np.zeros(5))
    assert step.success is True and step.info['success'] is True


def test_offset_goal_restores_the_start_and_the_oracle_replay_succeeds(env, monkeypatch):
    """The start is the saved state, the goal is its cubes' pose, and the oracle gets there."""
    _no_frames(monkeypatch, env)
    seed = next(s for s in range(20)      # a pair whose cube really moves
                if env.reset_offset_goal(s, offset=12, max_start=60)[2]['cube_moved_m'] > 0.06)
    first, goal, detail = env.reset_offset_goal(seed, offset=12, max_start=60)
    assert detail['offset'] == 12 and 0 <= detail['start_step'] <= 60
    assert detail['actions'].shape == (12, 5) and len(goal) == 1
    assert first.success is False and env.unwrapped._mode == 'task'
    u = env.unwrapped
    assert np.linalg.norm(u.data.joint('object_joint_0').qpos[:3]
                          - u.data.mocap_pos[u._cube_target_mocap_ids[0]]) > 0.06
    succeeded = [env.step(a).success for a in detail['actions']]
    assert succeeded[-1] is True          # the same actions from the restored state: the goal
    first2, _, detail2 = env.reset_offset_goal(seed, offset=12, max_start=60)
    np.testing.assert_array_equal(first.state, first2.state)   # reproducible from the seed
    np.testing.assert_array_equal(detail['actions'], detail2['actions'])
    np.random.seed(0)
    for _ in range(5):                     # random actions do not move the cube there
        step = env.step(np.random.uniform(-1, 1, 5))
    assert step.success is False
    env.reset(seed=0)                      # back to a play episode: play mode again
    assert env.unwrapped._mode == 'data_collection'


def test_offset_goal_frames_match_a_rendered_roll(env):
    """Frames skipped on the way: the start and goal frames are those of a rendered roll."""
    first, goal, detail = env.reset_offset_goal(4, offset=3, max_start=4)
    step, _ = env.reset(seed=4)                       # the same seeded play episode, rendered
    policy = env.play_policy(4)
    for _ in range(detail['start_step']):
        step = env.step(policy(step))
    np.testing.assert_array_equal(first.frames[0], step.frames[0])
    np.testing.assert_array_equal(first.state, step.state)
    for _ in range(3):
        step = env.step(policy(step))
    np.testing.assert_array_equal(goal[0], step.frames[0])


def test_offset_goal_needs_a_cube_env():
    e = OGBenchEnv('visual-puzzle-3x3-v0', image_size=16, seed=0)
    try:
        with pytest.raises(EnvSetupError, match='offset goals need a cube env'):
            e.reset_offset_goal(0)
    finally:
        e.close()


@pytest.mark.parametrize('task_id', [0, 6, 1.5, True])
def test_bad_task_id(env, task_id):
    """Tasks are numbered 1..5 as in OGBench; anything else is refused with the range."""
    with pytest.raises(ValueError, match=r'1\.\.5'):
        env.reset(task_id=task_id)


def test_play_policy_moves_the_cube_in_bounds(env, monkeypatch):
    """The scripted play oracle stays in the box, is seeded, and picks the cube up."""
    _no_frames(monkeypatch, env)
    runs = []
    for _ in range(2):
        obs, _ = env.reset(seed=5)
        policy = env.play_policy(7)
        start = obs.info['privileged/block_0_pos'].copy()
        actions, moved = [], 0.0
        for _ in range(70):
            a = policy(obs)
            assert a.shape == (5,) and a.dtype == np.float32
            assert np.all(a >= -1.0) and np.all(a <= 1.0)
            actions.append(a)
            obs = env.step(a)
            moved = max(moved, np.linalg.norm(obs.info['privileged/block_0_pos'] - start))
        runs.append(np.array(actions))
        assert moved > 0.02  # grasped and carried within 3.5 s
    np.testing.assert_array_equal(runs[0], runs[1])
    rand = env.random_policy(0)(obs)
    assert np.shape(rand) == (5,) and np.all(np.abs(rand) <= 1.0)
    env.reset(task_id=1)
    with pytest.raises(RuntimeError, match='play episode'):
        policy(obs)


def test_fast_frames_and_goal_match_ogbench_render(env):
    """Frames and goal frames are close to OGBench's own; the 'ogbench' quality is exact."""
    obs, goal = env.reset(seed=2, task_id=4, ogbench_goal=True)
    ogbench_goal = obs.info['ogbench_goal']  # OGBench's render of the goal state it set up
    assert ogbench_goal.shape == goal[0].shape
    assert np.abs(goal[0].astype(int) - ogbench_goal).mean() < 2.5
    for _ in range(3):
        obs = env.step([0.5, -0.5, 0.0, 0.2, -1.0])
    ref = env.ogbench_frames()[0]
    assert ref.shape == obs.frames[0].shape
    assert np.abs(obs.frames[0].astype(int) - ref).mean() < 2.5

    exact = FrameRenderer(env.unwrapped.model, 64, ('front_pixels',), quality='ogbench')
    try:
        np.testing.assert_array_equal(exact.render(env.unwrapped.data)[0], ref)
        snapshot = env.unwrapped.compute_observation()  # what a task's goal is kept as
        np.testing.assert_array_equal(exact.render_snapshot(snapshot)[0], ref)
    finally:
        exact.close()


@pytest.mark.parametrize('name, match', [
    ('cube-single-v0', 'visual manipulation'),
    ('visual-cube-single-play-v0', 'visual-cube-single-v0'),
    ('visual-antmaze-medium-v0', 'not a manipulation env'),
    ('visual-nothing-v0', 'use one of'),
])
def test_bad_names(name, match):
    """Names that are not OGBench visual manipulation envs say what to use."""
    with pytest.raises(ValueError, match=match):
        OGBenchEnv(name)


def test_missing_ogbench_names_the_install(monkeypatch):
    """Without ogbench the error gives the pip line."""
    monkeypatch.setitem(sys.modules, 'ogbench', None)
    with pytest.raises(ImportError, match=r'pip install ogbench==1\.2\.2'):
        OGBenchEnv(NAME)
