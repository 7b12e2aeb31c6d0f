# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Synthetic episodes: a coloured square that moves with its actions over a textured background.

Rendering is a few numpy slices, so tests and smoke runs of the trainers need neither MuJoCo nor
a GPU, yet the frames depend on the actions (the square's x/y follow the state, its size the
height, its colour the gripper), which is what a world model must learn.
"""

from jepa_ros.data.episode import Episode, make_episode
import numpy as np


def _render(state, size, background):
    img = background.copy()
    x, y, z, g = state[0], state[1], state[2], state[6]
    half = max(1, int(round(size * (0.06 + 0.08 * np.clip(z, 0.0, 1.0)))))
    cx = int(round((0.5 + 0.8 * np.clip(x, -0.5, 0.5)) * (size - 1)))
    cy = int(round((0.5 + 0.8 * np.clip(y, -0.5, 0.5)) * (size - 1)))
    colour = np.array([230, 40 + 180 * g, 40], np.uint8)
    img[max(0, cy - half):cy + half, max(0, cx - half):cx + half] = colour
    return img


def synthetic_episode(seed: int, steps: int = 16, image_size: int = 32,
                      max_step: float = 0.08) -> Episode:
    """Return one deterministic synthetic episode of ``steps`` frames."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:image_size, 0:image_size]
    background = np.stack([(xx * 4) % 64 + 20, (yy * 3) % 64 + 30,
                           np.full_like(xx, 60 + 10 * (seed % 5))], -1).astype(np.uint8)
    state = np.zeros(7, np.float64)
    state[:2] = rng.uniform(-0.35, 0.35, 2)
    state[2] = rng.uniform(0.2, 0.8)
    state[6] = float(rng.integers(0, 2))
    states, frames = [], []
    velocity = rng.normal(0, max_step / 2, 3)
    for _ in range(steps):
        states.append(state.copy())
        frames.append(_render(state, image_size, background))
        velocity = 0.7 * velocity + rng.normal(0, max_step / 2, 3)
        velocity = np.clip(velocity, -max_step, max_step)
        state[:3] = np.clip(state[:3] + velocity, [-0.45, -0.45, 0.0], [0.45, 0.45, 1.0])
        state[5] = ((state[5] + rng.normal(0, 0.02)) + np.pi) % (2 * np.pi) - np.pi
        if rng.random() < 0.15:
            state[6] = 1.0 - state[6]
    meta = {'source': 'synthetic', 'seed': int(seed),
            'camera': {'name': 'synthetic', 'width': image_size, 'height': image_size},
            'robot': {'name': 'synthetic_square', 'control_dt': 0.1}}
    return make_episode(np.stack(frames), np.stack(states), metadata=meta)
