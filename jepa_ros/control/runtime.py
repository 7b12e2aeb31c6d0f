# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
The MPC controller both ``planner_node`` and ``jepa-ros eval`` drive: inputs in, one command out.

``MPCRuntime`` keeps the latest inputs (each with its header stamp and receipt time), the goal,
the planner and the limits. ``step(now, clock_now)`` returns a :class:`StepResult`: the command
to send, or a hold with its reason. The ROS layer only converts messages and runs the loop; the
evaluation loop feeds it simulator observations and applies ``result.action`` to the sim, so
eval measures what the robot gets, limits included.

Two clocks: ``now`` is ``time_fn()`` (``time.monotonic`` on a robot, the sim's clock in eval:
receipt times, timeouts), ``clock_now`` the clock of
the header stamps (ROS time, or sim time with ``use_sim_time``). An input's age is the larger of
"since it arrived" and "since its stamp": a frame delivered late is as old as its stamp says. A
stamp of 0 (drivers that leave it empty) counts by receipt alone.
"""

from dataclasses import dataclass, field
import math
import threading
import time
from typing import Optional

from jepa_ros.control.commands import (action_to_command, ArmCommand, command_to_action,
                                       hold_command, limit_command)
from jepa_ros.control.grasp import GraspCheck
import numpy as np

NO_GOAL = ('no goal: publish an image on goal_image, call ~/capture_goal or set '
           'goal_image_path')


@dataclass
class StepResult:
    """What one control period decided."""

    command: ArmCommand
    action: np.ndarray                      # (7,) the state change the command asks for
    plan: object = None                     # the planner's Plan, when one ran
    notes: list = field(default_factory=list)
    diagnostics: dict = field(default_factory=dict)
    image: Optional[np.ndarray] = None      # the observation planned on
    state: Optional[np.ndarray] = None

    @property
    def hold(self) -> bool:
        """Return True when the arm is told to hold still."""
        return bool(self.command.hold)

    @property
    def reason(self) -> str:
        """Return why the arm holds ('' for a motion)."""
        return self.command.reason


class _Stamped:
    """One input: its value, header stamp (clock s, 0 = none) and receipt time (monotonic s)."""

    __slots__ = ('value', 'stamp', 'receipt')

    def __init__(self):
        self.value, self.stamp, self.receipt = None, 0.0, -math.inf

    def update(self, value, stamp, receipt):
        self.value, self.stamp, self.receipt = value, float(stamp or 0.0), float(receipt)

    def age(self, now, clock_now):
        """Return (age in s, 'stamp' or 'receipt': which measure it is)."""
        by_receipt = now - self.receipt
        if self.stamp > 0 and clock_now is not None and clock_now - self.stamp > by_receipt:
            return clock_now - self.stamp, 'stamp'
        return by_receipt, 'receipt'


class MPCRuntime:
    """
    Latest inputs, the goal and one ``step`` that returns a limited command or a hold.

    ``cfg`` is an :class:`jepa_ros.control.config.MPCNodeConfig`; ``workspace`` the planner's
    (min, max) box. ``sync`` (a ViewSync) takes the frames of several cameras; ``ik`` (ArmIK)
    turns commands into joints for ``command_mode: joint_trajectory``. Thread-safe: inputs may
    arrive from other threads while ``step`` plans.
    """

    def __init__(self, planner, world_model, cfg, workspace=(None, None), sync=None, ik=None,
                 time_fn=time.monotonic):
        self.time_fn = time_fn
        self.planner = planner
        self.world_model = world_model
        self.cfg = cfg
        self.workspace = workspace
        self.sync = sync
        self.ik = ik
        self.lock = threading.Lock()
        self._image = _Stamped()
        self._pose = _Stamped()
        self._gripper = 0.0
        self.gripper_seen = False
        self._fingers = None          # measured closure, for the grasp check
        self._sent_gripper = None     # closure of the last command this runtime returned
        self.grasp_check = GraspCheck()
        self.joints = {}
        self.goal = None
        self.goal_version = 0
        self.goal_source = ''
        self._planned_version = -1
        self.goal_arg = None
        self.tick = 0
        self.rate_hz = float('nan')
        self._last_tick_t = None

    # ------------------------------------------------------------------ inputs
    def image(self, img, stamp=0.0, now=None):
        """Take a camera frame already fitted to the model input."""
        with self.lock:
            self._image.update(img, stamp, self.time_fn() if now is None else now)

    def view(self, index, img, stamp=0.0, now=None):
        """Take a frame of camera ``index`` (multi-view models)."""
        with self.lock:
            self.sync.add(index, stamp, img, self.time_fn() if now is None else now)

    def pose(self, state6, stamp=0.0, now=None):
        """Take the end-effector pose [x, y, z, roll, pitch, yaw]."""
        with self.lock:
            self._pose.update(np.asarray(state6, dtype=np.float64), stamp,
                              self.time_fn() if now is None else now)

    def gripper(self, value):
        """Take the gripper closure (0 open .. 1 closed)."""
        with self.lock:
            self._gripper = float(value)
            self.gripper_seen = True

    def fingers(self, measured):
        """
        Take the measured finger closure (0 open .. 1 closed) for the grasp check.

        Sub-goals that need an object in hand (GoalSequence ``needs_hold``) use it; without
        it they switch on energy and budget alone.
        """
        with self.lock:
            self._fingers = None if measured is None else float(measured)

    def forget_commands(self):
        """Forget the last command's gripper closure (the gripper was reset, e.g. an episode)."""
        with self.lock:
            self._sent_gripper = None

    def holding(self, state=None) -> Optional[bool]:
        """Return whether the fingers hold something (None before any finger measurement)."""
        with self.lock:
            fingers, sent = self._fingers, self._sent_gripper
            if state is None:
                state = self._state()
        if fingers is None:
            return None
        commanded = sent if sent is not None else (
            float(state[6]) if state is not None and len(state) > 6 else float('nan'))
        return self.grasp_check.holding(commanded, fingers)

    def joint_positions(self, positions):
        """Take joint positions {name: rad} (IK seeds in joint_trajectory mode)."""
        with self.lock:
            self.joints.update(positions)

    def set_goal(self, goal, source):
        """Plan towards ``goal`` (an image, (V, S, S, 3) views, or a GoalSequence)."""
        with self.lock:
            self.goal, self.goal_source = goal, source
            self.goal_version += 1

    def clear_goal(self):
        """Forget the goal: the arm holds still."""
        self.set_goal(None, '')

    def state(self):
        """Return the latest 7-D state [pose6, gripper], or None before the first pose."""
        with self.lock:
            return self._state()

    def _state(self):
        pose = self._pose.value
        return None if pose is None else np.concatenate([pose, [self._gripper]])

    def latest_image(self, now=None, clock_now=None):
        """Return (a copy of the observation a plan would use now, None) or (None, reason)."""
        now = self.time_fn() if now is None else now
        with self.lock:
            found, reason = self._observation(now, clock_now)
        return (None, reason) if found is None else (np.array(found[0]), None)

    # ------------------------------------------------------------------ checks
    def _observation(self, now, clock_now):
        """Return ((observation, stamp, receipt), None) or (None, why there is none)."""
        timeout = self.cfg.image_timeout_s
        if self.sync is not None:
            views, why = self.sync.get(now, timeout)
            if views is None:
                return None, why
            stamp, receipt = min(views.stamps), views.receipt_t
            age = now - receipt
            if clock_now is not None and stamp > 0:
                age = max(age, clock_now - stamp)
            if age > timeout:
                return None, f'camera frames are stale ({age:.2f} s old > {timeout:.2f} s)'
            return (views.stacked(), stamp, receipt), None
        if self._image.value is None:
            return None, 'no camera frame received yet'
        age, how = self._image.age(now, clock_now)
        if age > timeout:
            by = ' by its header stamp' if how == 'stamp' else ''
            return None, f'camera frame is stale ({age:.2f} s old{by} > {timeout:.2f} s)'
        return (self._image.value, self._image.stamp, self._image.receipt), None

    def _pose_reason(self, now, clock_now):
        if self._pose.value is None:
            return 'no end-effector pose received yet'
        age, how = self._pose.age(now, clock_now)
        if age > self.cfg.pose_timeout_s:
            by = ' by its header stamp' if how == 'stamp' else ''
            return (f'end-effector pose is stale ({age:.2f} s old{by} > '
                    f'{self.cfg.pose_timeout_s:.2f} s)')
        return None

    def hold_reason(self, now=None, clock_now=None) -> Optional[str]:
        """Return why the arm must hold now (stale or missing inputs, no goal), or None."""
        now = self.time_fn() if now is None else now
        with self.lock:
            _, reason = self._observation(now, clock_now)
            reason = reason or self._pose_reason(now, clock_now)
            if reason is None and self.goal is None:
                reason = NO_GOAL
        return reason

    def stale_reason(self, image_stamp, image_receipt, now, clock_now) -> Optional[str]:
        """Return why a frame planned on is too old to act on now, or None."""
        age = now - image_receipt
        if image_stamp > 0 and clock_now is not None:
            age = max(age, clock_now - image_stamp)
        if age > self.cfg.image_timeout_s:
            return (f'camera frame became stale while planning ({age:.2f} s old > '
                    f'image_timeout_s {self.cfg.image_timeout_s:g})')
        return None

    # ------------------------------------------------------------------ the step
    def hold(self, reason, state=None, diagnostics=None) -> StepResult:
        """Return a hold-still result at ``state`` (the latest one when not given)."""
        if state is None:
            state = self.state()
        cmd = hold_command(state if state is not None else np.full(7, np.nan),
                           self.cfg.period_s, reason)
        diag = dict(diagnostics or {}, hold=True, reason=reason)
        return StepResult(command=cmd, action=np.zeros(7), diagnostics=diag, state=state)

    def step(self, now=None, clock_now=None) -> StepResult:
        """Plan on the latest inputs and return the limited command, or a hold with its reason."""
        now = self.time_fn() if now is None else now
        if self._last_tick_t is not None and now > self._last_tick_t:
            dt = now - self._last_tick_t
            self.rate_hz = 1.0 / dt if math.isnan(self.rate_hz) else \
                0.8 * self.rate_hz + 0.2 / dt
        self._last_tick_t = now
        self.tick += 1
        diag = {'tick': self.tick, 'rate_hz': self.rate_hz, 'mode': self.cfg.command_mode}
        with self.lock:
            found, reason = self._observation(now, clock_now)
            reason = reason or self._pose_reason(now, clock_now)
            state = self._state()
            goal, version, source = self.goal, self.goal_version, self.goal_source
            joints = [self.joints.get(n) for n in self.cfg.trajectory_joints]
        if reason is None and goal is None:
            reason = NO_GOAL
        if reason is not None:
            return self.hold(reason, state, diag)
        obs, image_stamp, image_receipt = found
        holding = self.holding(state)
        diag['holding'] = holding     # the grasp check (None: no finger reading yet)
        try:
            plan = self._plan(obs, state, goal, version, holding)
        except Exception as exc:  # noqa: B902 - a planner failure must never move the arm
            return self.hold(f'planner error: {type(exc).__name__}: {exc}', state, diag)
        diag.update(plan_ms=plan.ms, iterations=plan.iterations, energy=plan.final_energy,
                    current_energy=plan.current_energy, goal_index=plan.goal_index,
                    goal_reached=plan.goal_reached, goal_source=source, method=plan.method,
                    plan_reason=plan.reason)
        if not plan.ok:
            result = self.hold(plan.reason, state, diag)
            result.plan, result.image = plan, obs
            return result
        after = self.time_fn()   # planning took time: is the frame still fresh enough to act?
        stale = self.stale_reason(image_stamp, image_receipt, after,
                                  None if clock_now is None else clock_now + (after - now))
        if stale:
            result = self.hold(f'{stale}; planning took {plan.ms:.0f} ms: raise '
                               'image_timeout_s or plan faster (fewer planner.samples / '
                               'iterations / horizon, or a GPU)', state, diag)
            result.plan, result.image = plan, obs
            return result
        action = self._latch_gripper(plan.first_action, state, holding)
        cmd = action_to_command(state, action, self.cfg.period_s)
        cmd, notes = limit_command(cmd, state, self.cfg.max_linear_speed,
                                   self.cfg.max_angular_speed, *self.workspace)
        if cmd.hold:
            result = self.hold(cmd.reason, state, diag)
            result.plan, result.image, result.notes = plan, obs, notes
            return result
        if self.cfg.command_mode == 'joint_trajectory':
            if None in joints:
                missing = [n for n, v in zip(self.cfg.trajectory_joints, joints) if v is None]
                return self.hold(f'no joint command: joint_states has no position for '
                                 f'{missing}', state, diag)
            try:
                cmd.joint_positions = self.ik.solve(np.asarray(joints), cmd.target_pos,
                                                    cmd.target_quat)
            except ValueError as exc:
                return self.hold(f'no joint command: {exc}', state, diag)
        with self.lock:
            self._sent_gripper = float(cmd.gripper)
        diag.update(hold=False, reason='', first_action=plan.first_action.tolist(),
                    limit_notes=notes + list(plan.notes),
                    latency_ms=1e3 * (self.time_fn() - image_receipt))
        return StepResult(command=cmd, action=command_to_action(state, cmd), plan=plan,
                          notes=notes, diagnostics=diag, image=obs, state=state)

    def _plan(self, image, state, goal, version, holding=None):
        from jepa_ros.planning import GoalSequence
        if version != self._planned_version:  # new goal: encode it once, forget the warm start
            self.planner.reset()
            if isinstance(goal, GoalSequence):
                goal.reset()
                self.goal_arg = goal
            else:
                self.goal_arg = self.world_model.encode(goal)
            self._planned_version = version
        if isinstance(self.goal_arg, GoalSequence):
            self.goal_arg.holding = holding
        return self.planner.plan(image, state, self.goal_arg)

    def _latch_gripper(self, action, state, holding):
        """
        Squeeze (command full closure) while a sub-goal needs the object in hand.

        A grip commanded only part-way lets the cube slip while carrying (seen in eval at 0.68);
        and on a robot the state's closure is measured, stopped short by the object, so "no
        change" from it would loosen the grip.
        """
        goal = self.goal_arg
        if not (holding and getattr(goal, 'gripper_latched', False)) or len(action) < 7:
            return action
        action = np.array(action, dtype=np.float64)
        action[6] = 1.0 - float(state[6])
        return action
