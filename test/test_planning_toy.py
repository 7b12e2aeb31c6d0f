# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Planner behaviour on a hand-made world model whose optimum is known in closed form."""

import dataclasses

from jepa_ros.planning import (apply_limits, CEMPlanner, energy, energy_landscape, GoalSequence,
                               integrate_path, LinearToyWorldModel, make_planner, MPPIPlanner,
                               PlannerConfig, roll_state, save_landscape_png)
from jepa_ros.planning.geometry import euler_to_matrix, matrix_to_euler
from jepa_ros.utils.config import ConfigError, from_dict, to_dict
import numpy as np
import pytest
import torch

torch.set_num_threads(1)

START = np.array([0.5, 0.0, 0.3, 0.0, 0.0, 0.0, 0.0])


def goal_state(offset, gripper=0.0):
    g = START.copy()
    g[:3] += offset
    g[6] = gripper
    return g


@pytest.fixture(scope='module')
def toy():
    return LinearToyWorldModel(seed=0)


@pytest.mark.parametrize('cls', [CEMPlanner, MPPIPlanner])
def test_horizon_1_finds_the_closed_form_optimum(toy, cls):
    offset = np.array([0.03, -0.02, 0.01])
    planner = cls(toy, PlannerConfig(horizon=1, samples=300, iterations=12, seed=1))
    plan = planner.plan(START, START, toy.latent(goal_state(offset)))
    assert plan.ok, plan.reason
    # One step can reach the goal exactly, so the optimum is the offset itself.
    np.testing.assert_allclose(plan.first_action[:3], offset, atol=2e-3)
    assert plan.final_energy < 0.01
    assert plan.energies[-1] < plan.energies[0]
    np.testing.assert_allclose(plan.ee_path[0], START[:3])
    np.testing.assert_allclose(plan.ee_path[-1], START[:3] + plan.first_action[:3])
    assert plan.actions.shape == (1, 7) and plan.iterations == 12 and plan.ms > 0


@pytest.mark.parametrize('cls', [CEMPlanner, MPPIPlanner])
def test_horizon_3_reaches_a_goal_one_step_cannot(toy, cls):
    offset = np.array([0.10, -0.06, 0.04])  # 2x beyond what one 0.05 m step can do
    planner = cls(toy, PlannerConfig(horizon=3, samples=400, iterations=30, seed=0))
    plan = planner.plan(START, START, toy.latent(goal_state(offset)))
    assert plan.ok, plan.reason
    assert plan.actions.shape == (3, 7) and plan.ee_path.shape == (4, 3)
    assert np.linalg.norm(plan.ee_path[-1] - (START[:3] + offset)) < 0.01
    assert np.all(np.abs(plan.actions[:, :3]) <= 0.05 + 1e-9)


def test_gripper_is_planned_and_small_commands_are_rounded(toy):
    cfg = PlannerConfig(horizon=1, samples=300, iterations=10, seed=0)
    plan = CEMPlanner(toy, cfg).plan(START, START, toy.latent(goal_state([0, 0, 0], 0.7)))
    assert plan.ok and plan.first_action[6] == pytest.approx(0.7, abs=0.06)
    # A goal equal to the start needs no gripper motion; the deadband returns exactly zero.
    plan = CEMPlanner(toy, cfg).plan(START, START, toy.latent(START))
    assert plan.first_action[6] == 0.0


def test_same_seed_same_plan_other_seed_other_plan(toy):
    goal = toy.latent(goal_state([0.02, 0.01, 0.0]))
    cfg = PlannerConfig(horizon=2, samples=64, iterations=3, seed=7)
    a = CEMPlanner(toy, cfg).plan(START, START, goal)
    b = CEMPlanner(toy, cfg).plan(START, START, goal)
    c = CEMPlanner(toy, dataclasses.replace(cfg, seed=8)).plan(START, START, goal)
    np.testing.assert_array_equal(a.actions, b.actions)
    assert a.energies == b.energies
    assert not np.array_equal(a.actions, c.actions)
    # reset() reseeds: the planner repeats its first plan.
    p = CEMPlanner(toy, cfg)
    first = p.plan(START, START, goal)
    p.reset()
    np.testing.assert_array_equal(p.plan(START, START, goal).actions, first.actions)


