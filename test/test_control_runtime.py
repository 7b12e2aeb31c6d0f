# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""The pure MPC runtime the planner node and eval share: ages, holds, limits, the loop thread."""

import json
import threading
import time
from types import SimpleNamespace

from jepa_ros.control import action_to_command, command_to_action, limit_command, MPCNodeConfig
from jepa_ros.control.loop import PeriodicThread
from jepa_ros.control.profiles import chosen_fields, MODEL_FIELDS, planner_settings, PROFILES
from jepa_ros.control.runtime import MPCRuntime, NO_GOAL
from jepa_ros.ros.launch_params import given_overrides
from jepa_ros.utils.config import ConfigError
import numpy as np
import pytest

STATE6 = np.array([0.5, 0.0, 0.3, np.pi, 0.0, 0.0])
WORKSPACE = ((0.25, -0.35, 0.03), (0.75, 0.35, 0.55))


class StubPlanner:
    """Always plans ``action``; ``delay`` advances the fake clock as if planning took time."""

    def __init__(self, action, clock=None, delay=0.0):
        self.action = np.asarray(action, dtype=np.float64)
        self.clock, self.delay = clock, delay
        self.calls, self.resets = 0, 0
        self.config = SimpleNamespace(workspace_min=WORKSPACE[0], workspace_max=WORKSPACE[1])

    def reset(self):
        self.resets += 1

    def plan(self, image, state, goal):
        self.calls += 1
        if self.clock is not None:
            self.clock[0] += self.delay
        return SimpleNamespace(ok=True, reason='', first_action=self.action, ms=1.0,
                               iterations=1, final_energy=0.1, current_energy=0.2, goal_index=0,
                               goal_reached=False, method='stub', notes=[], ee_path=np.zeros(
                                   (2, 3)), actions=self.action[None])


class StubModel:
    def encode(self, goal):
        return ('encoded', goal.shape)


def _runtime(action=(0.01, 0.0, 0.0, 0, 0, 0, 0.0), delay=0.0, **cfg):
    clock = [100.0]
    planner = StubPlanner(action, clock, delay)
    rt = MPCRuntime(planner, StubModel(), MPCNodeConfig(**cfg), WORKSPACE,
                    time_fn=lambda: clock[0])
    return rt, clock, planner


def _feed(rt, clock, image_stamp=None, pose_stamp=None):
    img = np.zeros((8, 8, 3), np.uint8)
    rt.image(img, stamp=clock[0] if image_stamp is None else image_stamp)
    rt.pose(STATE6, stamp=clock[0] if pose_stamp is None else pose_stamp)
    rt.gripper(0.0)


def test_holds_until_inputs_and_goal_then_commands_within_limits():
    rt, clock, planner = _runtime()
    assert rt.step(clock_now=clock[0]).reason == 'no camera frame received yet'
    rt.image(np.zeros((8, 8, 3), np.uint8), stamp=clock[0])
    assert rt.step(clock_now=clock[0]).reason == 'no end-effector pose received yet'
    rt.pose(STATE6, stamp=clock[0])
    assert rt.step(clock_now=clock[0]).reason == NO_GOAL and planner.calls == 0
    rt.set_goal(np.zeros((8, 8, 3), np.uint8), 'test')
    result = rt.step(clock_now=clock[0])
    assert not result.hold and planner.calls == 1 and planner.resets == 1
    np.testing.assert_allclose(result.action, [0.01, 0, 0, 0, 0, 0, 0], atol=1e-9)
    assert result.diagnostics['plan_ms'] == 1.0 and rt.goal_arg == ('encoded', (8, 8, 3))
    rt.step(clock_now=clock[0])
    assert planner.resets == 1        # same goal: warm start kept, goal not re-encoded
    rt.clear_goal()
    assert rt.step(clock_now=clock[0]).reason == NO_GOAL


def test_frame_age_counts_from_the_header_stamp_when_it_is_older():
    rt, clock, _ = _runtime(image_timeout_s=0.5)
    rt.set_goal(np.zeros((8, 8, 3), np.uint8), 'test')
    _feed(rt, clock, image_stamp=clock[0] - 0.9)     # received now, stamped 0.9 s ago
    result = rt.step(clock_now=clock[0])
    assert result.hold and 'by its header stamp' in result.reason, result.reason
    _feed(rt, clock, image_stamp=0.0)                # no stamp: receipt time counts
    assert not rt.step(clock_now=clock[0]).hold
    clock[0] += 0.6                                  # nothing new for 0.6 s
    assert 'camera frame is stale (0.60 s old > 0.50 s)' in rt.step(clock_now=clock[0]).reason


