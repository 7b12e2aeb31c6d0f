# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Small rotation helpers (quaternions are w, x, y, z; Euler angles are extrinsic x-y-z)."""

import numpy as np


def euler_to_mat(rpy):
    """Return the rotation matrix R = Rz(yaw) @ Ry(pitch) @ Rx(roll)."""
    r, p, y = (float(v) for v in rpy)
    cr, sr, cp, sp, cy, sy = np.cos(r), np.sin(r), np.cos(p), np.sin(p), np.cos(y), np.sin(y)
    return np.array([
        [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
        [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
        [-sp, cp * sr, cp * cr],
    ])


def mat_to_euler(mat):
    """Return (roll, pitch, yaw) of a rotation matrix, the inverse of :func:`euler_to_mat`."""
    m = np.asarray(mat, dtype=np.float64)
    pitch = np.arcsin(np.clip(-m[2, 0], -1.0, 1.0))
    if abs(m[2, 0]) < 1.0 - 1e-9:
        roll = np.arctan2(m[2, 1], m[2, 2])
        yaw = np.arctan2(m[1, 0], m[0, 0])
    else:  # gimbal lock: put everything in yaw
        roll = 0.0
        yaw = np.arctan2(-m[0, 1], m[1, 1])
    return np.array([roll, pitch, yaw])


def mat_to_quat(mat):
    """Return the unit quaternion (w, x, y, z), w >= 0, of a rotation matrix."""
    m = np.asarray(mat, dtype=np.float64)
    tr = np.trace(m)
    if tr > 0:
        s = 2.0 * np.sqrt(tr + 1.0)
        q = [0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s]
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = [(m[2, 1] - m[1, 2]) / s, 0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s]
    elif m[1, 1] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = [(m[0, 2] - m[2, 0]) / s, (m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s]
    else:
        s = 2.0 * np.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = [(m[1, 0] - m[0, 1]) / s, (m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s]
    q = np.array(q)
    q /= np.linalg.norm(q)
    return -q if q[0] < 0 else q


def quat_to_mat(quat):
    """Return the rotation matrix of a quaternion (w, x, y, z); it need not be normalised."""
    w, x, y, z = np.asarray(quat, dtype=np.float64) / np.linalg.norm(quat)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])


def rotation_error(target, current):
    """Return the rotation vector (world frame) that turns ``current`` into ``target``."""
    r = np.asarray(target) @ np.asarray(current).T
    cos = np.clip((np.trace(r) - 1.0) / 2.0, -1.0, 1.0)
    angle = np.arccos(cos)
    axis = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
    if angle < 1e-9:
        return 0.5 * axis
    if np.pi - angle < 1e-6:  # 180 degrees: the antisymmetric part vanishes
        diag = np.sqrt(np.clip((np.diag(r) + 1.0) / 2.0, 0.0, None))
        k = int(np.argmax(diag))
        axis = r[:, k] + np.eye(3)[k]
        return angle * axis / np.linalg.norm(axis)
    return angle * axis / (2.0 * np.sin(angle))


def rotvec_to_mat(rotvec):
    """Return the rotation matrix of a rotation vector (Rodrigues)."""
    v = np.asarray(rotvec, dtype=np.float64)
    angle = np.linalg.norm(v)
    if angle < 1e-12:
        return np.eye(3)
    k = v / angle
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * kx + (1 - np.cos(angle)) * kx @ kx


def wrap_angle(a):
    """Wrap angles to [-pi, pi)."""
    return (np.asarray(a) + np.pi) % (2 * np.pi) - np.pi


def apply_action(state, action):
    """
    Return the 7-D state after a 7-D action: the one definition of what an action does.

    Positions add, the rotation delta (extrinsic xyz Euler angles) is applied on the left
    (``R_new = R(delta) @ R``, as V-JEPA 2-AC and the planner's rollout do: for a pure yaw
    delta that is the same as adding it to the yaw), the gripper closedness is clipped to 0..1.
    The simulator, the command conversion and :func:`action_between` all use it.
    """
    state = np.asarray(state, dtype=np.float64)
    action = np.asarray(action, dtype=np.float64)
    out = state + action
    if np.any(action[3:6] != 0):
        out[3:6] = mat_to_euler(euler_to_mat(action[3:6]) @ euler_to_mat(state[3:6]))
    else:
        out[3:6] = state[3:6]
    out[6] = float(np.clip(out[6], 0.0, 1.0))
    return out


def action_between(state, target):
    """Return the 7-D action that :func:`apply_action` turns ``state`` into ``target`` with."""
    state = np.asarray(state, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    action = target - state
    action[3:6] = mat_to_euler(euler_to_mat(target[3:6]) @ euler_to_mat(state[3:6]).T)
    return action
