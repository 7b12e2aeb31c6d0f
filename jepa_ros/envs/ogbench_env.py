# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
OGBench visual manipulation envs (cube, scene, puzzle) behind the ``EnvSpec``/``EnvStep`` API.

The OGBench env runs as is (same physics, tasks, success test, goal set-up), made from its
gymnasium registration with the registered kwargs, but its per-step pixel observation is swapped
for a cheap snapshot of the simulator state. Frames come from one persistent ``mujoco.Renderer``
made once on the env's own model, through the same camera (``front_pixels``), size and scene
options as OGBench's observation; only the shadow-map size and multisampling are lowered
(``render_quality='fast'``), or kept as OGBench's (``'ogbench'``, pixel-identical). Goal frames
are drawn by the same renderer from the goal state the env sets up for a task.

Facts of ogbench 1.2.2 this relies on:

* action: 5-D in [-1, 1], relative end-effector (dx, dy, dz at 0.05 m, dyaw at 0.3 rad) and
  gripper opening (1.0); one step is 0.05 s (25 physics steps of 2 ms).
* tasks: numbered 1..5 (``options={'task_id': k}``); the goal is the state reached by putting the
  objects at the goal, a fresh random arm pose, then 2 (puzzle: 5) random steps.
* success: ``info['success']`` after each step (all objects at their goal); in play mode it only
  tells whether the current play target is reached.
* state: OGBench's own 19-D proprio layout (the head of its state observation): joint positions
  (6), joint velocities (6), (effector xyz - (0.425, 0, 0)) * 10, cos and sin of effector yaw,
  gripper opening * 3, gripper contact; read from ``info['proprio/...']``.
* play: the 'play' datasets come from ``mode='data_collection'`` episodes driven by the plan
  oracles (``ogbench.manipspace.oracles.plan``); :mod:`jepa_ros.envs.ogbench_play` drives them.
* cube success: every cube within 0.04 m of its target (a mocap body, invisible in the pixels);
  setting the targets to other positions gives the env's own check for another goal.

