# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Evaluation tasks in the simulated arm, each given to the planner as goal images only.

``reach``: move the gripper to where it is in the goal image (success: end effector within 3 cm).
``push``: move the cube to where it is in the goal image; the arm starts behind the cube with the
fingers closed (open fingers would straddle the cube; success: cube within 4 cm).
``pick_place``: three sub-goal images (grasped, carried, placed; success: cube within 4 cm of the
placed position). Coordinates stay here and in the success
check; the planner sees pictures. Episodes are drawn from ``(task, seed, index)`` only, so the
same seed gives the same episodes; goal images are rendered by teleporting the scene into the
goal configuration with the same camera, then the scene is reset to the start.
"""

import dataclasses
from typing import List

from jepa_ros.sim.geometry import euler_to_mat, mat_to_quat
import numpy as np

TASKS = ('reach', 'push', 'pick_place')
SUCCESS_THRESHOLDS = {'reach': 0.03, 'push': 0.04, 'pick_place': 0.04}   # metres
DEFAULT_STEPS = {'reach': 30, 'push': 40, 'pick_place': 60}             # control steps
DOWN = (0.0, 0.0, 0.0)           # end-effector rpy with the gripper pointing down
CUBE_HALF = 0.025                # half edge of the embedded scene's cube [m]
GRASP_GRIPPER = 0.55             # gripper closure that holds the 5 cm cube
_TASK_SALT = {'reach': 101, 'push': 202, 'pick_place': 303}


@dataclasses.dataclass
class EpisodeSpec:
    """
    One episode: start scene, goal scene(s) and the step budget; metres, base frame.

    ``goal_ee`` / ``goal_cube`` / ``goal_gripper`` hold one entry per goal image (one for reach
    and push, three for pick_place); the last one is what success is measured against.
    """

    task: str
    index: int
    seed: int
    start_ee: np.ndarray
    start_cube: np.ndarray
    cube_yaw: float
    goal_ee: List[np.ndarray]
    goal_cube: List[np.ndarray]
    goal_gripper: List[float]
    steps: int
    start_gripper: float = 0.0

    @property
    def needs_hold(self) -> List[bool]:
        """
        Per goal image: True where it shows the cube in the air, so only in the hand.

        Pick-and-place's carry image; the grasp before it is then left on the grasp check.
        """
        return [bool(c[2] > CUBE_HALF + 0.02) for c in self.goal_cube]

    @property
    def threshold(self) -> float:
        """Success distance of the task [m]."""
        return SUCCESS_THRESHOLDS[self.task]

    def to_dict(self) -> dict:
        """Return the spec as JSON-ready data (for results.json)."""
        return {
            'task': self.task, 'index': self.index, 'seed': self.seed,
            'start_ee': _r(self.start_ee), 'start_cube': _r(self.start_cube),
            'cube_yaw': round(float(self.cube_yaw), 4),
            'goal_ee': [_r(g) for g in self.goal_ee],
            'goal_cube': [_r(g) for g in self.goal_cube],
            'goal_gripper': [round(float(g), 3) for g in self.goal_gripper],
            'start_gripper': self.start_gripper, 'steps': self.steps,
            'threshold_m': self.threshold,
        }


def _r(v):
    return [round(float(x), 4) for x in v]


def _check_task(task):
    if task not in TASKS:
        raise ValueError(f'unknown task {task!r}; tasks: {", ".join(TASKS)}')


def _reachable(sim, pos) -> bool:
    return sim.ik(pos, DOWN, q_init=sim.config.home_qpos).success


def _direction(rng):
    angle = rng.uniform(-np.pi, np.pi)
    return np.array([np.cos(angle), np.sin(angle), 0.0])


def _draw(task, rng, sim):
    """Return one candidate (start_ee, start_cube, yaw, goal_ee, goal_cube, goal_gripper)."""
    cube_xy = rng.uniform((0.42, -0.12), (0.58, 0.12))
    cube = np.array([cube_xy[0], cube_xy[1], CUBE_HALF])
    if task == 'reach':
        yaw = rng.uniform(-np.pi / 4, np.pi / 4)
        start = rng.uniform((0.38, -0.18, 0.15), (0.58, 0.18, 0.35))
        goal = rng.uniform((0.35, -0.22, 0.08), (0.62, 0.22, 0.35))
        d = np.linalg.norm(goal - start)
        near_cube = np.linalg.norm(goal[:2] - cube[:2]) < 0.08 and goal[2] < 0.13
        if not 0.08 <= d <= 0.25 or near_cube:
            return None
        return start, cube, yaw, [goal], [cube], [0.0]
    if task == 'push':
        yaw = rng.uniform(-0.3, 0.3)
        u = _direction(rng)
        dist = rng.uniform(0.08, 0.15)
        goal_cube = cube + dist * u
        if not (0.36 <= goal_cube[0] <= 0.64 and abs(goal_cube[1]) <= 0.2):
            return None
        start = cube - u * (CUBE_HALF + 0.045)
        start[2] = rng.uniform(0.035, 0.08)
        goal_ee = goal_cube - u * (CUBE_HALF + 0.02)
        goal_ee[2] = 0.035
        return start, cube, yaw, [goal_ee], [goal_cube], [1.0]
    yaw = rng.uniform(-0.15, 0.15)
    u = _direction(rng)
    place = cube + rng.uniform(0.08, 0.15) * u
    if not (0.36 <= place[0] <= 0.64 and abs(place[1]) <= 0.2):
        return None
    start = cube + np.array([*rng.uniform(-0.03, 0.03, 2), 0.0])
    start[2] = rng.uniform(0.12, 0.18)
    grasp = cube + np.array([0.0, 0.0, 0.005])
    carry = 0.5 * (cube + place)
    carry[2] = 0.14
    carried_cube = carry - np.array([0.0, 0.0, 0.005])
    release = place + np.array([0.0, 0.0, 0.005])
    return (start, cube, yaw, [grasp, carry, release], [cube, carried_cube, place],
            [GRASP_GRIPPER, GRASP_GRIPPER, 0.0])


def make_episodes(task: str, n: int, seed: int, sim, steps: int = 0) -> List[EpisodeSpec]:
    """
    Draw ``n`` episodes of ``task`` from ``seed`` (the same seed gives the same episodes).

    Episode ``i`` depends only on (task, seed, i); candidates whose poses the arm cannot reach
    with the gripper pointing down are redrawn. ``steps`` 0 uses the task's default budget.
    """
    _check_task(task)
    if n < 0:
        raise ValueError(f'number of episodes must be >= 0, got {n}')
    budget = int(steps) if steps and steps > 0 else DEFAULT_STEPS[task]
    specs = []
    for i in range(n):
        rng = np.random.default_rng([int(seed), _TASK_SALT[task], i])
        for _ in range(1000):
            cand = _draw(task, rng, sim)
            if cand is None:
                continue
            start, cube, yaw, g_ee, g_cube, g_grip = cand
            if all(_reachable(sim, p) for p in [start] + g_ee):
                break
        else:
            raise RuntimeError(f'could not draw a reachable {task} episode {i} for seed {seed}; '
                               'is the scene the embedded Panda?')
        specs.append(EpisodeSpec(task=task, index=i, seed=int(seed), start_ee=np.asarray(start),
                                 start_cube=np.asarray(cube), cube_yaw=float(yaw),
                                 goal_ee=[np.asarray(g) for g in g_ee],
                                 goal_cube=[np.asarray(g) for g in g_cube],
                                 goal_gripper=[float(g) for g in g_grip], steps=budget,
                                 start_gripper=1.0 if task == 'push' else 0.0))
    return specs


def _cube_quat(yaw):
    return mat_to_quat(euler_to_mat([0.0, 0.0, float(yaw)]))


def scene_seed(spec: 'EpisodeSpec'):
    """Return the reset seed of an episode: its own scene appearance when the sim varies it."""
    return [int(spec.seed), _TASK_SALT[spec.task], int(spec.index)]


def place_scene(sim, seed, ee, cube, yaw, gripper):
    """Teleport the arm (gripper down, ``gripper`` closure) and the cube; no physics after."""
    sim.reset(seed=seed, cube_pos=np.array([0.9, 0.5, CUBE_HALF]), render=False)
    sim.move_ee_to(ee, rpy=DOWN, gripper=gripper)
    sim.set_cube_pose(cube, _cube_quat(yaw))


def reset_to_start(sim, spec: EpisodeSpec, render: bool = True):
    """Put the scene in the episode's start configuration; return the observation."""
    place_scene(sim, scene_seed(spec), spec.start_ee, spec.start_cube, spec.cube_yaw,
                spec.start_gripper)
    return sim.observe(render)