def test_stale_pose_and_a_plan_that_outlives_its_frame_give_holds():
    rt, clock, _ = _runtime(pose_timeout_s=0.3)
    rt.set_goal(np.zeros((8, 8, 3), np.uint8), 'test')
    _feed(rt, clock, pose_stamp=clock[0] - 1.0)
    assert 'end-effector pose is stale' in rt.step(clock_now=clock[0]).reason
    slow, clock, _ = _runtime(delay=0.8, image_timeout_s=0.5)
    slow.set_goal(np.zeros((8, 8, 3), np.uint8), 'test')
    _feed(slow, clock)
    result = slow.step(clock_now=clock[0])
    assert result.hold and 'became stale while planning' in result.reason
    assert result.plan is not None                  # the plan is still reported (RViz)


def test_commands_are_limited_and_the_action_is_what_the_command_asks():
    rt, clock, _ = _runtime(action=(0.2, 0.2, 0.0, 0, 0, 0.5, 2.0), max_linear_speed=0.5,
                            rate_hz=10.0)
    rt.set_goal(np.zeros((8, 8, 3), np.uint8), 'test')
    _feed(rt, clock)
    result = rt.step(clock_now=clock[0])
    assert not result.hold
    assert np.linalg.norm(result.action[:3]) <= 0.05 + 1e-9        # 0.5 m/s x 0.1 s
    assert 0.0 <= result.state[6] + result.action[6] <= 1.0
    far, clock, _ = _runtime()
    far.set_goal(np.zeros((8, 8, 3), np.uint8), 'test')
    far.image(np.zeros((8, 8, 3), np.uint8), stamp=clock[0])
    far.pose(np.array([1e6, 0, 0.3, np.pi, 0, 0]), stamp=clock[0])
    assert 'not trusted' in far.step(clock_now=clock[0]).reason


@pytest.mark.parametrize('action', [(0.02, -0.01, 0.005, 0.0, 0.0, 0.1, 0.3),  # gripper 0.6 -> 0.9
                                    (0.0, 0.0, 0.0, 0.05, -0.05, -0.2, -0.5)])
def test_command_to_action_inverts_action_to_command(action):
    state = np.array([0.5, 0.1, 0.3, np.pi - 0.05, 0.02, 0.3, 0.6])
    cmd = action_to_command(state, np.array(action), 0.2)
    cmd, _ = limit_command(cmd, state, 1.0, 2.0, *WORKSPACE)
    np.testing.assert_allclose(command_to_action(state, cmd), action, atol=1e-9)


def test_periodic_thread_keeps_its_rate_and_stops_within_a_period():
    ticks = []
    loop = PeriodicThread(0.05, lambda: ticks.append(time.monotonic()))
    loop.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    assert loop.stop(timeout=0.05) and time.monotonic() - t0 < 0.1
    assert 6 <= len(ticks) <= 12, len(ticks)
    busy = threading.Event()
    slow = PeriodicThread(0.01, lambda: busy.wait(0.05))
    slow.start()
    time.sleep(0.3)
    slow.stop()
    assert slow.overruns > 0          # an overrunning step starts the next at once, no backlog


def test_profile_precedence_device_then_model_then_user(tmp_path):
    assert planner_settings('auto', 'cpu') == PROFILES['cpu']
    assert planner_settings('auto', 'cuda:0') == PROFILES['cuda'] == {}
    assert planner_settings('none', 'cpu') == {}
    mine = planner_settings('auto', 'cpu', user={'samples': 17})
    assert mine['samples'] == 17 and mine['horizon'] == 1
    (tmp_path / 'config.json').write_text(json.dumps({'extra': {'planner': {'samples': 99,
                                                                            'horizon': 3}}}))
    (tmp_path / 'model.safetensors').write_bytes(b'')
    rec = planner_settings('cpu', 'cpu', str(tmp_path), user={'horizon': 2})
    assert rec['samples'] == 99 and rec['horizon'] == 2 and rec['iterations'] == 3
    with pytest.raises(ConfigError, match='planner_profile'):
        planner_settings('gpu', 'cpu')


def test_shipped_params_file_leaves_the_profile_fields_to_the_profile(project_root):
    import yaml
    params = yaml.safe_load((project_root / 'config' / 'planner.yaml').read_text())
    planner = params['planner_node']['ros__parameters']['planner']
    assert not set(chosen_fields()) & set(planner)
    assert {k for p in PROFILES.values() for k in p} <= set(chosen_fields())
    # a model may only recommend fields the params file leaves open
    for config in (project_root / 'jepa_ros' / 'assets' / 'models').glob('*/config.json'):
        rec = (json.loads(config.read_text()).get('extra') or {}).get('planner') or {}
        assert set(rec) <= set(MODEL_FIELDS), (config, rec)
    assert params['planner_node']['ros__parameters']['planner_profile'] == 'auto'


