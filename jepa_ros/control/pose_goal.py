# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
A world model with a known optimum, for closing the ROS loop honestly in tests and demos.

It cannot see. Goals are *pose-code images*: a magenta band on top (its green channel holds the
gripper closedness) and three bands below holding x, y and z as 16-bit numbers (red = high byte,
green = low byte) in a fixed box. ``encode`` decodes such an image to the latent of that pose
(:class:`jepa_ros.planning.LinearToyWorldModel`); an ordinary camera frame has no code and
encodes to NaN tokens (its energy is reported as NaN). Rollouts integrate the planned actions
from the measured end-effector state, so the energy is minimal exactly when the imagined end
effector reaches the goal pose: if the arm goes there, the node, the planner and the command path
did their job. It says nothing about how well a learned model sees.
"""

from jepa_ros.planning import LinearToyWorldModel
import numpy as np

# value range coded by each band (x, y, z) in metres, base frame
CODE_LOW = np.array([0.0, -0.8, -0.2])
CODE_HIGH = np.array([1.0, 0.8, 1.0])
MARKER = (255, 0, 255)


def pose_code_image(position, gripper: float = 0.0, size: int = 64) -> np.ndarray:
    """Return the uint8 (size, size, 3) image that encodes ``position`` (x, y, z) and gripper."""
    pos = np.asarray(position, dtype=np.float64).reshape(3)
    if not np.isfinite(pos).all() or np.any(pos < CODE_LOW) or np.any(pos > CODE_HIGH):
        raise ValueError(f'position {pos.tolist()} is outside the codable box '
                         f'{CODE_LOW.tolist()}..{CODE_HIGH.tolist()}')
    if size < 8 or size % 4:
        raise ValueError(f'size must be a multiple of 4 and >= 8, got {size}')
    img = np.zeros((size, size, 3), dtype=np.uint8)
    band = size // 4
    img[:band] = MARKER
    img[:band, :, 1] = int(round(255 * float(np.clip(gripper, 0.0, 1.0))))
    code = np.round((pos - CODE_LOW) / (CODE_HIGH - CODE_LOW) * 65535).astype(np.int64)
    for i, v in enumerate(code):
        rows = slice(band * (i + 1), band * (i + 2))
        img[rows, :, 0] = v >> 8
        img[rows, :, 1] = v & 255
    return img


def decode_pose_code(image) -> np.ndarray:
    """Return the 7-D state [x, y, z, 0, 0, 0, gripper] coded in ``image``, or NaNs if none."""
    img = np.asarray(image)
    out = np.full(7, np.nan)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8 or min(img.shape[:2]) < 8:
        return out
    h = img.shape[0]
    band = h / 4.0
    top = img[:max(1, int(band) - 1)].reshape(-1, 3).astype(np.int64)
    if np.any(np.abs(top[:, 0] - 255) > 1) or np.any(np.abs(top[:, 2] - 255) > 1):
        return out
    centre = img.shape[1] // 2
    for i in range(3):
        row = int((i + 1.5) * band)
        r, g = int(img[row, centre, 0]), int(img[row, centre, 1])
        out[i] = CODE_LOW[i] + (r * 256 + g) / 65535 * (CODE_HIGH[i] - CODE_LOW[i])
    out[3:6] = 0.0
    out[6] = float(np.median(top[:, 1])) / 255.0
    return out


class PoseGoalWorldModel(LinearToyWorldModel):
    """LinearToyWorldModel whose ``encode`` reads pose-code images (see the module docstring)."""

    def __init__(self, image_size: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.image_size = int(image_size)

    def encode(self, images):
        """Return the latent of the pose coded in each image (NaN tokens for other images)."""
        arr = np.asarray(images.cpu() if hasattr(images, 'cpu') else images)
        batch = arr if arr.ndim == 4 else arr[None]
        states = np.stack([decode_pose_code(im) for im in batch])
        with self.profiler.section('encode'):
            return self.latent(states)

    def goal_position(self, image):
        """Return the goal position coded in ``image`` (for the RViz goal marker)."""
        return decode_pose_code(image)[:3]


def make_world_model(config, device):
    """Return a PoseGoalWorldModel: a ``world_model`` factory for the planner node."""
    return PoseGoalWorldModel(device=device)
