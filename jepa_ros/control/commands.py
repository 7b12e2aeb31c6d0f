# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Turn a planned 7-D action into what an arm stack accepts.

A V-JEPA 2-AC action is the change of the end-effector state over one control period:
(dx, dy, dz [m], droll, dpitch, dyaw [rad], dgripper), in the arm's base frame. From it we derive a
Cartesian velocity (MoveIt Servo), an absolute pose target (Cartesian controllers), or, with IK,
joint positions (ros2_control's joint_trajectory_controller). A non-finite action never becomes
a motion.
"""

from dataclasses import dataclass
from typing import Optional

from jepa_ros.sim.geometry import action_between, apply_action, euler_to_mat
from jepa_ros.sim.geometry import rotation_error
import numpy as np
from transforms3d.euler import euler2quat, quat2euler
from transforms3d.quaternions import axangle2quat, qmult


@dataclass
class ArmCommand:
    """One control period's command in every form the ROS layer may publish."""

    linear_velocity: np.ndarray      # (3,) m/s in the base frame
    angular_velocity: np.ndarray     # (3,) rad/s in the base frame
    target_pos: np.ndarray           # (3,) m
    target_quat: np.ndarray          # (4,) w, x, y, z
    gripper: float                   # 0 open .. 1 closed
    duration_s: float
    hold: bool = False
    reason: str = ''
    joint_positions: Optional[np.ndarray] = None


def integrate_state(state, action):
    """Return the 7-D state after ``action`` (:func:`jepa_ros.sim.geometry.apply_action`)."""
    return apply_action(state, action)


def _angular_velocity(action, period_s):
    """Angular velocity (base frame) of the action's rotation: R(delta) over one period."""
    delta = np.asarray(action[3:6], dtype=np.float64)
    if not np.any(delta):
        return np.zeros(3)
    return rotation_error(euler_to_mat(delta), np.eye(3)) / period_s


def action_to_command(state, action, period_s: float) -> ArmCommand:
    """Convert a planned action at ``state`` into a command (hold if anything is non-finite)."""
    state = np.asarray(state, dtype=np.float64)
    action = np.asarray(action, dtype=np.float64)
    if state.shape != (7,) or action.shape != (7,):
        raise ValueError(f'state and action must have shape (7,), got {state.shape} '
                         f'and {action.shape}')
    if not np.isfinite(state).all():
        raise ValueError('current state is not finite: cannot form a command')
    if not np.isfinite(action).all() or not np.isfinite(period_s) or period_s <= 0:
        return hold_command(state, period_s, 'planned action is not finite')
    target = integrate_state(state, action)
    return ArmCommand(
        linear_velocity=action[:3] / period_s,
        angular_velocity=_angular_velocity(action, period_s),
        target_pos=target[:3],
        target_quat=np.asarray(euler2quat(*target[3:6], axes='sxyz')),
        gripper=float(target[6]),
        duration_s=period_s,
    )


def command_to_action(state, cmd: ArmCommand) -> np.ndarray:
    """
    Return the 7-D action (state change) that ``cmd`` asks for at ``state``; zeros for a hold.

    The inverse of :func:`action_to_command` after :func:`limit_command`: the evaluation loop
    applies this to the simulator, so it runs with the same limits as the robot.
    """
    if cmd.hold:
        return np.zeros(7)
    state = np.asarray(state, dtype=np.float64)
    target = np.concatenate([cmd.target_pos, quat2euler(cmd.target_quat, axes='sxyz'),
                             [cmd.gripper]])
    return action_between(state, target)


def hold_command(state, period_s: float, reason: str) -> ArmCommand:
    """Return the command that keeps the arm where it is (zero velocity, target = current pose)."""
    state = np.asarray(state, dtype=np.float64)
    finite = state.shape == (7,) and np.isfinite(state).all()
    pos = state[:3] if finite else np.full(3, np.nan)
    quat = np.asarray(euler2quat(*state[3:6], axes='sxyz')) if finite else np.full(4, np.nan)
    return ArmCommand(
        linear_velocity=np.zeros(3), angular_velocity=np.zeros(3), target_pos=pos,
        target_quat=quat, gripper=float(state[6]) if finite else float('nan'),
        duration_s=period_s if np.isfinite(period_s) and period_s > 0 else 0.0,
        hold=True, reason=reason)


# A measured pose this far outside the workspace box is a wrong pose, not a place to move from.
IMPLAUSIBLE_POSE_DISTANCE = 0.5   # m


def limit_command(cmd: ArmCommand, state, max_linear_speed: float, max_angular_speed: float,
                  workspace_min=None, workspace_max=None):
    """
    Return ``(command within the limits, notes)``: the last line of defence before publishing.

    Speeds are scaled down by their norm (direction kept), the pose target is moved to match the
    limited translation and clipped to the workspace box, and the gripper is clipped to 0..1. A
    command with anything non-finite becomes a hold at ``state``.
    """
    state = np.asarray(state, dtype=np.float64)
    if cmd.hold:
        return cmd, []
    values = np.concatenate([cmd.linear_velocity, cmd.angular_velocity, cmd.target_pos,
                             cmd.target_quat, [cmd.gripper, cmd.duration_s]])
    if not np.isfinite(values).all():
        return hold_command(state, cmd.duration_s, 'command is not finite'), \
            ['non-finite command replaced by hold']
    notes = []
    dt = float(cmd.duration_s)
    target = np.array(cmd.target_pos, dtype=np.float64)
    if workspace_min is not None and workspace_max is not None:
        lo, hi = np.asarray(workspace_min, float), np.asarray(workspace_max, float)
        outside = float(np.linalg.norm(np.maximum(lo - state[:3], 0)
                                       + np.maximum(state[:3] - hi, 0)))
        if outside > IMPLAUSIBLE_POSE_DISTANCE:
            # No arm is this far from its workspace: the pose is wrong (bad frame, units, a
            # broken driver), and a speed-limited move "back to the box" would still be a
            # full-speed move in a direction nobody chose.
            reason = (f'end-effector pose {np.round(state[:3], 3).tolist()} is {outside:.2f} m '
                      'outside the workspace: not trusted')
            return hold_command(state, cmd.duration_s, reason), [reason]
        clipped = np.clip(target, np.asarray(workspace_min, float),
                          np.asarray(workspace_max, float))
        if np.any(clipped != target):
            notes.append(f'target {np.round(target, 3).tolist()} clipped to the workspace')
            # clipping may move the target, never lengthen the step the planner limited
            step, new = np.linalg.norm(target - state[:3]), clipped - state[:3]
            if np.linalg.norm(new) > step:
                new *= step / max(np.linalg.norm(new), 1e-12)
            target = state[:3] + new
    lin = (target - state[:3]) / dt if dt > 0 else np.zeros(3)
    speed = float(np.linalg.norm(lin))
    if speed > max_linear_speed:
        lin *= max_linear_speed / speed
        target = state[:3] + lin * dt
        notes.append(f'linear speed {speed:.3f} m/s scaled to {max_linear_speed} m/s')
    ang = np.array(cmd.angular_velocity, dtype=np.float64)
    quat = np.array(cmd.target_quat, dtype=np.float64)
    rate = float(np.linalg.norm(ang))
    if rate > max_angular_speed:
        ang *= max_angular_speed / rate
        notes.append(f'angular speed {rate:.3f} rad/s scaled to {max_angular_speed} rad/s')
        # the orientation target must match the limited rate: rotate the current one by it
        q0 = euler2quat(*state[3:6], axes='sxyz')
        quat = qmult(axangle2quat(ang / max_angular_speed, max_angular_speed * dt), q0)
    gripper = float(np.clip(cmd.gripper, 0.0, 1.0))
    return ArmCommand(linear_velocity=lin, angular_velocity=ang, target_pos=target,
                      target_quat=np.asarray(quat, dtype=np.float64), gripper=gripper,
                      duration_s=cmd.duration_s, hold=False, reason=cmd.reason,
                      joint_positions=cmd.joint_positions), notes


# Camera images outside these bounds are refused rather than cropped to a sliver and scaled up.
MIN_IMAGE_SIDE = 8          # pixels
MAX_ASPECT_RATIO = 4.0      # longer side / shorter side


def check_image_shape(img):
    """Raise ValueError for an image a model should not see: empty, tiny or a thin strip."""
    shape = np.shape(img)
    if len(shape) != 3 or shape[2] != 3:
        raise ValueError(f'expected an (H, W, 3) image, got shape {tuple(shape)}')
    h, w = int(shape[0]), int(shape[1])
    if h == 0 or w == 0:
        raise ValueError(f'empty image ({w} x {h} pixels)')
    if min(h, w) < MIN_IMAGE_SIDE:
        raise ValueError(f'image of {w} x {h} pixels is too small (each side needs >= '
                         f'{MIN_IMAGE_SIDE} px)')
    if max(h, w) / min(h, w) > MAX_ASPECT_RATIO:
        raise ValueError(f'image of {w} x {h} pixels has an aspect ratio of '
                         f'{max(h, w) / min(h, w):.0f}:1 (at most {MAX_ASPECT_RATIO:g}:1 is '
                         'accepted): is the camera driver sending the right width and height?')


def fit_image(img, size: int, mode: str = 'crop'):
    """
    Return an (H, W, 3) uint8 image as (size, size, 3), the model's input size.

    'crop' centre-crops to a square first (keeps the aspect ratio), 'stretch' only resizes. Area
    interpolation when shrinking.
    """
    import cv2
    img = np.asarray(img)
    check_image_shape(img)
    h, w = img.shape[:2]
    if mode == 'crop' and h != w:
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        img = img[top:top + side, left:left + side]
    if img.shape[0] == size and img.shape[1] == size:
        return np.ascontiguousarray(img)
    shrink = img.shape[0] > size or img.shape[1] > size
    return cv2.resize(np.ascontiguousarray(img), (size, size),
                      interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