:meth:`OGBenchEnv.reset_offset_goal` makes stable-worldmodel's evaluation episodes (facts of its
``scripts/eval/config/cube.yaml``: start from a recorded state, goal = the state 25 steps later
in the same trajectory, cube targets set to the goal's cube poses, 50-step budget), with the
start and goal taken from a play episode made here instead of its expert dataset.
"""

import dataclasses

from jepa_ros.envs.base import EnvAdapter, EnvSetupError, EnvSpec, EnvStep
import numpy as np

OGBENCH_PIP = 'pip install ogbench==1.2.2'
CAMERA = 'front_pixels'
ACTION_NAMES = ('dx', 'dy', 'dz', 'dyaw', 'dgrip')
STATE_DIM = 19
# (shadow map size, MSAA samples) of the offscreen context; OGBench's own is (4096, 4). On a
# software GL (llvmpipe, 2 cores) a 64 px frame costs ~75 ms fast, ~150 ms antialiased and
# ~190 ms ogbench; mean abs difference to OGBench's frames ~1 (cube) to ~5 (scene, puzzle:
# aliased bright edges) fast, <= 0.5 antialiased, 0 ogbench.
RENDER_QUALITY = {'fast': (512, 0), 'antialiased': (1024, 4), 'ogbench': (4096, 4)}
_XYZ_CENTER = np.array([0.425, 0.0, 0.0])


def _import_ogbench():
    """Import ogbench (which registers its gymnasium envs), or say how to install it."""
    try:
        import gymnasium
        import ogbench  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f'OGBench envs need the ogbench package ({exc}): {OGBENCH_PIP}') from exc
    return gymnasium


def visual_manipulation_envs():
    """Return the registered OGBench visual manipulation env names this adapter takes."""
    gymnasium = _import_ogbench()
    return sorted(name for name, spec in gymnasium.registry.items()
                  if name.startswith('visual-')
                  and str(spec.entry_point).startswith('ogbench.manipspace'))


def _check_name(env_name):
    """Return the gymnasium spec of ``env_name``, or raise EnvSetupError saying what to use."""
    if not isinstance(env_name, str) or not env_name.startswith('visual-'):
        raise EnvSetupError(
            f'OGBenchEnv needs an OGBench visual manipulation env name such as '
            f"'visual-cube-single-v0' (got {env_name!r}); state-based envs are not supported")
    gymnasium = _import_ogbench()
    known = visual_manipulation_envs()
    if env_name in known:
        return gymnasium.spec(env_name)
    parts = env_name.split('-')
    hint = ''
    if len(parts) > 2 and parts[-2] in ('play', 'noisy', 'stitch', 'navigate', 'explore'):
        guess = '-'.join(parts[:-2] + parts[-1:])
        if guess in known:
            hint = f' ({env_name!r} names a dataset; its env is {guess!r})'
    if not hint and env_name in gymnasium.registry:
        hint = ' (not a manipulation env)'
    raise EnvSetupError(f'unknown OGBench env {env_name!r}{hint}; use one of: {", ".join(known)}')


_STATE_FIELDS = ('qpos', 'qvel', 'act', 'mocap_pos', 'mocap_quat')
# Poses as the renderer reads them: after mj_step they lag qpos by one physics step (2 ms), so a
# frame of a snapshot uses these rather than a fresh mj_forward of qpos.
_POSE_FIELDS = ('xpos', 'xmat', 'xquat', 'geom_xpos', 'geom_xmat', 'site_xpos', 'site_xmat',
                'cam_xpos', 'cam_xmat', 'light_xpos', 'light_xdir')
_MODEL_FIELDS = ('geom_rgba', 'mat_rgba', 'site_rgba', 'site_pos')


def _snapshot(model, data):
    """Copy what a frame of this moment depends on: state, poses, colours the env changed."""
    snap = {k: getattr(data, k).copy() for k in _STATE_FIELDS + _POSE_FIELDS}
    snap.update({k: getattr(model, k).copy() for k in _MODEL_FIELDS})
    return snap


_FAST_CLASSES = {}


def _fast_class(env_cls):
    """Subclass an OGBench env so its observation is a state snapshot instead of a rendering."""
    if env_cls not in _FAST_CLASSES:
        def get_pixel_observation(self):
            return _snapshot(self._model, self._data)

        def action_space(self):
            # OGBench samples the goal-settling steps from a fresh, unseeded Box on each call;
            # a seeded one makes a task's goal reproducible from the reset seed.
            fixed = getattr(self, 'fixed_action_space', None)
            return fixed if fixed is not None else env_cls.action_space.fget(self)

        _FAST_CLASSES[env_cls] = type(f'StateObs{env_cls.__name__}', (env_cls,), {
            'get_pixel_observation': get_pixel_observation,
            'action_space': property(action_space),
            '__doc__': f'{env_cls.__name__} whose observation is a state snapshot.',
        })
    return _FAST_CLASSES[env_cls]


class FrameRenderer:
    """One persistent offscreen renderer on an env's model, framed like OGBench's observation."""

    def __init__(self, model, image_size, cameras, quality='fast'):
        """Make the GL context for ``cameras`` (names) at ``image_size`` px and ``quality``."""
        import mujoco
        if quality not in RENDER_QUALITY:
            raise EnvSetupError(f'render_quality must be one of {sorted(RENDER_QUALITY)}, '
                                f'got {quality!r}')
        self._mujoco = mujoco
        self._model = model
        self._camera_ids = []
        for name in cameras:
            cam = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, name)
            if cam < 0:
                names = [model.camera(i).name for i in range(model.ncam)]
                raise EnvSetupError(f'unknown camera {name!r}; the model has {names}')
            self._camera_ids.append(cam)
        quality_settings = model.vis.quality
        saved = quality_settings.shadowsize, quality_settings.offsamples
        quality_settings.shadowsize, quality_settings.offsamples = RENDER_QUALITY[quality]
        try:
            self._renderer = mujoco.Renderer(model, height=image_size, width=image_size)
        finally:  # OGBench's own renderer, if it is ever made, keeps its settings
            quality_settings.shadowsize, quality_settings.offsamples = saved
        self._option = mujoco.MjvOption()  # OGBench's scene option is the default one
        self._scratch = mujoco.MjData(model)

    def render(self, data):
        """Return one (H, W, 3) uint8 frame per camera of the state in ``data``."""
        frames = []
        for cam in self._camera_ids:
            self._renderer.update_scene(data, camera=cam, scene_option=self._option)
            frames.append(self._renderer.render())
        return frames

    def render_snapshot(self, snap):
        """Render a ``_snapshot`` (e.g. a task's goal) without touching the env's own data."""
        m, d = self._model, self._scratch
        saved = {k: getattr(m, k).copy() for k in _MODEL_FIELDS}
        try:
            for key in _MODEL_FIELDS:
                getattr(m, key)[:] = snap[key]
            for key in _STATE_FIELDS:
                getattr(d, key)[:] = snap[key]
            self._mujoco.mj_forward(m, d)
            for key in _POSE_FIELDS:
                getattr(d, key)[:] = snap[key]
            return self.render(d)
        finally:
            for key, value in saved.items():
                getattr(m, key)[:] = value

    def close(self):
        """Free the GL context."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None


def proprio_state(info):
    """Return OGBench's 19-D proprio vector (float32) from a step's ``info``."""
    yaw = float(info['proprio/effector_yaw'][0])
    return np.concatenate([
        info['proprio/joint_pos'], info['proprio/joint_vel'],
        (info['proprio/effector_pos'] - _XYZ_CENTER) * 10.0, [np.cos(yaw), np.sin(yaw)],
        info['proprio/gripper_opening'] * 3.0, info['proprio/gripper_contact'],
    ]).astype(np.float32)


class OGBenchEnv(EnvAdapter):
    """An OGBench visual manipulation env with fast frames, tasks with goal images, play oracle."""

    def __init__(self, env_name: str, image_size: int = 64, seed: int = 0,
                 views=(CAMERA,), render_quality: str = 'fast'):
        """Build ``env_name`` (e.g. 'visual-cube-single-v0'); see ``RENDER_QUALITY``."""
        if isinstance(env_name, str) and env_name.startswith('ogbench:'):
            env_name = env_name[len('ogbench:'):]
        gym_spec = _check_name(env_name)
        if int(image_size) < 8:
            raise EnvSetupError(f'image_size must be at least 8, got {image_size}')
        if render_quality not in RENDER_QUALITY:
            raise EnvSetupError(f'render_quality must be one of {sorted(RENDER_QUALITY)}, '
                                f'got {render_quality!r}')
        gymnasium = _import_ogbench()
        from gymnasium.envs.registration import load_env_creator

        env_cls = _fast_class(load_env_creator(gym_spec.entry_point))
        kwargs = dict(gym_spec.kwargs)
        kwargs.update(width=int(image_size), height=int(image_size), mode='task',
                      terminate_at_goal=False)
        self._env = env_cls(**kwargs)
        self._env.fixed_action_space = gymnasium.spaces.Box(
            -1.0, 1.0, (5,), np.float32, seed=int(seed))
        self._env._mode = 'data_collection'
        self._env.reset(seed=int(seed))  # compiles the model
        self._model = self._env.model
        self._quality = render_quality
        self._renderer = FrameRenderer(self._model, int(image_size), tuple(views), render_quality)
        self._task_id = None
        self._episode = 0
        self._t = None
        self.spec = EnvSpec(
            name=f'ogbench:{env_name}', action_low=(-1.0,) * 5, action_high=(1.0,) * 5,
            state_dim=STATE_DIM, image_size=int(image_size), views=tuple(views),
            control_dt=float(self._env.control_timestep()),
            max_episode_steps=int(gym_spec.max_episode_steps),
            num_tasks=int(self._env.num_tasks), action_names=ACTION_NAMES)

    @property
    def unwrapped(self):
        """Return the OGBench env itself (its observations are state snapshots)."""
        return self._env

    @property
    def task_id(self):
        """Task of the current episode (1..num_tasks), or None in a play episode."""
        return self._task_id

    def _refresh_model(self):
        if self._env.model is not self._model:  # recompiled: the renderer must follow
            self._renderer.close()
            self._model = self._env.model
            self._renderer = FrameRenderer(self._model, self.spec.image_size, self.spec.views,
                                           self._quality)

    def _env_step(self, info, success, render=True):
        info = {k: v for k, v in info.items() if k not in ('goal', 'goal_rendered')}
        info.update(success=bool(success), task_id=self._task_id, t=self._t,
                    truncated=self._t >= self.spec.max_episode_steps)
        frames = self._renderer.render(self._env.data) if render else None
        return EnvStep(frames=frames, state=proprio_state(info), success=bool(success),
                       info=info)

    def reset(self, seed=None, task_id=None, ogbench_goal=False):
        """
        Start an episode: a random play scene (task_id None) or evaluation task 1..num_tasks.

        Return ``(EnvStep, goal_frames)``, goal_frames a list with one frame per view for a
        task, None in play. ``ogbench_goal=True`` also has OGBench render the goal itself, into
        ``info['ogbench_goal']`` (slow; for checking the fast renderer).
        """
        if seed is not None:
            self._env.fixed_action_space.seed(int(seed))
        options = {}
        if task_id is None:
            self._env._mode = 'data_collection'
        else:
            if isinstance(task_id, bool) or not isinstance(task_id, (int, np.integer)) or not (
                    1 <= task_id <= self.spec.num_tasks):
                raise ValueError(f'task_id must be an integer in 1..{self.spec.num_tasks} '
                                 f'(OGBench numbers tasks from 1), got {task_id!r}')
            self._env._mode = 'task'
            options = {'task_id': int(task_id), 'render_goal': bool(ogbench_goal)}
        _, info = self._env.reset(seed=None if seed is None else int(seed), options=options)
        self._refresh_model()
        self._task_id = None if task_id is None else int(task_id)
        self._episode += 1
        self._t = 0
        goal = None
        if task_id is not None:
            goal = self._renderer.render_snapshot(info['goal'])
        ogbench_frame = info.get('goal_rendered') if ogbench_goal else None
        step = self._env_step(info, False)
        if ogbench_frame is not None:
            step.info['ogbench_goal'] = ogbench_frame
        return step, goal

    def reset_offset_goal(self, seed: int, offset: int = 25, max_start: int = 150):
        """
        Start an episode whose goal lies ``offset`` play steps ahead of its start.

        A seeded play episode runs its oracle for a start step drawn from 0..``max_start``,
        saves the whole simulator state, runs ``offset`` more steps and keeps that frame as the
        goal; then the saved state is restored and every cube's target is put at its goal pose,
        so that the env's own success test (all cubes within 0.04 m) judges the episode. Return
        ``(EnvStep, goal_frames, detail)``; ``detail`` has the start step, how far the cubes
        moved between start and goal (``cube_moved_m``: under 0.04 m the start already counts
        as a success) and the oracle's ``actions`` from start to goal (replayed from the start
        they reach the goal: the physics is deterministic). Cube envs only: other objects'
        goals are not mocap targets.
        """
        from ogbench.manipspace.envs.cube_env import CubeEnv
        import mujoco
        env = self._env
        if not isinstance(env, CubeEnv):
            raise EnvSetupError(f'offset goals need a cube env (success is each cube at its '
                                f'target pose); {self.spec.name} is '
                                f'{type(env).__name__.replace("StateObs", "")}')
        if int(offset) < 1 or int(max_start) < 0:
            raise ValueError(f'offset must be >= 1 and max_start >= 0, got {offset}, {max_start}')
        rng = np.random.default_rng(int(seed))
        step, _ = self.reset(seed=int(seed))
        policy = self.play_policy(int(seed))
        start_t = int(rng.integers(0, int(max_start) + 1))
        for _ in range(start_t):     # no frames on the way (rendering is ~97 % of a step)
            step = self._step(policy(step), render=False)
        if step.frames is None:
            step = dataclasses.replace(step, frames=self._renderer.render(env.data))
        # everything mj_step reads, the solver's warm start too: a replay is then exact
        kind = int(mujoco.mjtState.mjSTATE_INTEGRATION) | int(mujoco.mjtState.mjSTATE_WARMSTART)
        saved = np.empty(mujoco.mj_stateSize(env.model, kind))
        mujoco.mj_getState(env.model, env.data, saved, kind)
        start = step
        cubes = [f'object_joint_{i}' for i in range(env._num_cubes)]
        start_pos = np.array([env.data.joint(c).qpos[:3] for c in cubes])
        actions = []
        for _ in range(int(offset)):
            actions.append(policy(step))
            step = self._step(actions[-1], render=False)
        goal_frames = list(self._renderer.render(env.data))
        goal_pose = [env.data.joint(c).qpos.copy() for c in cubes]
        mujoco.mj_setState(env.model, env.data, saved, kind)
        for i, pose in enumerate(goal_pose):
            mocap = env._cube_target_mocap_ids[i]
            env.data.mocap_pos[mocap] = pose[:3]
            env.data.mocap_quat[mocap] = pose[3:]
        mujoco.mj_forward(env.model, env.data)
        env._mode = 'task'        # success: every cube at its target, as in OGBench's tasks
        env.post_step()
        self._t = 0
        moved = float(np.max(np.linalg.norm(np.array([p[:3] for p in goal_pose]) - start_pos,
                                            axis=1)))
        info = dict(start.info, success=bool(env._success), t=0, offset_goal=True)
        first = EnvStep(frames=start.frames, state=start.state, success=bool(env._success),
                        info=info)
        return first, goal_frames, {'start_step': start_t, 'offset': int(offset),
                                    'cube_moved_m': moved, 'actions': np.array(actions)}

    def step(self, action) -> EnvStep:
        """Apply one normalised action, clipped to [-1, 1], for one control period (0.05 s)."""
        return self._step(action)

    def _step(self, action, render=True) -> EnvStep:
        if self._t is None:
            raise RuntimeError('call reset() before step()')
        action = np.asarray(action, dtype=np.float64).reshape(-1)
        if action.shape != (5,) or not np.all(np.isfinite(action)):
            raise ValueError(f'action must be 5 finite numbers, got {action!r}')
        _, _, _, _, info = self._env.step(np.clip(action, -1.0, 1.0))
        self._t += 1
        return self._env_step(info, info['success'], render)

    def ogbench_frames(self):
        """Render the current state with OGBench's own renderer (slow; for checks)."""
        return [self._env.render(camera=name) for name in self.spec.views]

    def play_policy(self, rng_seed):
        """Return OGBench's scripted play oracle as ``policy(step) -> action`` (play resets)."""
        from jepa_ros.envs.ogbench_play import PlayPolicy
        return PlayPolicy(self, rng_seed)

    def close(self):
        """Free the renderers and the env."""
        self._renderer.close()
        own = getattr(self._env, '_renderer', None)
        if own is not None:
            own.close()
            self._env._renderer = None
        self._env.close()
