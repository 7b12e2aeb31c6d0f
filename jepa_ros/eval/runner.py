# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Run evaluation episodes in-process (no ROS) and aggregate them.

One episode: reset the scene to the task's start, render its goal image(s), then loop policy ->
``SimArm.step`` until the task's success check holds or the step budget is spent. The planner
and every baseline see the same episodes (same seed), so their numbers sit side by side.
"""

import dataclasses
import time
from typing import Callable, Dict, List, Optional, Tuple

from jepa_ros.control.profiles import PROFILES
from jepa_ros.eval.tasks import goal_images, make_episodes, render_views, reset_to_start
from jepa_ros.eval.tasks import task_distance, TASKS
from jepa_ros.utils.config import ConfigError
import numpy as np

BASELINES = ('random', 'untrained', 'hold', 'oracle')
# Planner settings that keep one replanning step near 0.2 s for the tiny default model on one
# CPU thread (the official 400 x 10, horizon 2 takes tens of seconds there), with the energy that
# measured best for small models (changed-token weighting) and the training-support trust region
# (no drifting into the workspace corners): README's lever table. Any PlannerConfig option given
# on the command line overrides these.
# eval's defaults on a CPU: the planner node's 'cpu' profile (one place for both)
CPU_PLANNER_DEFAULTS = PROFILES['cpu']


@dataclasses.dataclass
class EvalConfig:
    """What to evaluate and where to write it (``jepa-ros eval``)."""

    tasks: Tuple[str, ...] = ('reach',)
    episodes: int = 10
    seed: int = 0
    checkpoint: str = 'default'
    out: str = 'out/eval'
    baselines: Tuple[str, ...] = ('random', 'untrained')
    steps: int = 0                 # step budget per episode; 0: the task's default
    camera_size: int = 128         # rendered camera / goal images (fitted to the model size)
    device: str = 'cpu'
    dtype: str = 'auto'   # resolved with jepa_ros.models.resolve_precision before loading
    videos: int = 2                # episodes per task shown in the GIF
    allow_fallback: bool = True    # missing 'default' model -> labelled random-weight model
    cameras: Tuple[str, ...] = ()  # the model's views; () -> from its checkpoint, else default
    variation: str = 'none'        # scene appearance per episode (SimConfig.variation)
    # Sub-goals showing the cube in the air are planned with it in hand: the grasp before
    # them is left once the fingers hold it, and the gripper stays shut (GoalSequence).
    grasp_check: bool = True

    def validate(self):
        """Raise ConfigError naming the first bad field."""
        if not self.tasks:
            raise ConfigError('EvalConfig.tasks must name at least one task')
        for t in self.tasks:
            if t not in TASKS:
                raise ConfigError(f'unknown task {t!r}; tasks: {", ".join(TASKS)}')
        for b in self.baselines:
            if b not in BASELINES:
                raise ConfigError(f'unknown baseline {b!r}; baselines: {", ".join(BASELINES)}')
        if self.episodes < 1:
            raise ConfigError(f'EvalConfig.episodes must be >= 1, got {self.episodes}')
        if self.steps < 0:
            raise ConfigError(f'EvalConfig.steps must be >= 0 (0: task default), got '
                              f'{self.steps}')
        if not 16 <= self.camera_size <= 1024:
            raise ConfigError(f'EvalConfig.camera_size must be in 16..1024, got '
                              f'{self.camera_size}')
        if self.videos < 0:
            raise ConfigError(f'EvalConfig.videos must be >= 0, got {self.videos}')
        return self

    def __post_init__(self):
        self.tasks = tuple(self.tasks)
        self.baselines = tuple(self.baselines)
        self.cameras = tuple(self.cameras)
        self.validate()


def run_episode(sim, spec, policy, goals: List[np.ndarray], keep_frames: bool = False,
                clock: Callable[[], float] = time.perf_counter, cameras=()) -> dict:
    """
    Run one closed-loop episode; return its record (distances in metres, times in ms).

    ``frames`` (camera images after each step, first one the start) is filled only with
    ``keep_frames``. ``step_ms`` is policy + simulator step + render: one loop iteration.
    With several ``cameras`` the policy sees ``obs.image`` as a (V, H, W, 3) stack of their
    images (frames show them side by side); one non-default camera replaces the image.
    """
    def views(o):
        if not cameras or tuple(cameras) == (sim.config.camera,):
            return o      # the observation already holds the default camera's image
        return dataclasses.replace(o, image=render_views(sim, cameras))

    def frame(o):
        return o.image if o.image.ndim == 3 else np.concatenate(list(o.image), axis=1)

    obs = views(reset_to_start(sim, spec))
    policy.begin(spec, goals)
    distances = [task_distance(spec, obs)]
    frames = [frame(obs)] if keep_frames else []
    step_ms, success, steps = [], distances[0] <= spec.threshold, 0
    while not success and steps < spec.steps:
        t0 = clock()
        action = policy.act(obs)
        obs = views(sim.step(action))
        step_ms.append(1e3 * (clock() - t0))
        steps += 1
        distances.append(task_distance(spec, obs))
        success = distances[-1] <= spec.threshold
        if keep_frames:
            frames.append(frame(obs))
    plans = getattr(policy, 'plans', [])
    plan_ms = [p.ms for p in plans]
    return {
        'task': spec.task, 'index': spec.index, 'method': policy.name,
        'success': bool(success), 'steps': steps,
        'final_distance_m': distances[-1], 'min_distance_m': float(min(distances)),
        'start_distance_m': distances[0], 'distances_m': [round(d, 5) for d in distances],
        'plan_ms': [round(m, 2) for m in plan_ms],
        'step_ms': [round(m, 2) for m in step_ms],
        'plans_ok': int(sum(p.ok for p in plans)),
        'goal_index': [int(p.goal_index) for p in plans],
        **({'goal_position_m': [round(float(v), 4) for v in plans[0].goal_position],
            'probe_error_m': [round(float(p.probe_error), 4) for p in plans
                              if p.probe_error is not None]}
           if plans and plans[0].goal_position is not None else {}),
        'final_cube_m': [round(float(v), 4) for v in obs.cube_pos],
        'final_ee_m': [round(float(v), 4) for v in obs.ee_pos],
        'spec': spec.to_dict(), 'frames': frames, 'goals': goals,
    }


def _p95(values):
    return float(np.percentile(values, 95)) if len(values) else float('nan')


def summarize(records: List[dict]) -> dict:
    """Return success rate, distances and timing over episode records of one method/task."""
    plan_ms = [m for r in records for m in r['plan_ms']]
    step_ms = [m for r in records for m in r['step_ms']]
    mean_step = float(np.mean(step_ms)) if step_ms else float('nan')
    return {
        'episodes': len(records),
        'success_rate': float(np.mean([r['success'] for r in records])) if records else 0.0,
        'successes': int(sum(r['success'] for r in records)),
        'final_distance_m_mean': float(np.mean([r['final_distance_m'] for r in records])),
        'final_distance_m_median': float(np.median([r['final_distance_m'] for r in records])),
        'steps_mean': float(np.mean([r['steps'] for r in records])),
        'plan_ms_mean': float(np.mean(plan_ms)) if plan_ms else float('nan'),
        'plan_ms_p95': _p95(plan_ms),
        'step_ms_mean': mean_step,
        'loop_hz': 1e3 / mean_step if step_ms else float('nan'),
    }


def build_policies(cfg: EvalConfig, planner_cfg, loaded, log=print,
                   control_dt: float = 0.1) -> Dict[str, object]:
    """Return {method name: policy}: 'planner' first, then the requested baselines."""
    from jepa_ros.eval.models import untrained_like
    from jepa_ros.eval.policies import HoldPolicy, OraclePolicy, PlannerPolicy, RandomPolicy
    from jepa_ros.planning import make_planner
    dt = control_dt
    policies = {'planner': PlannerPolicy(make_planner(loaded.world_model, planner_cfg),
                                         loaded.world_model, loaded.image_size, 'planner',
                                         control_dt=dt, grasp_check=cfg.grasp_check)}
    for b in cfg.baselines:
        if b == 'untrained':
            if not loaded.trained:
                log('note: the model under test is itself random-weight; the untrained baseline '
                    'uses another random seed')
            twin = untrained_like(loaded.world_model, seed=cfg.seed + 1)
            policies[b] = PlannerPolicy(make_planner(twin, dataclasses.replace(planner_cfg)),
                                        twin, loaded.image_size, 'untrained', control_dt=dt,
                                        grasp_check=cfg.grasp_check)
        elif b == 'random':
            policies[b] = RandomPolicy(cfg.seed, max_translation=planner_cfg.maxnorm,
                                       gripper=planner_cfg.gripper_high)
        elif b == 'hold':
            policies[b] = HoldPolicy()
        else:
            policies[b] = OraclePolicy()
    return policies


def run_eval(cfg: EvalConfig, planner_cfg, loaded, sim, progress: bool = True,
             log=print, on_episode: Optional[Callable[[dict], None]] = None) -> dict:
    """
    Evaluate every task x method on the same seeded episodes; return results (see docs).

    Frames are kept for the first ``cfg.videos`` episodes of the planner per task (records
    under ``_video``); everything else in the result is JSON-ready.
    """
    from tqdm import tqdm
    cameras = resolve_cameras(cfg, loaded, sim)
    policies = build_policies(cfg, planner_cfg, loaded, log, control_dt=sim.config.control_dt)
    specs = {t: make_episodes(t, cfg.episodes, cfg.seed, sim, cfg.steps) for t in cfg.tasks}
    bar = tqdm(total=sum(len(s) for s in specs.values()) * len(policies), disable=not progress,
               unit='episode', dynamic_ncols=True)
    tasks, videos, t_start = {}, [], time.monotonic()
    try:
        for task, task_specs in specs.items():
            per_method = {name: [] for name in policies}
            for spec in task_specs:
                goals = goal_images(sim, spec, cfg.camera_size, cameras)
                for name, policy in policies.items():
                    keep = name == 'planner' and spec.index < cfg.videos
                    rec = run_episode(sim, spec, policy, goals, keep_frames=keep,
                                      cameras=cameras)
                    if keep:
                        videos.append(rec)
                    per_method[name].append(rec)
                    if on_episode is not None:
                        on_episode(rec)
                    bar.set_description(f'{task} {name}')
                    bar.set_postfix(ok=f'{sum(r["success"] for r in per_method[name])}/'
                                    f'{len(per_method[name])}')
                    bar.update(1)
            tasks[task] = {name: dict(summarize(recs), records=[_jsonable(r) for r in recs])
                           for name, recs in per_method.items()}
    finally:
        bar.close()
    planner_recs = [r for t in tasks.values() for r in t['planner']['records']]
    overall = summarize(planner_recs) if planner_recs else {}
    return {
        'success_rate': overall.get('success_rate', 0.0),
        'plan_ms_mean': overall.get('plan_ms_mean'), 'plan_ms_p95': overall.get('plan_ms_p95'),
        'loop_hz': overall.get('loop_hz'),
        'model': {'description': loaded.description, 'trained': loaded.trained,
                  'checkpoint': loaded.checkpoint, 'image_size': loaded.image_size,
                  'cameras': list(cameras)},
        'methods': list(policies), 'tasks': tasks,
        'wall_time_s': time.monotonic() - t_start, '_video': videos,
    }


def resolve_cameras(cfg: EvalConfig, loaded, sim) -> Tuple[str, ...]:
    """
    Return the cameras whose images the model sees, one per view; ConfigError when they don't fit.

    ``cfg.cameras`` wins, then the names stored with the model; a single-view model without names
    uses the simulator's default camera.
    """
    views = int(getattr(loaded.world_model, 'num_views', 1))
    cameras = tuple(cfg.cameras) or tuple(getattr(loaded, 'cameras', ()) or ())
    if not cameras:
        if views > 1:
            raise ConfigError(f'the model expects {views} camera views but names none; pass '
                              f'--cameras with {views} of: {", ".join(sim.camera_names)}')
        return ()
    if len(cameras) != views:
        raise ConfigError(f'the model expects {views} camera view(s), --cameras gives '
                          f'{len(cameras)}: {", ".join(cameras)}')
    unknown = [c for c in cameras if c not in sim.camera_names]
    if unknown:
        raise ConfigError(f'unknown camera(s) {", ".join(unknown)}; the scene has: '
                          f'{", ".join(sim.camera_names)}')
    return cameras


def _jsonable(rec: dict) -> dict:
    return {k: v for k, v in rec.items() if k not in ('frames', 'goals')}