def test_launch_arguments_only_override_what_was_given():
    values = {'checkpoint': '', 'device': 'cuda', 'use_sim_time': 'true', 'command_mode': ' '}
    got = given_overrides(values, {'checkpoint': 'checkpoint', 'device': 'device',
                                   'use_sim_time': 'use_sim_time', 'command_mode': 'mode'},
                          bools=('use_sim_time',))
    assert got == {'device': 'cuda', 'use_sim_time': True}
    with pytest.raises(ValueError, match='true or false'):
        given_overrides({'use_sim_time': 'maybe'}, {'use_sim_time': 'use_sim_time'},
                        bools=('use_sim_time',))


def test_sim_demo_launch_derives_a_multi_view_models_cameras(tmp_path):
    from jepa_ros.ros.launch_params import model_sim_views, sim_view_overrides

    def model(name, cameras):
        d = tmp_path / name
        d.mkdir()
        (d / 'config.json').write_text(json.dumps({'format': 'jepa_ros.models', 'version': 1,
                                                   'extra': {'cameras': cameras}}))
        return str(d)
    two, one, side_first = (model('two', ['front', 'side']), model('one', ['front']),
                            model('side_first', ['side', 'front']))
    assert sim_view_overrides({'checkpoint': two}) == {
        'sim': {'extra_cameras': 'side'},
        'planner': {'image_topics': 'camera/image_raw camera_side/image_raw'}}
    # one view, an official .pt, or cameras the user named: nothing is derived
    empty = {'sim': {}, 'planner': {}}
    assert sim_view_overrides({'checkpoint': one}) == empty
    assert sim_view_overrides({'checkpoint': '/x/vitg.pt'}) == empty
    assert sim_view_overrides({'checkpoint': two, 'image_topics': 'a b'}) == empty
    with pytest.raises(ValueError, match="first view .* is camera 'side'"):
        model_sim_views(side_first)


# ---------------------------------------------------------------- one definition of an action
def test_one_apply_action_for_sim_commands_data_and_the_planner_rollout():
    import torch
    from jepa_ros.control import integrate_state
    from jepa_ros.data.episode import actions_from_states
    from jepa_ros.planning.geometry import roll_state
    from jepa_ros.sim.geometry import action_between, apply_action
    rng = np.random.default_rng(3)
    for _ in range(20):
        rpy = rng.uniform(-0.6, 0.6, 3) + [np.pi, 0, 0]
        state = np.concatenate([rng.uniform(0.2, 0.6, 3), rpy, rng.uniform(0, 1, 1)])
        state[3:6] = np.arctan2(np.sin(state[3:6]), np.cos(state[3:6]))
        action = np.concatenate([rng.uniform(-0.05, 0.05, 3), rng.uniform(-0.3, 0.3, 3),
                                 rng.uniform(-0.5, 0.5, 1)])
        nxt = apply_action(state, action)
        rolled = roll_state(torch.tensor(state), torch.tensor(action)).numpy()
        np.testing.assert_allclose(nxt, rolled, atol=1e-9)          # the planner agrees
        np.testing.assert_allclose(integrate_state(state, action), nxt)   # and the commands
        back = action_between(state, nxt)
        np.testing.assert_allclose(apply_action(state, back), nxt, atol=1e-9)
        np.testing.assert_allclose(actions_from_states(np.stack([state, nxt]))[0], back,
                                   atol=1e-5)                        # and the data


def test_the_sim_carries_out_a_rotation_action_as_apply_action_says():
    from jepa_ros.sim import SimArm, SimConfig
    from jepa_ros.sim.geometry import apply_action, euler_to_mat, rotation_error
    with SimArm(SimConfig(image_size=64)) as sim:
        sim.reset(seed=0, render=False)
        state = sim.ee_state()
        action = np.array([0.01, 0.0, 0.0, 0.05, -0.05, 0.08, 0.0])
        expected = apply_action(state, action)
        sim.step(action, render=False)
        info = sim.last_step_info
        assert not info['clamped'], info['clamped']
        np.testing.assert_allclose(info['target_pos'], expected[:3], atol=1e-9)
        target = euler_to_mat(info['target_rpy'])
        assert np.linalg.norm(rotation_error(euler_to_mat(expected[3:6]), target)) < 1e-9
        for _ in range(3):   # and the servos get there
            sim.hold(render=False)
        got = sim.ee_state()
    assert np.linalg.norm(rotation_error(euler_to_mat(expected[3:6]),
                                         euler_to_mat(got[3:6]))) < 0.02, (expected, got)
