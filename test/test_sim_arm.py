# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""SimArm behaviour: IK accuracy and limits, step semantics, clamping, NaN rejection, seeds."""

from jepa_ros.sim import SimArm, SimConfig
import numpy as np
import pytest


@pytest.fixture(scope='module')
def sim():
    s = SimArm(SimConfig(image_size=64))
    yield s
    s.close()


@pytest.mark.parametrize('pos, rpy', [
    ((0.45, 0.0, 0.30), (0.0, 0.0, 0.0)),
    ((0.60, 0.20, 0.10), (0.0, 0.0, 0.0)),
    ((0.35, -0.25, 0.45), (0.0, 0.0, 0.5)),
    ((0.70, -0.10, 0.05), (0.2, -0.2, -0.4)),
])
def test_ik_reaches_reachable_targets_within_5mm(sim, pos, rpy):
    sim.reset(seed=0, render=False)
    result = sim.move_ee_to(pos, rpy)
    assert result.success
    ee_pos, ee_mat = sim.ee_pose()
    assert np.linalg.norm(ee_pos - np.array(pos)) < 0.005
    assert np.allclose(sim.ee_state()[3:6], rpy, atol=0.02)
    lim = sim.joint_limits
    assert np.all(result.q >= lim[:, 0]) and np.all(result.q <= lim[:, 1])


def test_ik_refuses_unreachable_and_keeps_joint_limits(sim):
    sim.reset(seed=0, render=False)
    q_before = sim.observe(render=False).joint_pos
    result = sim.ik((1.5, 0.0, 0.3), (0.0, 0.0, 0.0))
    assert not result.success and result.pos_err > 0.3
    lim = sim.joint_limits
    assert np.all(result.q >= lim[:, 0]) and np.all(result.q <= lim[:, 1])
    with pytest.raises(ValueError, match='out of reach'):
        sim.move_ee_to((1.5, 0.0, 0.3))
    assert np.allclose(sim.observe(render=False).joint_pos, q_before)


def test_ik_respects_joint_limits_for_random_targets(sim):
    rng = np.random.default_rng(0)
    lim = sim.joint_limits
    for _ in range(20):
        pos = rng.uniform((-0.8, -0.8, -0.3), (0.8, 0.8, 1.2))
        rpy = rng.uniform(-np.pi, np.pi, 3)
        q = sim.ik(pos, rpy).q
        assert np.all(q >= lim[:, 0] - 1e-12) and np.all(q <= lim[:, 1] + 1e-12)


@pytest.mark.parametrize('axis', [0, 1, 2])
@pytest.mark.parametrize('sign', [1.0, -1.0])
def test_step_moves_ee_by_about_the_action(sim, axis, sign):
    obs = sim.reset(seed=0, render=False)
    action = np.zeros(7)
    action[axis] = 0.03 * sign
    new = sim.step(action, render=False)
    moved = new.ee_pos - obs.ee_pos
    assert moved[axis] == pytest.approx(0.03 * sign, abs=0.006)
    others = np.delete(moved, axis)
    assert np.all(np.abs(others) < 0.006)
    assert new.time == pytest.approx(sim.config.control_dt, abs=1e-9)


def test_step_rotation_changes_yaw(sim):
    obs = sim.reset(seed=0, render=False)
    new = sim.step([0, 0, 0, 0, 0, 0.2, 0], render=False)
    assert new.state[5] - obs.state[5] == pytest.approx(0.2, abs=0.03)
    assert np.linalg.norm(new.ee_pos - obs.ee_pos) < 0.006


def test_big_steps_are_clamped(sim):
    obs = sim.reset(seed=0, render=False)
    new = sim.step([0.5, 0, 0, 0, 0, 2.0, 0], render=False)
    assert 'action' in sim.last_step_info['clamped']
    limit = sim.config.max_step_translation
    assert new.ee_pos[0] - obs.ee_pos[0] < limit + 0.006
    assert new.ee_pos[0] - obs.ee_pos[0] > 0.5 * limit
    assert abs(new.state[5] - obs.state[5]) < sim.config.max_step_rotation + 0.03


def test_workspace_box_is_enforced(sim):
    sim.reset(seed=0, render=False)
    high = np.array(sim.config.workspace_high)
    for _ in range(12):
        obs = sim.step([0, 0, 0.05, 0, 0, 0, 0], render=False)
    assert 'workspace' in sim.last_step_info['clamped']
    assert obs.ee_pos[2] <= high[2] + 0.005
    assert obs.ee_pos[2] > high[2] - 0.02


@pytest.mark.parametrize('bad', [
    [np.nan, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, np.inf, 0], [0.01, 0, 0], np.zeros(8)])
def test_bad_actions_are_rejected_and_nothing_moves(sim, bad):
    before = sim.reset(seed=0, render=False)
    with pytest.raises(ValueError):
        sim.step(bad, render=False)
    after = sim.observe(render=False)
    assert after.time == before.time
    assert np.array_equal(after.joint_pos, before.joint_pos)


def test_gripper_integrates_and_closes_the_fingers(sim):
    obs = sim.reset(seed=0, render=False)
    assert obs.gripper == 0.0
    half = sim.step([0, 0, 0, 0, 0, 0, 0.5], render=False)
    assert half.gripper == pytest.approx(0.5)
    for _ in range(3):
        closed = sim.step([0, 0, 0, 0, 0, 0, 1.0], render=False)
    assert closed.gripper == 1.0
    assert closed.finger_width < half.finger_width < obs.finger_width


def test_reset_is_deterministic_for_a_seed(sim):
    a = sim.reset(seed=7)
    sa = sim.step([0.02, 0.01, -0.01, 0, 0, 0.1, 0.3])
    b = sim.reset(seed=7)
    sb = sim.step([0.02, 0.01, -0.01, 0, 0, 0.1, 0.3])
    assert np.array_equal(a.image, b.image) and np.array_equal(sa.image, sb.image)
    assert np.array_equal(sa.state, sb.state)
    c = sim.reset(seed=8)
    assert not np.allclose(a.cube_pos, c.cube_pos)
    low, high = sim.config.cube_spawn_low, sim.config.cube_spawn_high
    assert low[0] <= c.cube_pos[0] <= high[0] and low[1] <= c.cube_pos[1] <= high[1]
    assert c.cube_pos[2] == pytest.approx(0.025, abs=0.003)  # resting on the table


def test_reset_with_explicit_cube_and_ee(sim):
    obs = sim.reset(seed=0, cube_pos=(0.5, 0.1), ee_pos=(0.55, -0.1, 0.2), render=False)
    assert np.allclose(obs.cube_pos[:2], (0.5, 0.1), atol=0.003)
    assert np.allclose(obs.ee_pos, (0.55, -0.1, 0.2), atol=0.005)
    assert np.allclose(obs.state[3:6], 0.0, atol=0.03)


def test_ee_pushes_the_cube(sim):
    sim.reset(seed=0, cube_pos=(0.55, 0.0), ee_pos=(0.45, 0.0, 0.03), render=False)
    for _ in range(6):
        obs = sim.step([0.04, 0, 0, 0, 0, 0, 1.0], render=False)
    assert obs.cube_pos[0] > 0.58  # moved forward by contact
