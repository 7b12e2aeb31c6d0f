# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
``jepa-ros collect``: task-free play data from the simulated arm.

A uniform random walk rarely touches the cube, so the play policy moves smoothly between
waypoints, most of them near the cube (above it, beside it, at its height), with a random
speed per segment, low-pass-filtered noise, small yaw wobble and gripper opening/closing (more
often near the cube). Cube starts are random per episode. Recorded actions are the realised
state changes (as V-JEPA 2-AC derives them from DROID), so they match what the arm really did.
"""

import dataclasses
from typing import Tuple

NAME = 'collect'
HELP = 'Collect play episodes from the simulated arm (random smooth motions near the cube).'


@dataclasses.dataclass
class CollectConfig:
    """Play-data settings."""

    out: str = 'data/play'
    episodes: int = 400
    steps: int = 40
    seed: int = 0
    render_size: int = 128
    save_size: int = 64
    camera: str = ''
    # Further cameras recorded every step as extra views (e.g. ['side'] for a two-view model).
    extra_cameras: Tuple[str, ...] = ()
    # Scene appearance per episode (SimConfig.variation): 'none', 'train' (random colours,
    # lighting, camera jitter) or 'unseen' (a held-out colour/lighting family, for testing).
    variation: str = 'none'
    near_cube_prob: float = 0.7
    min_speed: float = 0.012
    max_speed: float = 0.045
    smoothing: float = 0.5
    noise: float = 0.004
    yaw_noise: float = 0.04
    gripper_toggle_prob: float = 0.08
    gripper_close_near_cube_prob: float = 0.35
    gripper_speed: float = 0.5
    random_start_prob: float = 0.7
    # Contact play: the share of new waypoints that start a push-through (closed fingers, in
    # at the cube's height from one side, out the other) or a grasp-and-lift (open above the
    # cube, down, close, lift, carry, release). Still task-free play; 0 keeps the old policy.
    contact_prob: float = 0.0
    waypoint_timeout: int = 12
    compress: bool = True
    append: bool = True
    # Another environment instead of the embedded arm: 'ogbench:<env>' or 'gym:<id>'
    # (jepa_ros.envs); then episodes/steps/seed/save_size/policy apply and the arm's fields
    # above do not. policy: 'play' (the env's scripted play) or 'random'.
    env: str = ''
    policy: str = 'play'

    def validate(self):
        """Raise ConfigError on settings that cannot work."""
        from jepa_ros.utils.config import ConfigError
        if self.episodes <= 0 or self.steps < 2:
            raise ConfigError('CollectConfig needs episodes >= 1 and steps >= 2')
        if not 0 < self.min_speed <= self.max_speed:
            raise ConfigError('CollectConfig needs 0 < min_speed <= max_speed')
        if not 16 <= self.save_size <= self.render_size:
            raise ConfigError('CollectConfig needs 16 <= save_size <= render_size')
        for name in ('near_cube_prob', 'smoothing', 'gripper_toggle_prob',
                     'gripper_close_near_cube_prob', 'random_start_prob', 'contact_prob'):
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(f'CollectConfig.{name} must be in [0, 1]')


class PlayPolicy:
    """Waypoint-following play: smooth, mostly around the cube, gripper opening and closing."""

    def __init__(self, cfg: CollectConfig, workspace: Tuple, rng):
        import numpy as np
        self.np = np
        self.cfg = cfg
        self.low = np.asarray(workspace[0], float)
        self.high = np.asarray(workspace[1], float)
        self.rng = rng
        self.prev = np.zeros(3)
        self.waypoint = None
        self.age = 0
        self.speed = cfg.max_speed
        self.grip_target = 0.0
        self.yaw_rate = 0.0
        self.script = []        # queued (waypoint, gripper target) of a contact primitive
        self.scripted = False   # the current waypoint belongs to a primitive

    def _contact_script(self, cube_pos):
        """Return the waypoints of a push-through or a grasp-and-lift around the cube."""
        np, rng = self.np, self.rng
        c = np.asarray(cube_pos, float)
        if rng.random() < 0.5:
            a = rng.uniform(0, 2 * np.pi)
            d = np.array([np.cos(a), np.sin(a), 0.0])
            z = np.array([0.0, 0.0, rng.uniform(0.0, 0.015)])
            far = rng.uniform(0.05, 0.12)
            return [(c - 0.07 * d + z + [0, 0, 0.06], 1.0), (c - 0.07 * d + z, 1.0),
                    (c + far * d + z, 1.0), (c + far * d + z + [0, 0, 0.06], 1.0)]
        up = np.array([0.0, 0.0, 1.0])
        carry = c + np.array([rng.normal(0, 0.06), rng.normal(0, 0.06), rng.uniform(0.06, 0.15)])
        place = carry.copy()
        place[2] = c[2] + rng.uniform(0.0, 0.03)
        return [(c + 0.07 * up, 0.0), (c + 0.005 * up, 0.0), (c + 0.005 * up, 1.0),
                (c + 0.1 * up, 1.0), (carry, 1.0), (place, 1.0), (place, 0.0),
                (place + 0.07 * up, 0.0)]

    def _new_waypoint(self, cube_pos):
        np, rng, cfg = self.np, self.rng, self.cfg
        if not self.script and rng.random() < cfg.contact_prob:
            self.script = self._contact_script(cube_pos)
        self.scripted = bool(self.script)
        if self.script:
            wp, self.grip_target = self.script.pop(0)
            self.waypoint = np.clip(np.asarray(wp, float), self.low, self.high)
            self.speed = rng.uniform(cfg.min_speed, cfg.max_speed)
            self.age = 0
            return
        if rng.random() < cfg.near_cube_prob:
            off = np.array([rng.normal(0, 0.03), rng.normal(0, 0.03), rng.uniform(-0.01, 0.09)])
            wp = np.asarray(cube_pos, float) + off
        else:
            wp = rng.uniform(self.low, np.minimum(self.high, [self.high[0], self.high[1], 0.4]))
        self.waypoint = np.clip(wp, self.low, self.high)
        self.speed = rng.uniform(cfg.min_speed, cfg.max_speed)
        self.age = 0

    def __call__(self, obs):
        """Return the next 7-D action for observation ``obs``."""
        np, rng, cfg = self.np, self.rng, self.cfg
        if (self.waypoint is None or self.age >= cfg.waypoint_timeout
                or np.linalg.norm(self.waypoint - obs.ee_pos) < 0.01):
            self._new_waypoint(obs.cube_pos)
        self.age += 1
        d = self.waypoint - obs.ee_pos
        dist = np.linalg.norm(d)
        desired = d / max(dist, 1e-9) * min(dist, self.speed)
        move = cfg.smoothing * self.prev + (1 - cfg.smoothing) * desired
        move = move + rng.normal(0, cfg.noise, 3)
        self.prev = move
        self.yaw_rate = 0.7 * self.yaw_rate + rng.normal(0, cfg.yaw_noise)
        near = np.linalg.norm(obs.ee_pos[:2] - obs.cube_pos[:2]) < 0.04 and (
            obs.ee_pos[2] - obs.cube_pos[2] < 0.05)
        if self.scripted:
            pass                # the primitive decides the gripper
        elif near and rng.random() < cfg.gripper_close_near_cube_prob:
            self.grip_target = 1.0
        elif rng.random() < cfg.gripper_toggle_prob:
            self.grip_target = float(rng.random() < 0.5)
        dg = np.clip(self.grip_target - obs.gripper, -cfg.gripper_speed, cfg.gripper_speed)
        return np.array([move[0], move[1], move[2], 0.0, 0.0, self.yaw_rate, dg])


def collect_episode(sim, cfg: CollectConfig, seed: int):
    """Run one play episode in ``sim`` and return it as an Episode."""
    import numpy as np
    from jepa_ros.data.dataset import resize_frames
    from jepa_ros.data.episode import make_episode
    rng = np.random.default_rng([cfg.seed, seed])
    low = np.asarray(sim.config.workspace_low, float)
    high = np.asarray(sim.config.workspace_high, float)
    scene_seed = int(rng.integers(2**31))
    obs = None
    if rng.random() < cfg.random_start_prob:
        for _ in range(5):
            ee_pos = rng.uniform(np.maximum(low, [0.35, -0.2, 0.1]),
                                 np.minimum(high, [0.62, 0.2, 0.35]))
            try:
                obs = sim.reset(seed=scene_seed, ee_pos=ee_pos)
                break
            except ValueError:      # out of reach from this start: draw another
                continue
    if obs is None:
        obs = sim.reset(seed=scene_seed)
    cube_start = np.asarray(obs.cube_pos, float).tolist()
    policy = PlayPolicy(cfg, (low, high), rng)
    cam = cfg.camera or None
    frames, states, times, cube = [], [], [], []
    extra = [[] for _ in cfg.extra_cameras]
    for t in range(cfg.steps):
        img = obs.image if cam is None else sim.render(camera=cam)
        frames.append(img)
        for views, name in zip(extra, cfg.extra_cameras):
            views.append(sim.render(camera=name))
        states.append(np.asarray(obs.state, np.float64))
        times.append(float(obs.time))
        cube.append(np.asarray(obs.cube_pos, float))
        if t < cfg.steps - 1:
            obs = sim.step(policy(obs))
    frames = resize_frames(np.stack(frames), cfg.save_size)
    extra = [resize_frames(np.stack(v), cfg.save_size) for v in extra]
    times = np.asarray(times)
    if np.any(np.diff(times) <= 0):
        times = np.arange(cfg.steps) * sim.config.control_dt
    cube = np.stack(cube)
    fx, fy, cx, cy = sim.camera_intrinsics(camera=cam, size=cfg.save_size)
    meta = {
        'source': 'jepa_ros.sim play', 'seed': int(seed), 'collect_seed': int(cfg.seed),
        'camera': {'name': cam or sim.config.camera, 'width': cfg.save_size,
                   'height': cfg.save_size, 'rendered_size': cfg.render_size,
                   'intrinsics': [fx, fy, cx, cy]},
        'robot': {'name': 'panda_sim', 'frame': 'arm base (REP-103)',
                  'control_dt': float(sim.config.control_dt),
                  'workspace_low': low.tolist(), 'workspace_high': high.tolist(),
                  'state': 'x y z roll pitch yaw gripper', 'action': 'state delta'},
        'cube_start': cube_start, 'cube_moved_m': float(np.linalg.norm(cube[-1] - cube[0])),
        'cube_lift_m': float(cube[:, 2].max() - cube[0, 2])}
    if sim.variation is not None:
        meta['scene_variation'] = sim.variation.to_dict()
    if cfg.extra_cameras:
        meta['views'] = [cam or sim.config.camera] + list(cfg.extra_cameras)
    return make_episode(frames, np.stack(states), timestamps=times, metadata=meta,
                        extra_frames=extra)


def collect(cfg: CollectConfig, progress: bool = True):
    """Collect ``cfg.episodes`` episodes into ``cfg.out``; return a summary dict."""
    import time
    import numpy as np
    from jepa_ros.data.episode import episode_path, next_episode_index, write_episode
    from jepa_ros.sim import SimArm, SimConfig
    cfg.validate()
    start = next_episode_index(cfg.out) if cfg.append else 0
    sim = SimArm(SimConfig(image_size=cfg.render_size, variation=cfg.variation))
    moved, lifted, steps = [], [], []
    t0 = time.perf_counter()
    bar = range(cfg.episodes)
    if progress:
        from tqdm import tqdm
        bar = tqdm(bar, desc='collect', unit='ep')
    try:
        for i in bar:
            ep = collect_episode(sim, cfg, start + i)
            write_episode(episode_path(cfg.out, start + i), ep, compress=cfg.compress)
            moved.append(ep.metadata['cube_moved_m'])
            lifted.append(ep.metadata['cube_lift_m'])
            steps.append(np.linalg.norm(ep.actions[:, :3], axis=1))
    finally:
        sim.close()
    dt = time.perf_counter() - t0
    step_cm = np.concatenate(steps) * 100
    return {'episodes': cfg.episodes, 'first_index': start, 'seconds': dt,
            'transitions': int(cfg.episodes * (cfg.steps - 1)),
            'cube_moved_fraction': float(np.mean(np.asarray(moved) > 0.01)),
            'cube_lifted_fraction': float(np.mean(np.asarray(lifted) > 0.02)),
            'median_step_cm': float(np.median(step_cm)), 'out': cfg.out}


def add_arguments(parser):
    """Add one option per CollectConfig field."""
    from jepa_ros.utils.config import add_arguments as add_cfg
    add_cfg(parser, CollectConfig)
    return parser


def run(args) -> int:
    """CLI entry: collect and print a one-line summary."""
    from jepa_ros.utils.config import from_args
    cfg = from_args(CollectConfig, args)
    if cfg.env:
        return _run_env(cfg)
    s = collect(cfg)
    print(f'collected {s["episodes"]} episodes ({s["transitions"]} transitions) into {s["out"]} '
          f'in {s["seconds"]:.0f} s; cube moved >1 cm in {100 * s["cube_moved_fraction"]:.0f}% '
          f'of episodes, lifted >2 cm in {100 * s["cube_lifted_fraction"]:.0f}%; median step '
          f'{s["median_step_cm"]:.1f} cm')
    return 0


def _run_env(cfg) -> int:
    from jepa_ros.envs.collect import collect_env, POLICIES
    from jepa_ros.utils.config import ConfigError
    if cfg.policy not in POLICIES:
        raise ConfigError(f'CollectConfig.policy must be one of {POLICIES}, got {cfg.policy!r}')
    if cfg.episodes <= 0 or cfg.steps < 2:
        raise ConfigError('CollectConfig needs episodes >= 1 and steps >= 2')
    try:
        s = collect_env(cfg.env, cfg.out, cfg.episodes, cfg.steps, seed=cfg.seed,
                        policy=cfg.policy, image_size=cfg.save_size, compress=cfg.compress,
                        append=cfg.append)
    except ImportError as exc:
        raise ConfigError(f'collect --env {cfg.env}: {exc}') from None
    print(f'collected {s["episodes"]} episodes ({s["transitions"]} transitions, '
          f'{s["action_dim"]}-D actions, {s["state_dim"]}-D proprioception) of {s["env"]} '
          f'({s["policy"]} policy) into {s["out"]} in {s["seconds"]:.0f} s '
          f'({s["steps_per_s"]:.0f} steps/s)')
    return 0


if __name__ == '__main__':
    import sys
    from jepa_ros.training.common import module_main
    sys.exit(module_main(sys.modules[__name__]))
