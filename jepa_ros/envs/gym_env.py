# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Any gymnasium environment with image observations and a continuous action box.

Observations may be an image array (H, W, 3) or a dict holding one (``pixels``, ``image``,
``rgb``; a dict of images under ``pixels`` gives one view per camera) and optionally the
proprioception (``agent_pos``, ``state``, ``proprio``). Frames are fitted to a square
``image_size``. Success is ``info['success']`` (or ``is_success``). An env with evaluation
tasks says how many in ``num_tasks`` (on the unwrapped env) and returns the goal image as
``info['goal_image']`` (or ``info['goal']``) from ``reset(options={'task_id': i})``.
"""

from typing import List, Optional

from jepa_ros.envs.base import EnvAdapter, EnvSetupError, EnvSpec, EnvStep
import numpy as np

IMAGE_KEYS = ('pixels', 'image', 'rgb', 'image_front', 'front')
STATE_KEYS = ('agent_pos', 'state', 'proprio', 'robot_state')
GOAL_KEYS = ('goal_image', 'goal')


def _is_image(x) -> bool:
    return isinstance(x, np.ndarray) and x.ndim == 3 and x.shape[-1] == 3 and min(x.shape[:2]) >= 8


def fit_square(img: np.ndarray, size: int) -> np.ndarray:
    """Return ``img`` centre-cropped to a square and resized to ``size`` px (uint8 RGB)."""
    import cv2
    img = np.asarray(img)
    if img.dtype != np.uint8:  # float images in [0, 1] (some envs) -> uint8
        img = np.clip(np.asarray(img, np.float64) * (255.0 if img.max() <= 1.0 else 1.0),
                      0, 255).astype(np.uint8)
    h, w = img.shape[:2]
    s = min(h, w)
    img = img[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
    if s != size:
        interp = cv2.INTER_AREA if s > size else cv2.INTER_LINEAR
        img = cv2.resize(img, (size, size), interpolation=interp)
    return np.ascontiguousarray(img)


def split_observation(obs, name: str):
    """Return ``(views {camera: image}, state or None)`` of one observation; raise if no image."""
    if _is_image(obs):
        return {'camera': obs}, None
    if isinstance(obs, dict):
        views = {}
        for key in IMAGE_KEYS:
            v = obs.get(key)
            if _is_image(v):
                views[key] = v
                break
            if isinstance(v, dict):
                views = {k: im for k, im in v.items() if _is_image(im)}
                if views:
                    break
        state = next((np.asarray(obs[k], np.float32).reshape(-1) for k in STATE_KEYS
                      if k in obs and not _is_image(obs[k])), None)
        if views:
            return views, state
    kind = type(obs).__name__ if not isinstance(obs, np.ndarray) else f'array {obs.shape}'
    raise EnvSetupError(
        f'{name}: its observations ({kind}) hold no RGB image; jepa_ros plans from pixels. '
        f'Make the env return images (an obs_type/render_mode that gives pixels, or wrap it '
        f'with gymnasium.wrappers.AddRenderObservation) in an array (H, W, 3) or a dict key '
        f'{list(IMAGE_KEYS)}')


def check_action_space(space, name: str):
    """Return (low, high) of a bounded continuous Box; raise EnvSetupError otherwise."""
    import gymnasium
    if not isinstance(space, gymnasium.spaces.Box):
        raise EnvSetupError(
            f'{name}: its action space is {type(space).__name__}; jepa_ros plans continuous '
            f'actions in a bounded gymnasium.spaces.Box (a discrete env needs a wrapper that '
            f'maps a Box to its actions)')
    low = np.asarray(space.low, np.float64).reshape(-1)
    high = np.asarray(space.high, np.float64).reshape(-1)
    if not (np.isfinite(low).all() and np.isfinite(high).all()):
        raise EnvSetupError(f'{name}: its action box is unbounded ({low}..{high}); the planner '
                            f'samples inside the box, so clip it with '
                            f'gymnasium.wrappers.ClipAction or give it finite bounds')
    return low, high


class SmoothRandomPolicy:
    """Task-free play for an env without a scripted one: low-pass-filtered uniform actions."""

    def __init__(self, low, high, seed: int, smoothing: float = 0.8):
        self.rng = np.random.default_rng(seed)
        self.low, self.high = np.asarray(low, np.float64), np.asarray(high, np.float64)
        self.smoothing = float(smoothing)
        self.prev = (self.low + self.high) / 2

    def __call__(self, _obs) -> np.ndarray:
        """Return the next action."""
        a = self.rng.uniform(self.low, self.high)
        self.prev = self.smoothing * self.prev + (1 - self.smoothing) * a
        return np.clip(self.prev, self.low, self.high)


class GymImageEnv(EnvAdapter):
    """Adapter for ``gym:<id>`` (an id gymnasium can make) or a gymnasium env instance."""

    def __init__(self, env, image_size: int = 64, seed: int = 0, name: Optional[str] = None):
        import gymnasium
        if isinstance(env, str):
            env_id = env
            try:
                env = gymnasium.make(env_id)
            except gymnasium.error.Error as exc:
                raise EnvSetupError(f'gym:{env_id}: gymnasium cannot make it ({exc}); install '
                                    f'the package that registers it and import it first') \
                    from None
            name = name or f'gym:{env_id}'
        self.env = env
        name = name or f'gym:{type(env.unwrapped).__name__}'
        low, high = check_action_space(env.action_space, name)
        self.image_size = int(image_size)
        self._seed = int(seed)
        self._episode = 0
        obs, _ = env.reset(seed=self._seed)
        views, state = split_observation(obs, name)
        self._cams = list(views)
        dt = getattr(env.unwrapped, 'dt', None) or 1.0 / float(
            env.metadata.get('render_fps') or 10)
        spec = getattr(env, 'spec', None)
        names = tuple(getattr(env.unwrapped, 'action_names', ()) or ())
        self.spec = EnvSpec(
            name=name, action_low=tuple(low.tolist()), action_high=tuple(high.tolist()),
            state_dim=0 if state is None else int(state.size), image_size=self.image_size,
            views=tuple(self._cams), control_dt=float(dt),
            max_episode_steps=int(getattr(spec, 'max_episode_steps', None) or 200),
            num_tasks=int(getattr(env.unwrapped, 'num_tasks', 0) or 0), action_names=names)

    def _step(self, obs, info) -> EnvStep:
        views, state = split_observation(obs, self.spec.name)
        frames = [fit_square(views[c], self.image_size) for c in self._cams]
        state = np.zeros(0, np.float32) if state is None else state.astype(np.float32)
        success = bool(info.get('success', info.get('is_success', False)))
        return EnvStep(frames=frames, state=state, success=success, info=info)

    def reset(self, seed=None, task_id=None):
        """Start an episode (a task's, with its goal frames, when ``task_id`` is given)."""
        if seed is None:
            seed = self._seed + 1 + self._episode
        self._episode += 1
        options = None if task_id is None else {'task_id': int(task_id)}
        obs, info = self.env.reset(seed=int(seed), options=options)
        goal = None
        if task_id is not None:
            g = next((info[k] for k in GOAL_KEYS if k in info), None)
            if g is None:
                raise EnvSetupError(f'{self.spec.name}: reset(options={{"task_id": {task_id}}}) '
                                    f'returned no goal image in info {list(GOAL_KEYS)}')
            gviews, _ = split_observation(g, self.spec.name)
            goal = [fit_square(gviews.get(c, next(iter(gviews.values()))), self.image_size)
                    for c in self._cams]
        return self._step(obs, info), goal

    def step(self, action) -> EnvStep:
        """Apply one action (clipped to the box)."""
        a = np.clip(np.asarray(action, np.float64).reshape(-1), self.spec.action_low,
                    self.spec.action_high)
        obs, _reward, terminated, truncated, info = self.env.step(
            a.astype(self.env.action_space.dtype))
        step = self._step(obs, dict(info, terminated=bool(terminated),
                                    truncated=bool(truncated)))
        return step

    def play_policy(self, seed: int):
        """Return the env's ``play_policy`` if it has one, else smooth random actions."""
        own = getattr(self.env.unwrapped, 'play_policy', None)
        if callable(own):
            return own(seed)
        return SmoothRandomPolicy(self.spec.action_low, self.spec.action_high, seed)

    def close(self):
        """Close the wrapped env."""
        self.env.close()


def goal_frames(frames: List[np.ndarray]) -> np.ndarray:
    """Return a goal for the planner: one (H, W, 3) image, or views side by side (W * V)."""
    return frames[0] if len(frames) == 1 else np.concatenate(frames, axis=1)
