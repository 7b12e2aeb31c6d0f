#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Planning cost of a compact world model on one CPU thread; prints figures and writes JSON.

For each planner setting (CEM samples x iterations at a horizon, over the settings a CPU user
gets: the cpu profile and the model's recommendation), on the same start/goal pairs
taken from held-out episodes (the frame at step 0 and the frame ``--gap`` steps later, both
views; the goal pre-encoded, as the node and eval keep it): the process CPU time per plan (median; one torch thread, the figure to trust on a
shared machine) and wall time, and the plan's energy relative to the lowest energy any setting
found for that pair (1.0 = as good as the best; every plan's energy is the float32 model's,
also for the int8 rows, whose search runs on int8 predictor matrix products). Closed-loop success of the settings that pay
is measured with ``jepa-ros eval`` (README "Compact world models").

    python benchmarks/bench_compact_planning.py --model runs/levers/e2e_2view/model \
        --data runs/wm/data/heldout --out benchmarks/results/cpu_compact_planning.json
"""

import argparse
import json
import os
from pathlib import Path
import platform
import statistics
import time

os.environ.setdefault('OMP_NUM_THREADS', '1')

SETTINGS = [  # (samples, iterations, horizon, precision, goal_state_weight: None = the model's)
    (48, 3, 1, 'fp32', None), (48, 3, 3, 'fp32', None), (48, 3, 3, 'int8', None),
    (48, 3, 3, 'int8', 0.0), (64, 3, 3, 'fp32', None), (96, 3, 3, 'int8', None),
    (128, 3, 3, 'fp32', None), (128, 4, 3, 'fp32', None), (192, 4, 3, 'fp32', None),
    (256, 5, 3, 'fp32', None), (300, 15, 3, 'fp32', None),
]
# --quick: the shipped setting with and without the goal-position term, each precision
QUICK = [(48, 3, 3, 'int8', None), (48, 3, 3, 'int8', 0.0), (48, 3, 3, 'fp32', None),
         (48, 3, 3, 'fp32', 0.0)]


def latent_energy(planner, image, state, goal, plan) -> float:
    """Return the float32 latent energy of ``plan``'s actions (no goal-position term)."""
    import torch
    from jepa_ros.planning.energies import candidate_energy, planning_weights
    wm = planner.world_model
    cfg = planner.config
    z = wm.encode(image)
    s_t = torch.as_tensor(state, dtype=torch.float32)
    ctx = wm.start(z, s_t)
    a = torch.as_tensor(plan.actions, dtype=torch.float32)[None]
    pred = wm.precise_rollout(ctx, a, planner.space.roll(s_t, a))
    w = planning_weights(cfg.energy_weighting, z, goal, cfg.energy_weight_floor)
    return float(candidate_energy(pred, goal, cfg.energy, w)[0])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--model', required=True)
    parser.add_argument('--data', required=True, help='held-out episodes (both views)')
    parser.add_argument('--pairs', type=int, default=6)
    parser.add_argument('--gap', type=int, default=10)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--out', default='benchmarks/results/cpu_compact_planning.json')
    parser.add_argument('--quick', action='store_true', help='only the shipped 48 x 3 at H=3, '
                        'with and without the goal-position term')
    args = parser.parse_args(argv)

    import numpy as np
    import torch
    torch.set_num_threads(1)
    from jepa_ros.data import list_episodes, read_episode
    from jepa_ros.planning import CEMPlanner, PlannerConfig
    from jepa_ros.planning.compact_world_model import CompactWorldModel
    models = {p: CompactWorldModel.from_checkpoint(args.model, dtype=p) for p in ('fp32', 'int8')}
    wm = models['fp32']
    from jepa_ros.control.profiles import planner_settings
    rec = planner_settings('cpu', 'cpu', args.model)   # what the node and eval use on a CPU
    pairs = []
    for path in list_episodes(args.data)[:args.pairs]:
        ep = read_episode(path)
        views = ep.views()[:wm.num_views]
        # the goal is encoded once per episode, as the node and eval do
        goal = wm.encode([v[args.gap] for v in views])
        pairs.append(([v[0] for v in views], ep.states[0], goal))
    settings = QUICK if args.quick else SETTINGS
    planners = []
    for samples, iters, horizon, precision, gsw in settings:
        over = {} if gsw is None else {'goal_state_weight': gsw}
        cfg = PlannerConfig(**dict(rec, samples=samples, iterations=iters, horizon=horizon,
                                   topk=max(8, samples // 10), warm_start=False, **over))
        planners.append(CEMPlanner(models[precision], cfg))
        planners[-1].plan(*pairs[0])   # warm-up
    # round robin over the settings, so a shared machine's drift in speed hits them alike
    cpu = [[] for _ in settings]
    wall = [[] for _ in settings]
    energies = [[] for _ in settings]
    for image, state, goal in pairs:
        for rep in range(args.repeats):
            for i, planner in enumerate(planners):
                c0, w0 = time.process_time(), time.perf_counter()
                plan = planner.plan(image, state, goal)
                cpu[i].append(time.process_time() - c0)
                wall[i].append(time.perf_counter() - w0)
                if rep == 0:
                    # the latent energy of the plan (float32), without the goal-position
                    # term, so that rows with and without it compare
                    energies[i].append(latent_energy(planner, image, state, goal, plan))
    rows = []
    for i, (samples, iters, horizon, precision, _) in enumerate(settings):
        w = planners[i].config.goal_state_weight
        rows.append({'samples': samples, 'iterations': iters, 'horizon': horizon,
                     'precision': precision, 'goal_state_weight': w,
                     'cpu_ms_median': 1000 * statistics.median(cpu[i]),
                     'wall_ms_median': 1000 * statistics.median(wall[i]),
                     'energies': energies[i]})
        print(f'{samples:4d} x {iters:2d}, H={horizon} {precision} w={w:g}: '
              f'{rows[-1]["cpu_ms_median"]:7.1f} ms CPU '
              f'({rows[-1]["wall_ms_median"]:.1f} wall)', flush=True)
    best = np.min([r['energies'] for r in rows], axis=0)
    for r in rows:
        r['energy_vs_best'] = float(np.mean(np.array(r['energies']) / np.maximum(best, 1e-12)))
        print(f'{r["samples"]:4d} x {r["iterations"]:2d}, H={r["horizon"]} {r["precision"]} '
              f'w={r["goal_state_weight"]:g}: energy / best '
              f'{r["energy_vs_best"]:.3f}')
    result = {'model': args.model, 'data': args.data, 'pairs': len(pairs), 'gap': args.gap,
              'torch_threads': torch.get_num_threads(), 'cpu': platform.processor() or
              platform.machine(), 'base_settings': rec, 'settings': rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + '\n')
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