def _track_moving_goal(toy, warm, method):
    cfg = PlannerConfig(method=method, horizon=1, samples=100, iterations=30, seed=0,
                        warm_start=warm, stop_energy=2e-3)
    planner = make_planner(toy, cfg)
    s, g, iters = START.copy(), START.copy(), []
    for _ in range(15):
        g[:3] += [0.004, 0.003, -0.002]  # the goal drifts ~5 mm per step
        plan = planner.plan(s, s, toy.latent(g))
        assert plan.ok
        iters.append(plan.iterations)
        s = s + plan.first_action
    return float(np.mean(iters[1:]))


@pytest.mark.parametrize('method', ['cem', 'mppi'])
def test_warm_start_needs_fewer_iterations_on_a_moving_goal(toy, method):
    cold = _track_moving_goal(toy, False, method)
    warm = _track_moving_goal(toy, True, method)
    assert warm < 0.7 * cold, (warm, cold)


def test_non_finite_candidates_are_dropped(toy):
    # Every candidate moving +x "breaks" the model; the optimum (+x) is then out of reach.
    bad = LinearToyWorldModel(seed=0, nan_if=lambda a: a[:, 0, 0] > 0)
    cfg = PlannerConfig(horizon=1, samples=200, iterations=5, seed=0)
    plan = CEMPlanner(bad, cfg).plan(START, START, bad.latent(goal_state([0.03, 0.02, 0.0])))
    assert plan.ok, plan.reason
    assert plan.dropped > 0 and np.isfinite(plan.final_energy)
    assert plan.first_action[0] <= 1e-9
    assert plan.first_action[1] > 0.01  # still optimises the axes that work


@pytest.mark.parametrize('cls', [CEMPlanner, MPPIPlanner])
def test_all_non_finite_returns_hold_with_reason(cls):
    bad = LinearToyWorldModel(seed=0, nan_if=lambda a: torch.ones(a.shape[0], dtype=torch.bool))
    plan = cls(bad, PlannerConfig(horizon=2, samples=50, iterations=3)).plan(
        START, START, bad.latent(goal_state([0.03, 0, 0])))
    assert not plan.ok
    assert 'non-finite' in plan.reason and plan.reason.startswith('hold')
    np.testing.assert_array_equal(plan.first_action, np.zeros(7))
    np.testing.assert_array_equal(plan.actions, np.zeros((2, 7)))
    np.testing.assert_allclose(plan.ee_path, np.repeat(START[None, :3], 3, axis=0))


def test_non_finite_state_returns_hold(toy):
    s = START.copy()
    s[1] = np.nan
    plan = CEMPlanner(toy, PlannerConfig(horizon=1, samples=20, iterations=1)).plan(
        START, s, toy.latent(START))
    assert not plan.ok and 'state' in plan.reason
    assert np.all(plan.first_action == 0)


def test_outputs_respect_limits_whatever_the_goal(toy):
    cfg = PlannerConfig(horizon=3, samples=100, iterations=5, seed=0, max_translation=0.02,
                        workspace_min=(0.45, -0.1, 0.28), workspace_max=(0.55, 0.1, 0.4),
                        gripper_action_max=0.3)
    far = goal_state([0.4, -0.4, -0.3], gripper=1.0)  # far outside the box
    plan = CEMPlanner(toy, cfg).plan(START, START, toy.latent(far))
    assert plan.ok
    assert np.all(np.linalg.norm(plan.actions[:, :3], axis=1) <= 0.02 + 1e-9)
    assert np.all(plan.ee_path >= np.array(cfg.workspace_min) - 1e-9)
    assert np.all(plan.ee_path <= np.array(cfg.workspace_max) + 1e-9)
    assert np.all(plan.actions[:, 6] <= 0.3 + 1e-9)
    assert np.all(plan.actions[:, 3:6] == 0)
    assert plan.notes  # it says which limits acted


