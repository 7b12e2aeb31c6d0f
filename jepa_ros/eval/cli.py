# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
``jepa-ros eval``: closed-loop success of the world-model planner in the simulated arm.

Runs in-process (no ROS, one torch thread): for each task, ``--episodes`` seeded episodes with
the planner and, on the same episodes, the baselines (random actions; the same planner with an
untrained model of the same architecture). Writes ``results.json``, ``summary.png`` and
``episodes.gif`` to ``--out`` and prints a table. See docs/evaluation.md.
"""

import os
import sys

from jepa_ros.utils.config import ConfigError

TASK_CHOICES = ('reach', 'push', 'pick_place', 'all')


def _csv(value):
    return tuple(v.strip() for v in value.split(',') if v.strip())


def add_arguments(parser):
    """Add the evaluation options and every PlannerConfig option."""
    from jepa_ros.planning.config import PlannerConfig
    from jepa_ros.utils.config import add_arguments as add_config_arguments
    parser.add_argument('--task', default='reach',
                        help='reach, push, pick_place, a comma list, or all (default: reach)')
    parser.add_argument('--episodes', type=int, default=10, help='episodes per task (default 10)')
    parser.add_argument('--seed', type=int, default=0,
                        help='draws the episodes and seeds the planner (default 0)')
    parser.add_argument('--checkpoint', default='default',
                        help='model name/dir or official .pt (default: the shipped "default"; '
                             'until it exists a labelled random-weight model)')
    parser.add_argument('--out', default='out/eval', help='output folder (default out/eval)')
    parser.add_argument('--baselines', default='random,untrained',
                        help='comma list of random, untrained, hold, oracle; "none" for none '
                             '(default random,untrained)')
    parser.add_argument('--steps', type=int, default=0,
                        help='step budget per episode (default 0: reach 30, push 40, '
                             'pick_place 60)')
    parser.add_argument('--camera-size', type=int, default=128,
                        help='rendered image size in px (frames are fitted to the model size)')
    parser.add_argument('--device', default='cpu', help='cpu, cuda, cuda:N or auto')
    parser.add_argument('--dtype', default='auto',
                        help='auto (fp32: bf16 costs plan quality, see README), fp32, bf16 or '
                             'int8 (compact models on a CPU)')
    parser.add_argument('--videos', type=int, default=2, help='episodes per task in the GIF')
    parser.add_argument('--no-fallback', action='store_true',
                        help='fail instead of using a random-weight model when "default" is '
                             'missing')
    parser.add_argument('--cameras', default='',
                        help="comma list of the scene's cameras, one per model view (default: "
                             'the names stored with the model, else the default camera)')
    parser.add_argument('--variation', default='none', choices=('none', 'train', 'unseen'),
                        help='scene appearance per episode: none (nominal), train (the '
                             'randomised play-data family) or unseen (a held-out family)')
    parser.add_argument('--no-grasp-check', action='store_true',
                        help='pick_place: leave the grasp sub-goal on its step budget alone, '
                             'not once the fingers hold the cube (the gripper is then free to '
                             'open while carrying)')
    parser.add_argument('--quiet', action='store_true', help='no progress bar')
    parser.add_argument('--env', default='',
                        help='evaluate on another environment instead of the simulated arm: '
                             'ogbench:<env> or gym:<id>, on its own tasks, goal images and '
                             'success check (--checkpoint must be a model trained on it)')
    parser.add_argument('--env-tasks', default='',
                        help='with --env: comma list of task ids (default: all of them)')
    parser.add_argument('--goal-offset', type=int, default=0,
                        help='with --env (cube envs): instead of its tasks, goals N play steps '
                             'ahead of the start, as stable-worldmodel evaluates (25 there; '
                             'budget --steps, default 2 N)')
    from jepa_ros.eval.runner import CPU_PLANNER_DEFAULTS
    add_config_arguments(parser, PlannerConfig, skip=('seed', 'profile'),
                         defaults=CPU_PLANNER_DEFAULTS)
    return parser


def config_from_args(args):
    """Return (EvalConfig, PlannerConfig) from parsed options; ConfigError on a bad value."""
    from jepa_ros.eval.runner import CPU_PLANNER_DEFAULTS, EvalConfig
    from jepa_ros.eval.tasks import TASKS
    from jepa_ros.planning.config import PlannerConfig
    from jepa_ros.utils.config import from_args, from_dict
    tasks = _csv(args.task)
    if 'all' in tasks:
        tasks = TASKS
    baselines = () if args.baselines.strip().lower() == 'none' else _csv(args.baselines)
    cfg = EvalConfig(tasks=tasks, episodes=args.episodes, seed=args.seed,
                     checkpoint=args.checkpoint, out=args.out, baselines=baselines,
                     steps=args.steps, camera_size=args.camera_size, device=args.device,
                     dtype=args.dtype, videos=args.videos, allow_fallback=not args.no_fallback,
                     cameras=_csv(args.cameras), variation=args.variation,
                     grasp_check=not getattr(args, 'no_grasp_check', False))
    from jepa_ros.sim.config import SimConfig
    sim = SimConfig()   # plan inside the simulator's workspace box (it clamps to it anyway)
    # The planner node's precedence: cpu profile < the model's own recommendation (its
    # config.json extra.planner) < options given here.
    from jepa_ros.control.profiles import model_recommendation
    values = dict(CPU_PLANNER_DEFAULTS, workspace_min=sim.workspace_low,
                  workspace_max=sim.workspace_high)
    values.update(model_recommendation(args.checkpoint))
    base = from_dict(PlannerConfig, dict(values, seed=args.seed))
    return cfg, from_args(PlannerConfig, args, base=base)


def format_table(results) -> str:
    """Return the printed summary: one row per task and method."""
    rows = [f'{"task":<11} {"method":<10} {"success":>8} {"final d [cm]":>12} {"steps":>6} '
            f'{"plan ms":>8} {"p95 ms":>7} {"loop Hz":>8}']
    for task, methods in results['tasks'].items():
        for name, s in methods.items():
            def num(key, fmt):
                v = s.get(key)
                return format(v, fmt) if v is not None and v == v else '-'
            rows.append(f'{task:<11} {name:<10} {s["successes"]:>3}/{s["episodes"]:<4} '
                        f'{100 * s["final_distance_m_mean"]:>12.1f} {s["steps_mean"]:>6.1f} '
                        f'{num("plan_ms_mean", ".0f"):>8} {num("plan_ms_p95", ".0f"):>7} '
                        f'{num("loop_hz", ".1f"):>8}')
    return '\n'.join(rows)


def run(args) -> int:
    """Run the evaluation; 0 on success (whatever the success rate), 2 on a bad setting."""
    os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
    os.environ.setdefault('MUJOCO_GL', 'egl')
    if getattr(args, 'env', ''):
        from jepa_ros.eval.env_cli import run_env
        return run_env(args)
    try:
        cfg, planner_cfg = config_from_args(args)
    except ConfigError as exc:
        print(f'jepa-ros eval: {exc}', file=sys.stderr)
        return 2
    from pathlib import Path

    from jepa_ros.control.loading import checkpoint_family, configure_threads, resolve_device
    from jepa_ros.eval.models import load_world_model_or_fallback
    from jepa_ros.eval.report import save_episode_video, save_summary_png, write_results
    from jepa_ros.eval.runner import run_eval
    from jepa_ros.models import resolve_precision
    from jepa_ros.sim import SimArm, SimConfig
    from jepa_ros.utils.config import to_dict
    try:
        device = resolve_device(cfg.device)
        configure_threads(0, device)   # one torch thread on CPU: the simulator shares the cores
        cfg.dtype = resolve_precision(cfg.dtype, device, checkpoint_family(cfg.checkpoint))
        loaded = load_world_model_or_fallback(cfg.checkpoint, device, cfg.dtype,
                                              cfg.allow_fallback)
    except ConfigError as exc:
        print(f'jepa-ros eval: {exc}', file=sys.stderr)
        return 2
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    sim_cfg = SimConfig(image_size=cfg.camera_size, variation=cfg.variation)
    print(f'model: {loaded.description} ({cfg.dtype}); planner {planner_cfg.method} '
          f'{planner_cfg.samples} '
          f'samples x {planner_cfg.iterations} iterations, horizon {planner_cfg.horizon}')
    try:
        with SimArm(sim_cfg) as sim:
            results = run_eval(cfg, planner_cfg, loaded, sim, progress=not args.quiet)
    except ConfigError as exc:
        print(f'jepa-ros eval: {exc}', file=sys.stderr)
        return 2
    results['config'] = {'eval': to_dict(cfg), 'planner': to_dict(planner_cfg),
                         'sim': to_dict(sim_cfg), 'device': device,
                         'torch_threads': _torch_threads(), 'cpu_count': os.cpu_count()}
    paths = [write_results(out / 'results.json', results),
             save_summary_png(out / 'summary.png', results)]
    if results['_video']:
        paths.append(save_episode_video(out / 'episodes.gif', results['_video']))
    print(format_table(results))
    if not loaded.trained:
        print('NOTE: the planner used a RANDOM-WEIGHT model (no trained default yet)')
    for p in paths:
        print(f'wrote {p}')
    return 0


def _torch_threads():
    import torch
    return torch.get_num_threads()
