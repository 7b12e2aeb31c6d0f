# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
``jepa-ros eval --env NAME``: the planner on another environment's own evaluation tasks.

For each task id, ``episodes`` seeded resets with the task's goal image; the planner replans
every step towards that goal (its first action goes to the env, box-clipped) until the env's own
success signal or the step budget. A random-action baseline runs on the same resets. Results
JSON, a summary PNG (success per task, next to published numbers when given) and a GIF.

With ``goal_offset`` N the episodes are stable-worldmodel's kind instead (cube envs): start at a
state of a play trajectory, goal = its frame N steps later, judged by the env's own success test
on the goal's cube poses (``OGBenchEnv.reset_offset_goal``). Episodes that already pass that
test at the start (the cubes moved less than its radius) are counted apart (``moved``).
"""

import time
from typing import Dict, List, Optional, Sequence

from jepa_ros.envs.gym_env import goal_frames
import numpy as np


def run_env_episode(env, planner, task_id: int, seed: int, steps: int, method: str = 'planner',
                    keep_frames: bool = False, rng=None, action_repeat: int = 1,
                    goal_offset: int = 0) -> dict:
    """
    Run one episode of ``task_id`` (or an offset-goal one); return its record.

    ``steps`` counts env steps. With ``action_repeat`` k (a model trained on frames k env
    steps apart) each plan's first action, a sum over k env steps, runs as k equal env
    actions; success is checked after every env step.
    """
    detail = {}
    if goal_offset:
        obs, goal, detail = env.reset_offset_goal(int(seed), int(goal_offset))
        detail = {k: v for k, v in detail.items() if k != 'actions'}
        detail['start_solved'] = bool(obs.success)   # the env's own test, at the start
    else:
        obs, goal = env.reset(seed=int(seed), task_id=int(task_id))
    goal_img = goal_frames(goal)
    if planner is not None:
        planner.reset()
    low, high = np.asarray(env.spec.action_low), np.asarray(env.spec.action_high)
    rng = rng if rng is not None else np.random.default_rng(seed)
    frames = [goal_frames(obs.frames)] if keep_frames else []
    plan_ms, energies, holds, success, t = [], [], 0, bool(obs.success), 0
    t_start = time.perf_counter()
    k = max(1, int(action_repeat))
    while not success and t < steps:
        if method == 'random':
            action = rng.uniform(low, high)
        else:
            plan = planner.plan(goal_frames(obs.frames), None, goal_img)
            plan_ms.append(plan.ms)
            energies.append(plan.current_energy)
            holds += 0 if plan.ok else 1
            action = np.asarray(plan.first_action) / k
        for _ in range(k if method != 'random' else 1):
            obs = env.step(np.clip(action, low, high))
            success = bool(obs.success)
            t += 1
            if keep_frames:
                frames.append(goal_frames(obs.frames))
            if success or t >= steps:
                break
    wall = time.perf_counter() - t_start
    return {'task': int(task_id), 'seed': int(seed), 'success': success, 'steps': t,
            'plan_ms': plan_ms, 'energies': energies, 'holds': holds,
            'loop_hz': t / wall if wall > 0 else float('nan'), 'frames': frames,
            'goal': goal_img, **detail}


def _summary(recs: List[dict]) -> dict:
    ms = [m for r in recs for m in r['plan_ms']]
    extra = {}
    if recs and all('start_solved' in r for r in recs):
        moved = [r for r in recs if not r['start_solved']]
        extra['moved'] = {'successes': int(sum(r['success'] for r in moved)),
                          'episodes': len(moved),
                          'note': "episodes that do not start at their goal by the env's own "
                                  '(success) test: the others start as successes'}
    return {**extra, 'successes': int(sum(r['success'] for r in recs)), 'episodes': len(recs),
            'success_rate': float(np.mean([r['success'] for r in recs])) if recs else 0.0,
            'steps_mean': float(np.mean([r['steps'] for r in recs])) if recs else 0.0,
            'plan_ms_mean': float(np.mean(ms)) if ms else float('nan'),
            'plan_ms_p95': float(np.percentile(ms, 95)) if ms else float('nan'),
            'loop_hz': float(np.mean([r['loop_hz'] for r in recs])) if recs else float('nan'),
            'holds': int(sum(r['holds'] for r in recs)),
            'seeds': [r['seed'] for r in recs],
            'success_by_seed': [bool(r['success']) for r in recs]}


def run_env_eval(env, planner, tasks: Sequence[int], episodes: int, steps: int, seed: int = 0,
                 baselines: Sequence[str] = ('random',), videos: int = 1,
                 progress: bool = True, action_repeat: int = 1, goal_offset: int = 0) -> dict:
    """
    Evaluate ``planner`` (and ``baselines``) on every task; return the results dict.

    With ``goal_offset`` N, ``tasks`` is ignored: one set of ``episodes`` offset-goal episodes,
    reported as task ``offsetN``.
    """
    if goal_offset:
        tasks = [0]
    methods = ['planner'] + [b for b in baselines if b == 'random']
    unknown = [b for b in baselines if b != 'random']
    if unknown:
        raise ValueError(f'env evaluation knows the baseline "random" only, got {unknown}')
    total = len(tasks) * episodes * len(methods)
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=total, desc=f'eval {env.spec.name}', unit='ep')
    out: Dict[str, dict] = {}
    video: List[dict] = []
    for task in tasks:
        name = f'offset{int(goal_offset)}' if goal_offset else f'task{task}'
        out[name] = {}
        for m in methods:
            recs = []
            for e in range(episodes):
                ep_seed = seed * 1000 + 100 * int(task) + e
                keep = m == 'planner' and e < videos
                rec = run_env_episode(env, planner if m == 'planner' else None, task,
                                      ep_seed, steps, method=m, keep_frames=keep,
                                      rng=np.random.default_rng(ep_seed),
                                      action_repeat=action_repeat, goal_offset=goal_offset)
                if keep:
                    video.append(rec)
                rec = {k: v for k, v in rec.items() if k not in ('frames', 'goal')}
                recs.append(rec)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix_str(f'{name} {m} {sum(r["success"] for r in recs)}/'
                                        f'{len(recs)}')
            out[name][m] = dict(_summary(recs), records=recs)
    if bar is not None:
        bar.close()
    overall = {m: _summary([r for t in out.values() for r in t[m]['records']]) for m in methods}
    return {'env': env.spec.name, 'tasks': out, 'overall': overall, 'methods': methods,
            'steps_budget': int(steps), 'episodes_per_task': int(episodes),
            'action_repeat': int(action_repeat), 'goal_offset': int(goal_offset),
            'goals': (f'frames {int(goal_offset)} play steps ahead of the start (offset goals)'
                      if goal_offset else "the env's own evaluation tasks"),
            'action_space': env.spec.action_space(), '_video': video}


def save_env_summary_png(path, results: dict, published: Optional[Dict[str, float]] = None):
    """Bar chart of success per task and overall (published overall rates as lines)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = list(results['tasks']) + ['overall']
    fig, (ax, ax_e) = plt.subplots(1, 2, figsize=(1.4 * len(names) + 7.5, 3.6),
                                   gridspec_kw={'width_ratios': [len(names) + 1, 4]})
    width = 0.8 / len(results['methods'])
    for j, m in enumerate(results['methods']):
        rates = [100 * results['tasks'][t][m]['success_rate'] for t in names[:-1]]
        rates.append(100 * results['overall'][m]['success_rate'])
        xs = np.arange(len(names)) + (j - (len(results['methods']) - 1) / 2) * width
        ax.bar(xs, rates, width, label=m)
    caveat = ('published: own data' if results.get('goal_offset')
              else 'published: own data, other goals')
    for k, (label, rate) in enumerate((published or {}).items()):
        ax.axhline(rate, ls='--', lw=0.8, color=f'C{k + 2}', label=f'{label} {rate:.0f}% '
                   f'({caveat})')
    ax.set_xticks(np.arange(len(names)), names)
    ax.set_ylim(0, 100)
    ax.set_ylabel('success [%]')
    goals = f', goals {results["goal_offset"]} steps ahead' if results.get('goal_offset') else ''
    ax.set_title(f'{results["env"]}\n{results["episodes_per_task"]} episodes per task, '
                 f'{results["steps_budget"]}-step budget{goals}', fontsize=9)
    ax.legend(fontsize=7, loc='upper right')
    for task in names[:-1]:   # does planning bring the latent closer to the goal?
        recs = results['tasks'][task]['planner']['records']
        longest = max((len(r['energies']) for r in recs), default=0)
        if longest:
            padded = np.array([r['energies'] + [r['energies'][-1]] * (longest - len(
                r['energies'])) if r['energies'] else [np.nan] * longest for r in recs])
            ax_e.plot(np.nanmean(padded, axis=0), label=task)
    ax_e.set_xlabel('plan step')
    ax_e.set_ylabel('energy to the goal')
    ax_e.set_title('planner: mean energy of the current frame', fontsize=9)
    ax_e.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def save_env_video(path, records: List[dict], fps: float = 8.0):
    """Write goal | camera frames of the recorded episodes as one looping GIF."""
    import imageio.v3 as iio
    from jepa_ros.eval.report import _label
    frames = []
    for rec in records:
        what = f'+{rec["offset"]} steps' if 'offset' in rec else f'task {rec["task"]}'
        goal = _label(rec['goal'], f'goal {what}')
        for k, f in enumerate(rec['frames']):
            frames.append(np.concatenate([goal, _label(f, f't={k}')], axis=1))
        if frames:
            frames.extend([_label(frames[-1], 'SUCCESS' if rec['success'] else 'fail',
                                  bottom=True)] * 4)
    if not frames:
        raise ValueError('no frames to write')
    iio.imwrite(path, np.stack(frames), extension='.gif', duration=int(1000 / fps), loop=0)
    return path