def test_apply_limits_rules():
    cfg = PlannerConfig(max_translation=0.05, max_rotation=0.1, optimize_rotation=True,
                        workspace_min=(0.0, -1.0, 0.2), workspace_max=(1.0, 1.0, 1.0))
    s = np.array([0.5, 0.0, 0.21, 0.0, 0.0, 0.0, 0.9])
    a = np.array([[0.06, 0.08, 0.0, 0.3, 0.0, 0.4, 0.5],   # too far, too much rotation
                  [0.0, 0.0, -0.05, 0.0, 0.0, 0.0, -2.0]])  # through the floor; gripper < -1
    safe, notes = apply_limits(a, s, cfg)
    np.testing.assert_allclose(safe[0, :3], [0.03, 0.04, 0.0])
    assert np.linalg.norm(safe[0, 3:6]) == pytest.approx(0.1)
    assert safe[0, 6] == pytest.approx(0.1)   # closedness 0.9 + 0.1 = 1.0 (limit)
    assert safe[1, 2] == pytest.approx(-0.01)  # stops at z = 0.2
    assert safe[1, 6] == pytest.approx(-1.0)
    assert len(notes) >= 4
    with pytest.raises(ValueError, match='NaN'):
        apply_limits(np.full((1, 7), np.nan), s, cfg)
    # Starting outside the box: come back, but never faster than max_translation.
    out = np.array([0.5, 0.0, -0.5, 0, 0, 0, 0])
    safe, _ = apply_limits(np.zeros((1, 7)), out, cfg)
    assert safe[0, 2] == pytest.approx(0.05)
    np.testing.assert_allclose(integrate_path(safe, out)[-1], [0.5, 0.0, -0.45])


def test_goal_sequence_advances_on_threshold_and_on_budget(toy):
    goals = [toy.latent(goal_state([0.03, 0.0, 0.0])), toy.latent(goal_state([0.03, 0.03, 0.0])),
             toy.latent(goal_state([0.0, 0.03, 0.0]))]
    cfg = PlannerConfig(horizon=1, samples=200, iterations=8, seed=0)
    seq = GoalSequence(goals, threshold=0.02)
    planner = CEMPlanner(toy, cfg)
    s, seen = START.copy(), []
    for _ in range(8):
        plan = planner.plan(s, s, seq)
        seen.append(plan.goal_index)
        s = s + plan.first_action
    assert seen[0] == 0 and seen[-1] == 2 and sorted(seen) == seen
    assert seq.reached and plan.goal_reached
    np.testing.assert_allclose(s[:3], START[:3] + [0.0, 0.03, 0.0], atol=3e-3)
    # Step budget: 2 replanning steps per sub-goal even if never reached (a still robot).
    budget = GoalSequence(goals, max_steps=2)
    idx = [planner.plan(START, START, budget).goal_index for _ in range(6)]
    assert idx == [0, 0, 1, 1, 2, 2]
    assert not budget.reached


def test_config_validation_and_round_trip():
    cfg = from_dict(PlannerConfig, {'horizon': '3', 'energy': 'cosine', 'workspace_min': '0 0 0'})
    assert cfg.horizon == 3 and cfg.workspace_min == (0.0, 0.0, 0.0)
    assert from_dict(PlannerConfig, to_dict(cfg)) == cfg
    for bad in ({'topk': 1}, {'topk': 500}, {'energy': 'l3'}, {'method': 'ilqr'},
                {'momentum_mean': 1.0}, {'workspace_min': [1, 1, 1], 'workspace_max': [0, 0, 0]},
                {'maxnorm': 0}, {'horizon': 0}):
        with pytest.raises(ConfigError):
            from_dict(PlannerConfig, bad)
    with pytest.raises(ConfigError, match='unknown key'):
        from_dict(PlannerConfig, {'sample': 3})


def test_energies():
    g = torch.randn(1, 4, 8)
    p = torch.stack([g[0], g[0] + 0.5, -g[0]])
    e1 = energy(p, g, 'l1')
    np.testing.assert_allclose(e1.numpy(), [0.0, 0.5, float(2 * g.abs().mean())], rtol=1e-5)
    np.testing.assert_allclose(energy(p, g, 'l2').numpy()[:2], [0.0, 0.5], atol=1e-6)
    np.testing.assert_allclose(energy(p, g[0], 'cosine').numpy()[[0, 2]], [0.0, 2.0], atol=1e-5)
    with pytest.raises(ValueError, match='differ'):
        energy(p, torch.randn(1, 5, 8))
    with pytest.raises(ValueError, match='unknown energy'):
        energy(p, g, 'l3')


