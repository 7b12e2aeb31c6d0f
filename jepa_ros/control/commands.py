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

import numpy as np
from transforms3d.euler import euler2quat


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
    """Return the 7-D state after applying ``action`` (gripper clipped to 0..1)."""
    state = np.asarray(state, dtype=np.float64)
    nxt = state + np.asarray(action, dtype=np.float64)
    nxt[3:6] = (nxt[3:6] + np.pi) % (2 * np.pi) - np.pi
    nxt[6] = float(np.clip(nxt[6], 0.0, 1.0))
    return nxt


def _euler_rates(state, action, period_s):
    """Angular velocity (base frame) that turns the current orientation towards the target."""
    q0 = euler2quat(*state[3:6], axes='sxyz')
    q1 = euler2quat(*(np.asarray(state[3:6]) + action[3:6]), axes='sxyz')
    # relative rotation q1 * conj(q0), expressed as a rotation vector in the base frame
    w0, v0 = q0[0], -np.asarray(q0[1:])
    w1, v1 = q1[0], np.asarray(q1[1:])
    w = w1 * w0 - v1 @ v0
    v = w1 * v0 + w0 * v1 + np.cross(v1, v0)
    if w < 0:
        w, v = -w, -v
    sin_half = np.linalg.norm(v)
    if sin_half < 1e-12:
        return np.zeros(3)
    angle = 2.0 * np.arctan2(sin_half, w)
    return v / sin_half * angle / period_s


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
        angular_velocity=_euler_rates(state, action, period_s),
        target_pos=target[:3],
        target_quat=np.asarray(euler2quat(*target[3:6], axes='sxyz')),
        gripper=float(target[6]),
        duration_s=period_s,
    )


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
