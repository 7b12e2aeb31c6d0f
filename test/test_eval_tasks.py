# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Evaluation tasks: seeded episodes, goal images, success checks (oracle succeeds, hold fails)."""

from types import SimpleNamespace

from jepa_ros.eval.policies import HoldPolicy, OraclePolicy, RandomPolicy
from jepa_ros.eval.runner import run_episode
from jepa_ros.eval.tasks import (goal_images, make_episodes, reset_to_start,
                                 SUCCESS_THRESHOLDS, task_distance, TASKS)
from jepa_ros.sim import SimArm, SimConfig
import numpy as np
import pytest


@pytest.fixture(scope='module')
def sim():
    with SimArm(SimConfig(image_size=64)) as s:
        yield s


def test_thresholds_are_the_issues():
    assert SUCCESS_THRESHOLDS == {'reach': 0.03, 'push': 0.04, 'pick_place': 0.04}


@pytest.mark.parametrize('task', TASKS)
def test_oracle_succeeds_and_holding_still_fails(sim, task):
    specs = make_episodes(task, 3, seed=5, sim=sim)
    for spec in specs:
        goals = goal_images(sim, spec)
        ok = run_episode(sim, spec, OraclePolicy(), goals)
        assert ok['success'], (task, spec.index, ok['final_distance_m'])
        assert ok['steps'] <= spec.steps
        assert ok['final_distance_m'] <= spec.threshold
        still = run_episode(sim, spec, HoldPolicy(), goals)
        assert not still['success']
        assert still['steps'] == spec.steps
        assert still['min_distance_m'] > spec.threshold


def test_success_check_uses_the_right_body(sim):
    reach = make_episodes('reach', 1, 0, sim)[0]
    push = make_episodes('push', 1, 0, sim)[0]
    far = np.array([9.0, 9.0, 9.0])
    at_ee = SimpleNamespace(ee_pos=reach.goal_ee[-1] + [0.02, 0, 0], cube_pos=far)
    assert task_distance(reach, at_ee) == pytest.approx(0.02)
    assert task_distance(reach, at_ee) <= reach.threshold
    cube_near = SimpleNamespace(ee_pos=far, cube_pos=push.goal_cube[-1] + [0, 0.05, 0])
    assert task_distance(push, cube_near) == pytest.approx(0.05)
    assert task_distance(push, cube_near) > push.threshold


def test_same_seed_same_episodes_and_goal_images(sim):
    for task in TASKS:
        a = make_episodes(task, 2, seed=3, sim=sim)
        b = make_episodes(task, 2, seed=3, sim=sim)
        c = make_episodes(task, 2, seed=4, sim=sim)
        assert [s.to_dict() for s in a] == [s.to_dict() for s in b]
        assert [s.to_dict() for s in a] != [s.to_dict() for s in c]
        ga, gb = goal_images(sim, a[0]), goal_images(sim, b[0])
        assert len(ga) == (3 if task == 'pick_place' else 1)
        for x, y in zip(ga, gb):
            assert x.dtype == np.uint8 and x.shape == (64, 64, 3)
            np.testing.assert_array_equal(x, y)


def test_goal_images_leave_the_scene_at_the_start(sim):
    spec = make_episodes('push', 1, seed=1, sim=sim)[0]
    start = reset_to_start(sim, spec).image
    goals = goal_images(sim, spec)
    after = sim.observe()
    np.testing.assert_array_equal(after.image, start)
    np.testing.assert_allclose(after.cube_pos, spec.start_cube, atol=1e-6)
    np.testing.assert_allclose(after.ee_pos, spec.start_ee, atol=3e-3)
    assert np.abs(goals[0].astype(int) - start.astype(int)).sum() > 0   # the goal differs


def test_pick_place_subgoals_show_the_cube_held_then_placed(sim):
    spec = make_episodes('pick_place', 1, seed=2, sim=sim)[0]
    assert spec.goal_gripper[0] > 0.3 and spec.goal_gripper[-1] == 0.0
    assert spec.goal_cube[1][2] > 0.08                 # carried above the table
    np.testing.assert_allclose(spec.goal_cube[0], spec.start_cube)
    assert np.linalg.norm(spec.goal_cube[-1] - spec.start_cube) >= 0.08


def test_episode_budget_and_random_policy_is_reproducible(sim):
    spec = make_episodes('reach', 1, seed=0, sim=sim, steps=4)[0]
    assert spec.steps == 4
    goals = goal_images(sim, spec)
    r1 = run_episode(sim, spec, RandomPolicy(seed=7), goals)
    r2 = run_episode(sim, spec, RandomPolicy(seed=7), goals)
    assert r1['distances_m'] == r2['distances_m']
    assert len(r1['distances_m']) == r1['steps'] + 1 <= 5


def test_bad_task_is_rejected(sim):
    with pytest.raises(ValueError, match='unknown task'):
        make_episodes('stack', 1, 0, sim)


def test_grasp_check_sees_the_oracle_hold_the_cube_and_only_then(sim):
    from jepa_ros.control.grasp import GraspCheck
    check = GraspCheck()
    spec = make_episodes('pick_place', 1, seed=5, sim=sim)[0]
    assert spec.needs_hold == [False, True, False]    # the carry image shows the cube up
    oracle = OraclePolicy()
    obs = reset_to_start(sim, spec)
    oracle.begin(spec, goal_images(sim, spec))
    assert obs.finger_closure == pytest.approx(0.0, abs=0.02)
    lifted, held_low = [], []
    for _ in range(spec.steps):
        obs = sim.step(oracle.act(obs), render=False)
        held = check.holding(obs.gripper, obs.finger_closure)
        if obs.cube_pos[2] > 0.06:            # in the air: only the fingers keep it there
            lifted.append(held)
        elif obs.gripper < 0.1:
            held_low.append(held)
    assert lifted and all(lifted)
    assert held_low and not any(held_low)
    reset_to_start(sim, spec)
    for _ in range(5):                        # above the cube, closed on nothing
        obs = sim.step([0, 0, 0.02, 0, 0, 0, 1.0], render=False)
    assert obs.finger_closure > 0.9 and not check.holding(obs.gripper, obs.finger_closure)
