#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
r"""
Closed-loop planner settings of a compact model: ``jepa-ros eval`` per setting, task and seed.

Each setting is a list of ``jepa-ros eval`` planner options over what a user gets by default
(``base``: the cpu profile plus the model's recommendation). ``run`` evaluates the settings on
the given task and seeds (a run whose ``results.json`` exists is kept, so a sweep resumes);
``table`` reads every run under ``--out``, sums the successes per setting, task and seed group
(``tuning``: seeds below 7000; ``held-out``: 7000 and up, never used to choose a setting) and
writes JSON. One eval runs on one torch thread; two at a time fit 2 cores (``--jobs 2``).

    python benchmarks/planner_sweep.py run --task push --seeds 300,400,500,600 --jobs 2
    python benchmarks/planner_sweep.py run --task reach --settings base,enone --seeds 300,400
    python benchmarks/planner_sweep.py table --json benchmarks/results/cpu_compact_planner_sweep.json
"""

import argparse
from concurrent.futures import ThreadPoolExecutor
import json
import os
from pathlib import Path
import subprocess
import sys

SETTINGS = {
    'base': [],
    'enone': ['--energy-weighting', 'none'],
    'eall': ['--energy-horizon', 'all'],
    'best': ['--final-choice', 'best'],
    's64': ['--samples', '64'],
    'it4': ['--iterations', '4', '--samples', '36'],
    'h2': ['--horizon', '2'],
    'h4': ['--horizon', '4'],
    'h5': ['--horizon', '5'],
    'icem': ['--elite-carry', '0.25', '--noise-beta', '2.0'],
    'gn2': ['--grad-steps', '2', '--grad-method', 'gauss_newton'],
    'eall_best': ['--energy-horizon', 'all', '--final-choice', 'best'],
    'enone_eall': ['--energy-horizon', 'all', '--energy-weighting', 'none'],
    'enone_best': ['--final-choice', 'best', '--energy-weighting', 'none'],
    'all3': ['--final-choice', 'best', '--energy-weighting', 'none', '--energy-horizon', 'all'],
    'en_s64': ['--energy-weighting', 'none', '--samples', '64'],
    'en_top6': ['--energy-weighting', 'none', '--topk', '6'],
    'en_ws5': ['--energy-weighting', 'none', '--warm-start-std', '0.5'],
    'en_l1': ['--energy-weighting', 'none', '--energy', 'l1'],
    'decay14': ['--samples-decay', '1.4'],      # 48, 34, 24 samples in the 3 iterations
    'cos': ['--energy', 'cosine'],
    'int8': ['--dtype', 'int8'],                # int8 predictor matrix products (CPU)
    'fp32': ['--dtype', 'fp32'],                # float32 (the default before int8)
    'unseen': ['--variation', 'unseen'],        # scene colours and light never trained on
    'vtrain': ['--variation', 'train'],         # the training ranges (and the camera jitter)
    # the shipped model without its goal-position term (what it planned with before its probe)
    'noprobe': ['--goal-state-weight', '0'],
    'noprobe_unseen': ['--goal-state-weight', '0', '--variation', 'unseen'],
}
HELDOUT_FROM = 7000    # seeds from here on were never used to choose a setting


def run_one(out: Path, setting: str, task: str, seed: int, episodes: int, checkpoint: str):
    """Run one eval (kept when its results.json exists); return its folder."""
    folder = out / setting / f'{task}_{seed}'
    if (folder / 'results.json').is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, '-m', 'jepa_ros.cli', 'eval', '--task', task, '--episodes',
           str(episodes), '--seed', str(seed), '--baselines', 'none', '--videos', '0', '--quiet',
           '--checkpoint', checkpoint, '--out', str(folder)] + SETTINGS[setting]
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env.setdefault('MUJOCO_GL', 'egl')
    with open(folder.with_suffix('.log'), 'w') as log:
        subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT, env=env)
    return folder