def test_state_roll_forward():
    s = torch.tensor([0.5, 0.0, 0.3, 0.1, -0.2, 0.3, 0.8])
    a = torch.tensor([0.01, 0.02, -0.03, 0.0, 0.0, 0.0, 0.5])
    out = roll_state(s, a)
    np.testing.assert_allclose(out[:3].numpy(), [0.51, 0.02, 0.27], atol=1e-7)
    np.testing.assert_allclose(out[3:6].numpy(), s[3:6].numpy())  # no rotation delta
    assert float(out[6]) == 1.0  # closedness clamps at 1
    e = torch.tensor([[0.3, -0.4, 1.2], [0.0, 0.1, -0.2]])
    np.testing.assert_allclose(matrix_to_euler(euler_to_matrix(e)).numpy(), e.numpy(),
                               atol=1e-6)
    a_rot = torch.tensor([0.0, 0.0, 0.0, 0.0, 0.0, 0.2, 0.0])
    r = roll_state(torch.zeros(7), a_rot)  # a pure yaw from identity is just the yaw
    np.testing.assert_allclose(r[3:6].numpy(), [0.0, 0.0, 0.2], atol=1e-6)
    r2 = roll_state(r, a_rot)
    np.testing.assert_allclose(r2[3:6].numpy(), [0.0, 0.0, 0.4], atol=1e-6)


def test_energy_landscape_marks_the_known_minimum(toy, tmp_path):
    goal = toy.latent(goal_state([0.03, -0.02, 0.0]))
    ls = energy_landscape(toy, START, START, goal, np.zeros(7), axes=(0, 1), span=0.05,
                          resolution=11)
    assert ls.energies.shape == (11, 11)
    assert ls.minimum == pytest.approx((0.03, -0.02))
    assert ls.chosen == (0.0, 0.0) and ls.chosen_energy > ls.minimum_energy
    png = save_landscape_png(ls, tmp_path / 'landscape.png')
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert ls.to_dict()['axes'] == ['dx', 'dy']
    with pytest.raises(ValueError, match='axes'):
        energy_landscape(toy, START, START, goal, np.zeros(7), axes=(0, 0))


def test_rotation_is_optional_and_limited(toy):
    cfg = PlannerConfig(horizon=2, samples=50, iterations=2, seed=0, optimize_rotation=True,
                        rotation_maxnorm=0.3, max_rotation=0.1)
    plan = CEMPlanner(toy, cfg).plan(START, START, toy.latent(START))
    norms = np.linalg.norm(plan.actions[:, 3:6], axis=1)
    assert np.all(norms <= 0.1 + 1e-9) and np.any(norms > 0)
    off = CEMPlanner(toy, dataclasses.replace(cfg, optimize_rotation=False))
    assert np.all(off.plan(START, START, toy.latent(START)).actions[:, 3:6] == 0)


def test_config_from_command_line():
    import argparse
    from jepa_ros.utils.config import add_arguments, from_args
    parser = add_arguments(argparse.ArgumentParser(), PlannerConfig)
    args = parser.parse_args(['--samples', '64', '--stop-energy', '0.1', '--workspace-max',
                              '1', '1', '1', '--no-warm-start', '--method', 'mppi'])
    cfg = from_args(PlannerConfig, args)
    assert (cfg.samples, cfg.stop_energy, cfg.workspace_max) == (64, 0.1, (1.0, 1.0, 1.0))
    assert not cfg.warm_start and isinstance(make_planner(None, cfg), MPPIPlanner)


def test_a_repeated_goal_image_is_encoded_once(toy, monkeypatch):
    calls = []
    original = toy.encode
    monkeypatch.setattr(toy, 'encode', lambda x: calls.append(1) or original(x))
    planner = CEMPlanner(toy, PlannerConfig(horizon=1, samples=20, iterations=1))
    goal = goal_state([0.01, 0, 0])
    for _ in range(3):
        planner.plan(START, START, goal)
    assert len(calls) == 3 + 1  # the observation every time, the goal once
    goal[0] += 0.01  # same array, new content: encoded again
    planner.plan(START, START, goal)
    assert len(calls) == 4 + 2