def goal_images(sim, spec: EpisodeSpec, size=None, cameras=()) -> List[np.ndarray]:
    """
    Render the goal image(s) of an episode, then reset the scene to the start.

    The scene is put in each goal configuration (arm pose, gripper, cube; nothing else
    changes) and rendered with the default camera at ``size`` (default: the sim's size). With
    several ``cameras`` each goal is a (V, H, W, 3) stack of their images (a multi-view goal).
    """
    images = []
    for ee, cube, grip in zip(spec.goal_ee, spec.goal_cube, spec.goal_gripper):
        place_scene(sim, scene_seed(spec), ee, cube, spec.cube_yaw, grip)
        images.append(render_views(sim, cameras, size))
    reset_to_start(sim, spec, render=False)
    return images


def render_views(sim, cameras=(), size=None) -> np.ndarray:
    """Return the default camera's image, or a (V, H, W, 3) stack for several ``cameras``."""
    if len(cameras) <= 1:
        return sim.render(size=size, camera=cameras[0] if cameras else None)
    return np.stack([sim.render(size=size, camera=c) for c in cameras])


def task_distance(spec: EpisodeSpec, obs) -> float:
    """Return the success distance [m]: end effector (reach) or cube (push, pick_place) to goal."""
    if spec.task == 'reach':
        return float(np.linalg.norm(np.asarray(obs.ee_pos) - spec.goal_ee[-1]))
    return float(np.linalg.norm(np.asarray(obs.cube_pos) - spec.goal_cube[-1]))


def is_success(spec: EpisodeSpec, obs) -> bool:
    """Return True when the task's distance is within its threshold."""
    return task_distance(spec, obs) <= spec.threshold