def read_runs(out: Path):
    """Return one row per finished run under ``out``."""
    rows = []
    for path in sorted(out.glob('*/*_*/results.json')):
        setting = path.parent.parent.name
        task, seed = path.parent.name.rsplit('_', 1)
        data = json.loads(path.read_text())
        r = data['tasks'][task]['planner']
        ev = data['config'].get('eval') or {}
        rows.append({'setting': setting, 'args': SETTINGS.get(setting), 'task': task,
                     'seed': int(seed), 'episodes': r['episodes'], 'successes': r['successes'],
                     'final_cm_mean': round(100 * r['final_distance_m_mean'], 2),
                     'plan_ms_mean': round(r['plan_ms_mean'], 1),
                     'checkpoint': ev.get('checkpoint'), 'dtype': ev.get('dtype'),
                     'variation': ev.get('variation'),
                     'planner': data['config']['planner']})
    return rows


def totals(rows):
    """Sum successes per (setting, task, group); return {setting: {task: {group: [k, n, seeds]}}}."""
    out = {}
    for r in rows:
        group = 'held_out' if r['seed'] >= HELDOUT_FROM else 'tuning'
        cell = out.setdefault(r['setting'], {}).setdefault(r['task'], {}).setdefault(
            group, [0, 0, []])
        cell[0] += r['successes']
        cell[1] += r['episodes']
        cell[2].append(r['seed'])
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    sub = parser.add_subparsers(dest='cmd', required=True)
    run = sub.add_parser('run', help='evaluate settings on a task and seeds')
    run.add_argument('--task', required=True, choices=('reach', 'push', 'pick_place'))
    run.add_argument('--seeds', required=True, help='comma list')
    run.add_argument('--settings', default='base', help=f'comma list of {", ".join(SETTINGS)}')
    run.add_argument('--episodes', type=int, default=20)
    run.add_argument('--checkpoint', default='default')
    run.add_argument('--jobs', type=int, default=2)
    run.add_argument('--out', default='runs/planner_sweep')
    table = sub.add_parser('table', help='sum the runs and write JSON')
    table.add_argument('--out', default='runs/planner_sweep')
    table.add_argument('--json', default='benchmarks/results/cpu_compact_planner_sweep.json')
    table.add_argument('--note', default='', help='a sentence stored with the table')
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.cmd == 'run':
        settings = [s for s in args.settings.split(',') if s]
        unknown = [s for s in settings if s not in SETTINGS]
        if unknown:
            parser.error(f'unknown setting(s) {unknown}; choose from {", ".join(SETTINGS)}')
        jobs = [(s, int(seed)) for s in settings for seed in args.seeds.split(',')]
        with ThreadPoolExecutor(max(1, args.jobs)) as pool:
            for folder in pool.map(lambda j: run_one(out, j[0], args.task, j[1], args.episodes,
                                                     args.checkpoint), jobs):
                print('done', folder, flush=True)
    rows = read_runs(out)
    summary = totals(rows)
    for setting, tasks in summary.items():
        for task, groups in tasks.items():
            told = '  '.join(f'{g} {k}/{n} (seeds {",".join(map(str, sorted(seeds)))})'
                             for g, (k, n, seeds) in sorted(groups.items(), reverse=True))
            print(f'{setting:11s} {task:10s} {told}')
    if args.cmd == 'table':
        # the planner each run used, once in full (base; fp32 for the runs made while fp32
        # was the default) and as its differences elsewhere
        ref = next((s for s in ('base', 'fp32', 'int8') if any(r['setting'] == s for r in rows)),
                   None)
        base = next((r['planner'] for r in rows if r['setting'] == ref), {})
        for r in rows:
            cfg = r.pop('planner')
            r['planner_vs_base'] = {k: v for k, v in cfg.items() if base.get(k) != v}
        Path(args.json).write_text(json.dumps({'heldout_from_seed': HELDOUT_FROM,
                                               'reference_setting': ref, 'note': args.note,
                                               'base_planner': base, 'totals': summary,
                                               'runs': rows}, indent=1))
        print('wrote', args.json)


if __name__ == '__main__':
    main()
