#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
r"""
Energy to a reach goal along the straight line from the start: how far the encoder's basin reaches.

For each reach episode of ``jepa-ros eval`` (same seed, same episodes), the arm is placed at
``--points`` poses on the straight line from its start to the goal (cube and gripper as at the
start), both cameras are rendered and encoded, and the planner's energy (L2 between the latents
and the goal image's latents) is recorded. The **basin radius** is the distance to the goal
from which the energy falls at every step along the line to the goal; an episode whose start
lies beyond it has a ridge on its straight path, which a planner looking ``horizon x maxnorm``
metres ahead has to find its way around.
With ``--eval`` (a ``results.json`` of the same episodes) each episode is paired with its
closed-loop outcome.

    python benchmarks/reach_line_energy.py --seeds 300,400,500 \
        --eval runs/planner_sweep/fp32/reach_{seed}/results.json \
        --out benchmarks/results/cpu_reach_line_energy.json
"""

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault('OMP_NUM_THREADS', '1')
os.environ.setdefault('MUJOCO_GL', 'egl')


def basin_radius(distances, energies):
    """Return the largest distance from which the energy falls monotonically to the goal."""
    radius = 0.0
    for i in range(len(energies) - 2, -1, -1):   # from the goal back towards the start
        if energies[i] <= energies[i + 1]:
            break
        radius = distances[i]
    return radius


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--checkpoint', default='default')
    parser.add_argument('--seeds', default='300')
    parser.add_argument('--episodes', type=int, default=20)
    parser.add_argument('--points', type=int, default=11)
    parser.add_argument('--eval', default='', help='results.json path; {seed} is filled in')
    parser.add_argument('--out', default='benchmarks/results/cpu_reach_line_energy.json')
    args = parser.parse_args(argv)

    import numpy as np
    import torch
    torch.set_num_threads(1)
    from jepa_ros.eval.tasks import (goal_images, make_episodes, place_scene, render_views,
                                     scene_seed)
    from jepa_ros.planning.compact_world_model import CompactWorldModel
    from jepa_ros.planning.energies import energy
    from jepa_ros.sim import SimArm, SimConfig
    wm = CompactWorldModel.from_checkpoint(args.checkpoint)
    cams = tuple(wm.cameras) or ('front',)

    def encode(views):
        """Latents of one observation (a (V, H, W, 3) stack for several cameras)."""
        return wm.encode(list(views) if len(cams) > 1 else views)
    rows = []
    with SimArm(SimConfig(image_size=128)) as sim:
        for seed in (int(s) for s in args.seeds.split(',')):
            outcome = {}
            if args.eval:
                data = json.loads(Path(args.eval.format(seed=seed)).read_text())
                outcome = {r['index']: r['success']
                           for r in data['tasks']['reach']['planner']['records']}
            for spec in make_episodes('reach', args.episodes, seed, sim, 0):
                goal = goal_images(sim, spec, 128, cams)[-1]
                z_goal = encode(goal)
                start, end = np.asarray(spec.start_ee), np.asarray(spec.goal_ee[-1])
                fractions = np.linspace(0.0, 1.0, args.points)
                energies = []
                for f in fractions:
                    place_scene(sim, scene_seed(spec), start + f * (end - start),
                                spec.start_cube, spec.cube_yaw, spec.start_gripper)
                    z = encode(render_views(sim, cams, 128))
                    energies.append(float(energy(z, z_goal, 'l2')[0]))   # the planner's L2
                dist = [float(np.linalg.norm(end - start) * (1 - f)) for f in fractions]
                rows.append({'seed': seed, 'index': spec.index, 'start_m': round(dist[0], 4),
                             'basin_radius_m': round(basin_radius(dist, energies), 4),
                             'success': outcome.get(spec.index),
                             'energies': [round(e, 4) for e in energies]})
                r = rows[-1]
                print(f'seed {seed} #{spec.index:2d}: start {100 * r["start_m"]:4.1f} cm, basin '
                      f'{100 * r["basin_radius_m"]:4.1f} cm, success {r["success"]}', flush=True)
    # a ridge: the energy rises somewhere on the straight path (the basin ends before the start)
    ridge = [r for r in rows if r['basin_radius_m'] < r['start_m'] - 1e-6]
    flat = [r for r in rows if r not in ridge]
    summary = {
        'episodes': len(rows),
        'basin_radius_cm_median': round(100 * float(np.median([r['basin_radius_m']
                                                               for r in rows])), 1),
        'ridge_episodes': len(ridge),
        'ridge_successes': sum(bool(r['success']) for r in ridge),
        'monotonic_episodes': len(flat),
        'monotonic_successes': sum(bool(r['success']) for r in flat),
    }
    print(json.dumps(summary))
    Path(args.out).write_text(json.dumps({'checkpoint': args.checkpoint, 'cameras': cams,
                                          'summary': summary, 'episodes': rows}, indent=1))
    print('wrote', args.out)


if __name__ == '__main__':
    main()
