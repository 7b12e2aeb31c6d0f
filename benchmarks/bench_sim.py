# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Speed of the embedded simulator: render fps per size, physics steps/s and env steps/s.

Usage: .venv/bin/python benchmarks/bench_sim.py [--out out/bench_sim.json] [--seconds 2]
"""

import argparse
import json
import os
from pathlib import Path
import time

os.environ.setdefault('MUJOCO_GL', 'egl')


def _rate(fn, seconds):
    fn()  # warm-up (creates GL contexts, caches)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()
        n += 1
    return n / (time.perf_counter() - t0)


def main(argv=None):
    """Measure and print the figures, then write them as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--out', default='out/bench_sim.json')
    parser.add_argument('--seconds', type=float, default=2.0)
    args = parser.parse_args(argv)
    import mujoco
    import numpy as np

    from jepa_ros.sim import SimArm, SimConfig  # noqa: I100 (after MUJOCO_GL is set)

    results = {'mujoco_gl': os.environ['MUJOCO_GL'], 'cpu_count': os.cpu_count()}
    with SimArm(SimConfig()) as sim:
        sim.reset(seed=0, render=False)
        for size in (64, 128, 256):
            results[f'render_fps_{size}'] = _rate(lambda s=size: sim.render(s), args.seconds)
        results['physics_steps_per_s'] = _rate(lambda: mujoco.mj_step(sim.model, sim.data),
                                               args.seconds)
        rng = np.random.default_rng(0)

        def env_step(render):
            a = np.concatenate([rng.uniform(-0.02, 0.02, 3), rng.uniform(-0.05, 0.05, 3),
                                [0.0]])
            if sim.observe(render=False).time > 5.0:
                sim.reset(seed=0, render=False)
            sim.step(a, render=render)

        results['env_steps_per_s_no_render'] = _rate(lambda: env_step(False), args.seconds)
        results['env_steps_per_s_128px'] = _rate(lambda: env_step(True), args.seconds)
        results['physics_substeps_per_env_step'] = sim.n_substeps
    for key, value in results.items():
        print(f'{key:32s} {value:.1f}' if isinstance(value, float) else f'{key:32s} {value}')
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f'wrote {out}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
