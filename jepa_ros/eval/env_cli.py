# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
The ``--env`` branch of ``jepa-ros eval``: load the model, check it fits the env, run, report.

Planner settings follow the same precedence as on the arm: the cpu profile < the model's own
recommendation (config.json ``extra.planner``) < options given on the command line.
"""

import os
from pathlib import Path

from jepa_ros.utils.config import ConfigError

# Published success rates on OGBench cube (stable-worldmodel's common protocol), for the plot.
PUBLISHED = {'ogbench:visual-cube-single-v0': {'DINO-WM': 86.0, 'LeWM': 74.0, 'PLDM': 65.0}}


def check_model_fits(wm, spec):
    """Raise ConfigError unless the world model was trained on this env's actions and views."""
    space = getattr(wm, 'action_space', None)
    if not space or space.get('kind') != 'box':
        raise ConfigError(f'the model plans the 7-D actions of the simulated arm, not the action '
                          f'box of {spec.name}: train one on its episodes (jepa-ros collect '
                          f'--env {spec.name} ..., then jepa-ros train-wm) and pass it with '
                          f'--checkpoint')
    k = int(getattr(wm, 'action_repeat', 1))
    low = [v / k for v in space['low']]
    high = [v / k for v in space['high']]
    if len(low) != len(spec.action_low) or not (
            all(abs(a - b) < 1e-6 for a, b in zip(low, spec.action_low))
            and all(abs(a - b) < 1e-6 for a, b in zip(high, spec.action_high))):
        raise ConfigError(f'the model was trained on the action box {low}..{high} (per env '
                          f'step), {spec.name} has {list(spec.action_low)}..'
                          f'{list(spec.action_high)}')
    views = int(getattr(wm, 'num_views', 1))
    if views != len(spec.views):
        raise ConfigError(f'the model takes {views} view(s), {spec.name} gives '
                          f'{len(spec.views)} ({", ".join(spec.views)})')


def run_env(args) -> int:
    """Evaluate ``--checkpoint`` on ``--env``; 0 on success (whatever the success rate)."""
    from jepa_ros.control.loading import checkpoint_family, configure_threads, resolve_device
    from jepa_ros.control.profiles import model_recommendation, PROFILES
    from jepa_ros.envs import make_env
    from jepa_ros.eval.env_eval import run_env_eval, save_env_summary_png, save_env_video
    from jepa_ros.eval.models import load_world_model_or_fallback
    from jepa_ros.eval.report import write_results
    from jepa_ros.models import resolve_precision
    from jepa_ros.planning import make_planner
    from jepa_ros.planning.config import PlannerConfig
    from jepa_ros.utils.config import from_args, from_dict, to_dict
    device = resolve_device(args.device)
    configure_threads(0, device)
    dtype = resolve_precision(args.dtype, device, checkpoint_family(args.checkpoint))
    loaded = load_world_model_or_fallback(args.checkpoint, device, dtype, allow_fallback=False)
    values = dict(PROFILES['cpu'])
    values.pop('support_std', None)   # a trust region in metres means nothing in a box
    values.update(model_recommendation(args.checkpoint))
    base = from_dict(PlannerConfig, dict(values, seed=args.seed))
    planner_cfg = from_args(PlannerConfig, args, base=base)
    try:
        env = make_env(args.env, image_size=loaded.image_size, seed=args.seed)
    except ImportError as exc:
        raise ConfigError(str(exc)) from None
    try:
        check_model_fits(loaded.world_model, env.spec)
        n = env.spec.num_tasks
        if n <= 0:
            raise ConfigError(f'{env.spec.name} has no evaluation tasks (num_tasks 0)')
        tasks = [int(t) for t in args.env_tasks.split(',') if t.strip()] or list(
            range(1, n + 1))
        bad = [t for t in tasks if not 1 <= t <= n]
        if bad:
            raise ConfigError(f'--env-tasks {bad}: {env.spec.name} has tasks 1..{n}')
        offset = int(getattr(args, 'goal_offset', 0) or 0)
        if offset < 0:
            raise ConfigError(f'--goal-offset must be >= 0, got {offset}')
        if offset and not hasattr(env, 'reset_offset_goal'):
            raise ConfigError(f'--goal-offset needs an OGBench cube env, not {env.spec.name}')
        steps = args.steps if args.steps > 0 else (
            2 * offset if offset else env.spec.max_episode_steps)
        baselines = [] if args.baselines.strip().lower() == 'none' else [
            b.strip() for b in args.baselines.split(',') if b.strip() and b.strip() != 'untrained']
        planner = make_planner(loaded.world_model, planner_cfg)
        repeat = int(getattr(loaded.world_model, 'action_repeat', 1))
        what = f'goals {offset} play steps ahead' if offset else f'tasks {tasks}'
        print(f'model: {loaded.description}; {env.spec.name}: {what}, {args.episodes} '
              f'episodes each, {steps}-step budget, {repeat} env step(s) per plan; planner '
              f'{planner_cfg.method} {planner_cfg.samples} x {planner_cfg.iterations}, '
              f'horizon {planner_cfg.horizon}')
        results = run_env_eval(env, planner, tasks, args.episodes, steps, seed=args.seed,
                               baselines=baselines, videos=args.videos,
                               progress=not args.quiet, action_repeat=repeat,
                               goal_offset=offset)
    finally:
        env.close()
    import torch
    results['model'] = {'checkpoint': args.checkpoint, 'description': loaded.description}
    results['config'] = {'planner': to_dict(planner_cfg), 'device': device, 'dtype': dtype,
                         'torch_threads': torch.get_num_threads(), 'cpu_count': os.cpu_count()}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [write_results(out / 'results.json', results),
             save_env_summary_png(out / 'summary.png', results, PUBLISHED.get(env.spec.name))]
    if results['_video']:
        paths.append(save_env_video(out / 'episodes.gif', results['_video']))
    print(format_env_table(results))
    for p in paths:
        print(f'wrote {p}')
    return 0


def format_env_table(results) -> str:
    """Return the printed summary: one row per task and method, then overall."""
    rows = [f'{"task":<9} {"method":<8} {"success":>8} {"steps":>6} {"plan ms":>8}']
    for task, methods in list(results['tasks'].items()) + [('overall', results['overall'])]:
        for m, s in methods.items():
            ms = s['plan_ms_mean']
            moved = s.get('moved')
            rows.append(f'{task:<9} {m:<8} {s["successes"]:>3}/{s["episodes"]:<4} '
                        f'{s["steps_mean"]:>6.1f} {"-" if ms != ms else format(ms, ".0f"):>8}'
                        + (f'   cube moved: {moved["successes"]}/{moved["episodes"]}'
                           if moved else ''))
    return '\n'.join(rows)
