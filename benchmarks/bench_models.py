#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
CPU throughput of the jepa_ros models (a benchmark, not a test).

Measures, for the CPU presets ('tiny', 'small') at 64, 128 and 256 px, in fp32 and bf16 autocast,
at batch 1 and 64:

- encoder frames/s (one image = one 2-frame tubelet, as the planner encodes it);
- predictor rollouts/s (one rollout = one candidate action sequence imagined ``--horizon`` steps
  ahead of one context frame, with the incremental cache);

and the speed-up of incremental rollouts over full recomputation (upstream's planner re-runs the
predictor over the whole imagined sequence at every step) at horizon 2 and 4 with 400 candidates.
Prints a table and writes JSON with ``--out``. Use ``--quick`` for a smoke run.
"""

import argparse
import json
import os
import platform
import time

from jepa_ros.models import ACPredictor, autocast, encoder_preset, predictor_preset
from jepa_ros.models import VJEPA2Encoder
import torch
import torch.nn.functional as F


def timed(fn, items, min_time, max_reps=50):
    """Return (items per second, seconds per call) of ``fn`` after one warm-up call."""
    fn()
    reps, start = 0, time.perf_counter()
    while True:
        fn()
        reps += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time or reps >= max_reps:
            return items * reps / elapsed, elapsed / reps


def rollout_incremental(pred, z0, actions, states):
    """Imagine len(actions) steps for every candidate with the key/value cache."""
    b, horizon = actions.shape[:2]
    cache, z, outs = pred.empty_cache(b), z0.expand(b, -1, -1), []
    for t in range(horizon):
        z, cache = pred.step(z, actions[:, t], states[:, t], cache)
        z = F.layer_norm(z, (z.shape[-1],))
        outs.append(z)
    return torch.cat(outs, 1)


def rollout_full(pred, z0, actions, states):
    """Imagine the same steps re-running the predictor over the whole sequence each time."""
    b, horizon = actions.shape[:2]
    n = z0.shape[1]
    seq = z0.expand(b, -1, -1)
    for t in range(horizon):
        nxt = pred(seq, actions[:, :t + 1], states[:, :t + 1])[:, -n:]
        seq = torch.cat([seq, F.layer_norm(nxt, (nxt.shape[-1],))], 1)
    return seq[:, n:]


def bench_encoder(name, px, precision, batch, min_time):
    torch.manual_seed(0)
    enc = VJEPA2Encoder(encoder_preset(name, img_size=px)).eval()
    img = torch.randn(batch, 3, px, px)
    with torch.no_grad(), autocast('cpu', precision):
        rate, sec = timed(lambda: enc.encode_image(img), batch, min_time)
    return {'model': 'encoder', 'preset': name, 'img_size': px, 'precision': precision,
            'batch': batch, 'tokens_per_frame': enc.num_patches(px), 'frames_per_s': rate,
            'ms_per_batch': 1e3 * sec}


def bench_predictor(name, px, precision, batch, horizon, min_time):
    torch.manual_seed(0)
    enc_cfg = encoder_preset(name, img_size=px)
    pred = ACPredictor(predictor_preset(name, encoder_dim=enc_cfg.embed_dim, img_size=px,
                                        patch_size=enc_cfg.patch_size)).eval()
    n = pred.tokens_per_frame
    z0 = torch.randn(1, n, enc_cfg.embed_dim)
    a, s = torch.randn(batch, horizon, 7), torch.randn(batch, horizon, 7)
    with torch.no_grad(), autocast('cpu', precision):
        rate, sec = timed(lambda: rollout_incremental(pred, z0, a, s), batch, min_time)
    return {'model': 'predictor', 'preset': name, 'img_size': px, 'precision': precision,
            'batch': batch, 'horizon': horizon, 'tokens_per_frame': n, 'rollouts_per_s': rate,
            'ms_per_batch': 1e3 * sec}


def bench_speedup(name, px, horizon, candidates, min_time):
    torch.manual_seed(0)
    enc_cfg = encoder_preset(name, img_size=px)
    pred = ACPredictor(predictor_preset(name, encoder_dim=enc_cfg.embed_dim, img_size=px,
                                        patch_size=enc_cfg.patch_size)).eval()
    z0 = torch.randn(1, pred.tokens_per_frame, enc_cfg.embed_dim)
    a, s = torch.randn(candidates, horizon, 7), torch.randn(candidates, horizon, 7)
    with torch.no_grad():
        diff = (rollout_full(pred, z0, a, s) - rollout_incremental(pred, z0, a, s)).abs().max()
        _, full_s = timed(lambda: rollout_full(pred, z0, a, s), 1, min_time, max_reps=5)
        _, inc_s = timed(lambda: rollout_incremental(pred, z0, a, s), 1, min_time, max_reps=5)
    return {'preset': name, 'img_size': px, 'horizon': horizon, 'candidates': candidates,
            'full_s': full_s, 'incremental_s': inc_s, 'speedup': full_s / inc_s,
            'max_abs_diff': float(diff)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0].strip())
    parser.add_argument('--out', help='write the results as JSON to this path')
    parser.add_argument('--quick', action='store_true',
                        help='smoke run: 64 px only, batch 1 and 8, 50 candidates')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch CPU threads (default 1: the machine is shared)')
    parser.add_argument('--horizon', type=int, default=2, help='rollout horizon for rollouts/s')
    parser.add_argument('--min-time', type=float, default=None,
                        help='seconds to time each case (default 1.0, quick 0.1)')
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    min_time = args.min_time if args.min_time is not None else (0.1 if args.quick else 1.0)
    sizes = (64,) if args.quick else (64, 128, 256)
    batches = (1, 8) if args.quick else (1, 64)
    candidates = 50 if args.quick else 400

    results = {
        'machine': {'cpu': platform.processor() or platform.machine(),
                    'cpu_count': os.cpu_count(), 'torch_threads': args.threads,
                    'torch': torch.__version__, 'quick': args.quick,
                    'note': 'shared machine: other jobs ran at the same time'},
        'encoder': [], 'predictor': [], 'incremental_speedup': []}
    print(f'{"model":9} {"preset":6} {"px":>4} {"prec":5} {"batch":>5} {"per s":>10} '
          f'{"ms/batch":>10}')
    for name in ('tiny', 'small'):
        for px in sizes:
            for precision in ('fp32', 'bf16'):
                for batch in batches:
                    r = bench_encoder(name, px, precision, batch, min_time)
                    results['encoder'].append(r)
                    print(f'encoder   {name:6} {px:4d} {precision:5} {batch:5d} '
                          f'{r["frames_per_s"]:10.1f} {r["ms_per_batch"]:10.1f}', flush=True)
                    r = bench_predictor(name, px, precision, batch, args.horizon, min_time)
                    results['predictor'].append(r)
                    print(f'predictor {name:6} {px:4d} {precision:5} {batch:5d} '
                          f'{r["rollouts_per_s"]:10.1f} {r["ms_per_batch"]:10.1f}', flush=True)
    print(f'\nincremental vs full recomputation (tiny, 64 px, {candidates} candidates, fp32)')
    for horizon in (2, 4):
        r = bench_speedup('tiny', 64, horizon, candidates, min_time)
        results['incremental_speedup'].append(r)
        print(f'  horizon {horizon}: full {r["full_s"]:.3f} s, incremental '
              f'{r["incremental_s"]:.3f} s, speed-up x{r["speedup"]:.2f} '
              f'(max abs diff {r["max_abs_diff"]:.1e})', flush=True)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as fh:
            json.dump(results, fh, indent=1)
        print(f'wrote {args.out}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
