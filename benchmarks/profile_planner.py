#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
A/B the planner's CPU speed levers on the tiny fixture models; prints figures and writes JSON.

Each lever is timed against its alternative back to back in one process, interleaved and
repeated, with wall and CPU (process) time: on a shared machine the CPU time and the ratio of the
minima are the figures to trust. Levers: the bf16 weight copy vs autocast, the rollout chunk
size, the chunked energy vs one pass, and 1 vs 2 torch threads. ``--ops`` adds a
torch.profiler table of one rollout.
"""

import argparse
import json
import os
from pathlib import Path
import sys
import time

from jepa_ros.planning import energies, energy, roll_states, VJEPA2WorldModel
import numpy as np
import torch

STATE = torch.tensor([0.5, 0.0, 0.3, 0.0, 0.0, 0.0, 0.2])


def ab(variants, repeats):
    """Run each zero-argument callable ``repeats`` times, interleaved; return ms figures."""
    for f in variants.values():
        f()  # warm-up (weight copies, rotary tables, allocator)
    wall = {k: [] for k in variants}
    cpu = {k: [] for k in variants}
    for _ in range(repeats):
        for k, f in variants.items():
            t0, c0 = time.perf_counter(), time.process_time()
            f()
            wall[k].append(1e3 * (time.perf_counter() - t0))
            cpu[k].append(1e3 * (time.process_time() - c0))
    base = next(iter(variants))
    out = {}
    for k in variants:
        out[k] = {'wall_ms_min': round(min(wall[k]), 1), 'wall_ms_median':
                  round(float(np.median(wall[k])), 1), 'cpu_ms_min': round(min(cpu[k]), 1),
                  'speedup_vs_first_cpu_min': round(min(cpu[base]) / min(cpu[k]), 2),
                  'speedup_vs_first_wall_median': round(float(np.median(wall[base])) /
                                                        float(np.median(wall[k])), 2)}
        print(f'  {k}: {out[k]}', flush=True)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--fixture', default=str(Path(__file__).resolve().parents[1].parent /
                                             'shared' / 'fixtures' / 'vjepa2_tiny'))
    ap.add_argument('--samples', type=int, default=128, help='candidates per rollout')
    ap.add_argument('--horizon', type=int, default=2)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--ops', action='store_true', help='print a torch.profiler op table')
    ap.add_argument('--out', default='out/profile_planner.json')
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    from jepa_ros.models import load_vjepa2
    enc, pred = load_vjepa2(Path(args.fixture) / 'checkpoint.pt', img_size=256, device='cpu')
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 256, (256, 256, 3), dtype=np.uint8) for _ in range(2)]
    g = torch.Generator().manual_seed(0)
    a = (torch.randn(args.samples, args.horizon, 7, generator=g) * 0.03).clamp(-0.05, 0.05)
    s = roll_states(STATE, a)[:, :-1]
    res = {'samples': args.samples, 'horizon': args.horizon, 'repeats': args.repeats,
           'load_avg_start': os.getloadavg(), 'torch': torch.__version__}

    def rollout_fn(wm):
        z = wm.encode(imgs[0])
        return lambda: wm.rollout(wm.start(z, None), a, s)

    print('== bf16: weight copy (fused oneDNN linears, regrouped rotary pairs) vs autocast')
    res['bf16_weights'] = ab({'autocast': rollout_fn(VJEPA2WorldModel(
        enc, pred, dtype='bf16', cast_weights=False)),
        'weight_copy': rollout_fn(VJEPA2WorldModel(enc, pred, dtype='bf16'))}, args.repeats)
    print('== rollout chunk size (bf16)')
    res['chunk_size'] = ab({f'chunk_{c}': rollout_fn(VJEPA2WorldModel(
        enc, pred, dtype='bf16', chunk_size=c)) for c in (32, 8, 16, 64)}, args.repeats)
    print('== energy over 400 candidates: one pass vs chunked (same float32 result)')
    wm = VJEPA2WorldModel(enc, pred, dtype='bf16')
    goal = wm.encode(imgs[1])
    pred_tokens = torch.nn.functional.layer_norm(torch.randn(400, *goal.shape[1:]),
                                                 goal.shape[-1:])
    chunk = energies._CHUNK_ELEMENTS

    def one_pass():
        energies._CHUNK_ELEMENTS = 1 << 40
        try:
            return energy(pred_tokens, goal)
        finally:
            energies._CHUNK_ELEMENTS = chunk
    res['energy'] = ab({'one_pass': one_pass, 'chunked': lambda: energy(pred_tokens, goal)},
                       args.repeats * 3)
    res['energy']['max_abs_diff'] = float((one_pass() - energy(pred_tokens, goal)).abs().max())
    print('== torch threads (bf16)')
    fn = rollout_fn(wm)

    def threads(n):
        def run():
            torch.set_num_threads(n)
            try:
                fn()
            finally:
                torch.set_num_threads(1)
        return run
    res['threads'] = ab({'1': threads(1), '2': threads(2)}, args.repeats)
    if args.ops:
        from torch.profiler import profile
        with profile() as prof:
            fn()
        print(prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=20))
    res['load_avg_end'] = os.getloadavg()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1))
    print(f'wrote {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
