# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Roll the 7-D end-effector state forward by 7-D delta actions, batched in torch.

State: ``[x, y, z, rx, ry, rz, gripper]`` (metres, extrinsic xyz Euler angles in radians,
closedness 0..1). As in V-JEPA 2-AC, positions add, the rotation delta is applied on the left
(``R_new = R_delta @ R``) and the gripper closedness is clamped to [0, 1]. With zero rotation
deltas (the default: rotation is not optimised) the rotation part is returned unchanged.
"""

import torch


def euler_to_matrix(e: torch.Tensor) -> torch.Tensor:
    """Return rotation matrices [..., 3, 3] for extrinsic xyz Euler angles [..., 3]."""
    cx, cy, cz = torch.cos(e).unbind(-1)
    sx, sy, sz = torch.sin(e).unbind(-1)
    row0 = torch.stack([cy * cz, sx * sy * cz - cx * sz, cx * sy * cz + sx * sz], dim=-1)
    row1 = torch.stack([cy * sz, sx * sy * sz + cx * cz, cx * sy * sz - sx * cz], dim=-1)
    row2 = torch.stack([-sy, sx * cy, cx * cy], dim=-1)
    return torch.stack([row0, row1, row2], dim=-2)


def matrix_to_euler(m: torch.Tensor) -> torch.Tensor:
    """Return extrinsic xyz Euler angles [..., 3] for rotation matrices [..., 3, 3]."""
    sy = (-m[..., 2, 0]).clamp(-1.0, 1.0)
    ry = torch.asin(sy)
    rx = torch.atan2(m[..., 2, 1], m[..., 2, 2])
    rz = torch.atan2(m[..., 1, 0], m[..., 0, 0])
    return torch.stack([rx, ry, rz], dim=-1)


def roll_state(state: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
    """Return the state after ``action`` ([..., 7] each)."""
    xyz = state[..., :3] + action[..., :3]
    rot = state[..., 3:6]
    if bool((action[..., 3:6] != 0).any()):
        rot = matrix_to_euler(euler_to_matrix(action[..., 3:6]) @ euler_to_matrix(rot))
    grip = (state[..., 6:7] + action[..., 6:7]).clamp(0.0, 1.0)
    return torch.cat([xyz, rot, grip], dim=-1)


def roll_states(state: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """
    Return the states at which each action is taken.

    ``state`` is [7] or [S, 7] and ``actions`` [S, H, 7]; the result is [S, H + 1, 7] where entry
    t is the state before action t and entry H the state after the last action.
    """
    s = state.expand(actions.shape[0], 7) if state.dim() == 1 else state
    out = [s]
    for t in range(actions.shape[1]):
        s = roll_state(s, actions[:, t])
        out.append(s)
    return torch.stack(out, dim=1)
