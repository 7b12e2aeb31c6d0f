# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""The grasp check: fingers stopped by an object, sub-goals that need it in hand, the squeeze."""

from types import SimpleNamespace

from jepa_ros.control import MPCNodeConfig
from jepa_ros.control.grasp import GraspCheck
from jepa_ros.control.runtime import MPCRuntime
from jepa_ros.planning import GoalSequence
import numpy as np
import pytest

STATE6 = np.array([0.5, 0.0, 0.3, np.pi, 0.0, 0.0])
WORKSPACE = ((0.25, -0.35, 0.03), (0.75, 0.35, 0.55))


def test_fingers_stopped_short_of_the_command_hold_something():
    check = GraspCheck()
    assert check.holding(1.0, 0.54)          # the simulated cube: 3.7 of 8 cm left open
    assert check.holding(0.74, 0.51)         # not fully commanded, still blocked
    assert not check.holding(1.0, 0.99)      # closed on nothing
    assert not check.holding(0.0, 0.0)       # open
    assert not check.holding(0.3, 0.05)      # not trying to hold
    assert not check.holding(1.0, 0.1)       # fingers barely moved yet
    assert not check.holding(float('nan'), 0.5) and not check.holding(1.0, float('nan'))


def _seq(**kw):
    return GoalSequence(['grasp', 'carry', 'place'], max_steps=3,
                        needs_hold=(False, True, False), **kw)


def _run(seq, holding, energy=1.0):
    """Feed one plan's worth of the rule; return the active index after it."""
    seq.holding = holding
    seq.update(energy, None, 0)
    seq.steps += 1
    return seq.index


def test_a_grasp_is_left_only_once_the_fingers_hold_and_a_drop_goes_back():
    seq = _seq()
    # The budget (3) is spent on the grasp, but nothing is held: stay.
    assert [_run(seq, False) for _ in range(6)] == [0] * 6
    # One held step is not enough (a finger passing the cube); two are.
    assert [_run(seq, h) for h in (True, False, True, True)] == [0, 0, 0, 1]
    assert seq.gripper_latched
    # Carry with the cube: the usual budget (the switching plan counts) moves on to place.
    assert [_run(seq, True) for _ in range(3)] == [1, 1, 2]
    assert not seq.gripper_latched            # the place sub-goal may open the gripper

    dropped = _seq()
    for h in (True, True):
        _run(dropped, h)
    assert dropped.index == 1
    assert [_run(dropped, h) for h in (False, False)] == [1, 0]   # lost for 2 plans: regrasp
    assert dropped.regrasps == 1 and not dropped.gripper_latched


def test_without_a_finger_reading_the_sequence_keeps_its_usual_rule():
    seq = _seq()
    assert [_run(seq, None) for _ in range(7)] == [0, 0, 0, 1, 1, 1, 2]
    plain = GoalSequence(['a', 'b'], max_steps=1)
    assert plain.needs_hold == (False, False) and not plain.uses_hold


def test_bad_hold_flags_are_refused():
    with pytest.raises(ValueError, match='2 flags for 3'):
        GoalSequence(['a', 'b', 'c'], needs_hold=(False, True))
    with pytest.raises(ValueError, match='first sub-goal'):
        GoalSequence(['a', 'b'], needs_hold=(True, False))


class _Planner:
    """Plans ``action`` and applies the sequence's rule like the real planner does."""

    def __init__(self, action):
        self.action = np.asarray(action, dtype=np.float64)
        self.config = SimpleNamespace(workspace_min=WORKSPACE[0], workspace_max=WORKSPACE[1])

    def reset(self):
        pass

    def plan(self, image, state, goal):
        goal.update(1.0, None, 0)
        goal.steps += 1
        return SimpleNamespace(ok=True, reason='', first_action=self.action, ms=1.0,
                               iterations=1, final_energy=0.1, current_energy=0.2,
                               goal_index=goal.index, goal_reached=False, method='stub',
                               notes=[], ee_path=np.zeros((2, 3)), actions=self.action[None])


def test_runtime_squeezes_while_the_object_must_stay_in_hand():
    clock = [10.0]
    planner = _Planner((0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5))   # closing
    rt = MPCRuntime(planner, None, MPCNodeConfig(), WORKSPACE, time_fn=lambda: clock[0])
    seq = GoalSequence(['grasp', 'carry'], needs_hold=(False, True))
    rt.set_goal(seq, 'test')

    def step(measured, gripper_state):
        clock[0] += 0.2
        rt.image(np.zeros((8, 8, 3), np.uint8), stamp=clock[0])
        rt.pose(STATE6, stamp=clock[0])
        rt.gripper(gripper_state)
        rt.fingers(measured)
        return rt.step(clock_now=clock[0])

    assert step(0.0, 0.0).command.gripper == pytest.approx(0.5)
    assert step(0.4, 0.4).command.gripper == pytest.approx(0.9)   # closing, nothing held yet
    step(0.54, 0.54)               # told 0.9, stopped at 0.54: held once
    assert seq.index == 0
    step(0.54, 0.54)
    assert seq.index == 1 and seq.gripper_latched and rt.holding() is True
    planner.action = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.3])   # now it would open
    assert step(0.54, 0.54).command.gripper == pytest.approx(1.0)     # squeezed instead
    # Without the hold (a plain sequence) the same plan opens the gripper.
    rt.set_goal(GoalSequence(['grasp', 'carry']), 'plain')
    assert step(0.54, 0.54).command.gripper == pytest.approx(0.24)
    rt.forget_commands()
    rt.fingers(None)
    assert rt.holding() is None


def test_node_config_takes_one_hold_flag_per_goal_file():
    from jepa_ros.utils.config import ConfigError, from_dict
    cfg = from_dict(MPCNodeConfig, {'subgoal_image_paths': 'grasp.png carry.png',
                                    'goal_image_path': 'place.png',
                                    'subgoal_needs_hold': 'false true false'})
    assert cfg.subgoal_needs_hold == (False, True, False)
    with pytest.raises(ConfigError, match='2 flags for 3 goal images'):
        from_dict(MPCNodeConfig, {'subgoal_image_paths': ['a.png', 'b.png', 'c.png'],
                                  'subgoal_needs_hold': [False, True]})
    with pytest.raises(ConfigError, match='first goal image'):
        from_dict(MPCNodeConfig, {'subgoal_image_paths': ['a.png', 'b.png'],
                                  'subgoal_needs_hold': [True, False]})
