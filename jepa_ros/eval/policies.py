# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
What drives the arm in an evaluation episode: the planner, or a baseline.

Every policy has ``begin(spec, goal_images)`` and ``act(obs) -> (7,) action``. PlannerPolicy sees
only the camera image, the 7-D state and the goal images. RandomPolicy and HoldPolicy are
floors; OraclePolicy reads the true coordinates (a scripted ceiling that checks the tasks are
solvable within their budgets).
"""

from typing import List, Optional

from jepa_ros.control.commands import fit_image
from jepa_ros.eval.tasks import CUBE_HALF, EpisodeSpec, GRASP_GRIPPER
import numpy as np


class HoldPolicy:
    """Never move (a task that succeeds under it is mis-defined)."""

    name = 'hold'

    def begin(self, spec: EpisodeSpec, goal_images: List[np.ndarray]):
        """Start an episode (nothing to remember)."""

    def act(self, obs) -> np.ndarray:
        """Return the zero action."""
        return np.zeros(7)


class RandomPolicy:
    """
    Uniformly random translations within the planner's step limit, random gripper changes.

    Rotation is not moved (as the planner's default). Seeded per episode, so reproducible.
    """

    name = 'random'

    def __init__(self, seed: int = 0, max_translation: float = 0.05, gripper: float = 0.75):
        self.seed = int(seed)
        self.max_translation = float(max_translation)
        self.gripper = float(gripper)
        self.rng = np.random.default_rng(self.seed)

    def begin(self, spec: EpisodeSpec, goal_images: List[np.ndarray]):
        """Reseed from (seed, task, episode index)."""
        self.rng = np.random.default_rng([self.seed, spec.index, len(spec.task)])

    def act(self, obs) -> np.ndarray:
        """Return one random action."""
        a = np.zeros(7)
        a[:3] = self.rng.uniform(-self.max_translation, self.max_translation, 3)
        a[6] = self.rng.uniform(-self.gripper, self.gripper)
        return a


class PlannerPolicy:
    """
    Latent-space MPC towards the goal image(s): the system under test.

    It drives the planner node's own controller (:class:`jepa_ros.control.runtime.MPCRuntime`)
    on the simulator's clock, so eval sees what the robot gets: the same input checks, the same
    command limits (``max_linear_speed`` / ``max_angular_speed`` at one control period per
    step, the workspace box) and holds. Frames are fitted to the model's input size as the node
    does. Several goal images become a GoalSequence that advances on the planner config's
    ``subgoal_threshold`` or, when none is set, after ``steps / n_goals`` replanning steps per
    sub-goal. With ``grasp_check`` the sub-goals that show the cube in the air are planned
    with it in hand: the measured finger closure goes to the controller's grasp check, as
    ``joint_states`` does on the robot.
    """

    def __init__(self, planner, world_model, image_size: int, name: str = 'planner',
                 control_dt: float = 0.1, mpc_config=None, grasp_check: bool = True):
        from jepa_ros.control import MPCNodeConfig
        from jepa_ros.control.runtime import MPCRuntime
        self.planner = planner
        self.world_model = world_model
        self.image_size = int(image_size)
        self.name = name
        self.plans = []
        self._t = 0.0
        self.control_dt = float(control_dt)
        self.grasp_check = bool(grasp_check)
        cfg = mpc_config or MPCNodeConfig(rate_hz=1.0 / self.control_dt)
        pcfg = planner.config
        self.runtime = MPCRuntime(planner, world_model, cfg,
                                  (pcfg.workspace_min, pcfg.workspace_max),
                                  time_fn=lambda: self._t)

    def begin(self, spec: EpisodeSpec, goal_images: List[np.ndarray]):
        """Forget the warm start; the goal image(s) are encoded at the first step."""
        from jepa_ros.planning import GoalSequence
        self.plans = []
        fitted = [fit_views(g, self.image_size) for g in goal_images]
        if len(fitted) == 1:
            goal = fitted[0]
        else:
            cfg = self.planner.config
            budget = 0 if cfg.subgoal_max_steps > 0 or cfg.subgoal_threshold is not None \
                else max(1, spec.steps // len(fitted))
            hold = spec.needs_hold if self.grasp_check else None
            goal = GoalSequence(fitted, max_steps=budget, needs_hold=hold)
        self.runtime.forget_commands()   # the episode starts with the gripper open again
        self.runtime.set_goal(goal, f'{spec.task} goal')

    def act(self, obs) -> np.ndarray:
        """Feed the frame and state to the controller; return the action it commands."""
        self._t += self.control_dt
        rt = self.runtime
        rt.image(fit_views(obs.image, self.image_size), now=self._t)
        rt.pose(np.asarray(obs.state[:6], dtype=np.float64), now=self._t)
        rt.gripper(float(obs.state[6]))
        closure = getattr(obs, 'finger_closure', float('nan'))
        rt.fingers(float(closure) if np.isfinite(closure) else None)
        result = rt.step()
        if result.plan is not None:
            self.plans.append(result.plan)
        return result.action


def fit_views(image: np.ndarray, size: int) -> np.ndarray:
    """Fit an (H, W, 3) image, or each image of a (V, H, W, 3) multi-view stack, to ``size``."""
    image = np.asarray(image)
    if image.ndim == 4:
        return np.stack([fit_image(v, size) for v in image])
    return fit_image(image, size)


def _above(p, z):
    return np.array([p[0], p[1], z])


class OraclePolicy:
    """
    Scripted controller that reads the true goal coordinates (not a world-model method).

    reach: straight to the goal. push: get behind the cube (above it first when on the wrong
    side), lower, push towards the goal. pick_place: above the cube, down, close, lift, carry,
    lower, open.
    """

    name = 'oracle'

    def __init__(self, step: float = 0.05):
        self.step = float(step)
        self.spec: Optional[EpisodeSpec] = None
        self.phase = 0
        self.wait = 0

    def begin(self, spec: EpisodeSpec, goal_images: List[np.ndarray]):
        """Remember the true goal; restart the script."""
        self.spec = spec
        self.phase = 0
        self.wait = 0

    def _towards(self, obs, target, gripper=None):
        a = np.zeros(7)
        a[:3] = np.clip(np.asarray(target) - obs.ee_pos, -self.step, self.step)
        if gripper is not None:
            a[6] = gripper - obs.gripper
        return a

    def act(self, obs) -> np.ndarray:
        """Return the scripted action for the current observation."""
        spec = self.spec
        if spec.task == 'reach':
            return self._towards(obs, spec.goal_ee[-1])
        if spec.task == 'push':
            return self._push(obs)
        return self._pick_place(obs)

    def _push(self, obs):
        goal = self.spec.goal_cube[-1]
        cube = obs.cube_pos
        delta = goal[:2] - cube[:2]
        dist = np.linalg.norm(delta)
        u = np.array([*(delta / max(dist, 1e-9)), 0.0])
        behind = cube - u * (CUBE_HALF + 0.03)
        behind[2] = 0.035
        ee = obs.ee_pos
        along = float(np.dot(ee[:2] - cube[:2], u[:2]))
        lateral = np.linalg.norm((ee[:2] - cube[:2]) - along * u[:2])
        if self.phase == 0:   # get behind the cube, over it if needed
            if along > -(CUBE_HALF + 0.01) and ee[2] < 0.09:
                return self._towards(obs, [ee[0], ee[1], 0.1])
            if np.linalg.norm(ee[:2] - behind[:2]) > 0.01:
                return self._towards(obs, [behind[0], behind[1], max(ee[2], 0.035)])
            if ee[2] > 0.04:
                return self._towards(obs, behind)
            self.phase = 1
        if lateral > 0.02 or along > 0:
            self.phase = 0
            return self._towards(obs, [ee[0], ee[1], 0.1])
        target = cube + u * min(dist, self.step)
        target = target - u * (CUBE_HALF + 0.015)
        target[2] = 0.035
        return self._towards(obs, target)

    def _pick_place(self, obs):
        spec = self.spec
        place = spec.goal_cube[-1]
        cube = obs.cube_pos
        if self.phase == 0:   # above the cube
            if np.linalg.norm(obs.ee_pos[:2] - cube[:2]) > 0.006:
                return self._towards(obs, _above(cube, max(obs.ee_pos[2], 0.1)), 0.0)
            self.phase = 1
        if self.phase == 1:   # down around it
            if obs.ee_pos[2] > CUBE_HALF + 0.01:
                return self._towards(obs, _above(cube, CUBE_HALF + 0.005), 0.0)
            self.phase, self.wait = 2, 0
        if self.phase == 2:   # close
            self.wait += 1
            if self.wait <= 3:
                return self._towards(obs, obs.ee_pos, min(1.0, GRASP_GRIPPER + 0.35))
            self.phase = 3
        grip = min(1.0, GRASP_GRIPPER + 0.35)
        if self.phase == 3:   # lift and carry above the place
            if obs.ee_pos[2] < 0.1 and np.linalg.norm(obs.ee_pos[:2] - place[:2]) > 0.01:
                return self._towards(obs, _above(obs.ee_pos, 0.12), grip)
            if np.linalg.norm(obs.ee_pos[:2] - place[:2]) > 0.006:
                return self._towards(obs, _above(place, 0.12), grip)
            self.phase = 4
        if self.phase == 4:   # lower
            if obs.ee_pos[2] > CUBE_HALF + 0.012:
                return self._towards(obs, _above(place, CUBE_HALF + 0.005), grip)
            self.phase = 5
        return self._towards(obs, obs.ee_pos, 0.0)   # open
