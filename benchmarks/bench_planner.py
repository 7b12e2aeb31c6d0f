#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
CPU benchmark of the latent-space MPC planner; prints figures and writes JSON.

1. ms per replanning step (CEM, random weights) for the CPU-sized 'small' presets at the sim's
   image size (128 px), and for the official-layout tiny fixture models at 256 px with upstream's
   settings (400 samples x top-10 x 10 iterations, H=2; and 800 x 10, H=1), fp32 and bf16, with
   the profile (encode / predictor / energy / sampling).
2. The same CEM with the full-recompute reference world model (upstream's O(H^2) rollout) on the
   same seed: energies must agree, and the time per iteration gives the speed-up.
3. Warm start on a slowly moving goal: iterations needed to reach a given energy, cold vs warm,
   on the closed-form toy model and on the small network.

Speed-ups are reported against upstream's 270 s per action (400x10, H=2, 2-core CPU) and
against the full-recompute path measured here, by wall time and by process CPU time (the
machine may be shared: the JSON records threads and load average next to the figures).
``--quick`` shrinks everything to a smoke run (about a minute); ``--sections`` picks parts.
"""

import argparse
import dataclasses
import json
import os
from pathlib import Path
import platform
import sys
import time

from jepa_ros.planning import (CEMPlanner, energy, LinearToyWorldModel, make_planner,
                               PlannerConfig, roll_states, VJEPA2WorldModel)
import numpy as np
import torch

UPSTREAM_S_PER_ACTION = 270.0  # upstream planner, tiny fixture models, 400x10, H=2, 2-core CPU
STATE = np.array([0.5, 0.0, 0.3, 0.0, 0.0, 0.0, 0.2])


def log(*args):
    print(*args, flush=True)


def images(size, n=2, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(n)]


def small_models():
    from jepa_ros.models import ACPredictor, encoder_preset, predictor_preset, VJEPA2Encoder
    torch.manual_seed(0)
    enc = VJEPA2Encoder(encoder_preset('small'))
    pred = ACPredictor(predictor_preset('small', encoder_dim=enc.config.embed_dim))
    return enc.eval(), pred.eval()


def fixture_models(path):
    from jepa_ros.models import load_vjepa2
    return load_vjepa2(Path(path) / 'checkpoint.pt', img_size=256, device='cpu')


def time_plan(wm, cfg, imgs, repeats=1, cpu=None):
    """
    Return the plan and ms per replanning step (best of ``repeats``, after a warm-up encode).

    ``cpu`` (a dict) receives the process CPU ms of the best run under 'ms': with one torch
    thread on a shared machine it is the time the plan really computed.
    """
    wm.encode(imgs[0])
    best, plan = None, None
    for _ in range(repeats):
        planner = CEMPlanner(wm, cfg)
        t0, c0 = time.perf_counter(), time.process_time()
        plan = planner.plan(imgs[0], STATE, imgs[1])
        ms = 1e3 * (time.perf_counter() - t0)
        if best is None or ms < best:
            best = ms
            if cpu is not None:
                cpu['ms'] = 1e3 * (time.process_time() - c0)
    return plan, best


def matmul_gflops(dtype, n=8192, k=256, m=1024, reps=5):
    """Return the GFLOP/s of a predictor-shaped matmul here (the hardware bound)."""
    a = torch.randn(n, k).to(dtype)
    b = torch.randn(k, m).to(dtype)
    a @ b
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2.0 * n * k * m * reps / (time.perf_counter() - t0) / 1e9


def predictor_tflop(pred, samples, horizon, iterations, n_tokens, incremental=True):
    """Return the predictor TFLOP of one plan (2 per multiply-add; attention included)."""
    cfg = pred.config
    params = sum(p.numel() for p in pred.parameters()) - sum(
        p.numel() for p in pred.extrinsics_encoder.parameters())
    per = n_tokens + cfg.cond_tokens
    total = 0.0
    for t in range(horizon):
        queries = samples * per * (1 if incremental else t + 1)
        keys = (t + 1) * per
        total += 2.0 * params * queries + 4.0 * queries * keys * cfg.embed_dim * cfg.depth
    return total * iterations / 1e12


def bench_steps(name, models, size, settings, dtypes, iterations, imgs):
    """Time CEM plans; ``iterations`` maps dtype to the iterations actually run."""
    rows = []
    n_tokens = (size // models[0].config.patch_size) ** 2
    for samples, horizon in settings:
        for dtype in dtypes:
            iters = iterations[dtype]
            wm = VJEPA2WorldModel(*models, dtype=dtype)
            cfg = PlannerConfig(samples=samples, horizon=horizon, iterations=iters, topk=10,
                                seed=0, warm_start=False, profile=True)
            cpu = {}
            plan, ms = time_plan(wm, cfg, imgs, cpu=cpu)
            tflop = predictor_tflop(models[1], samples, horizon, 10, n_tokens)
            row = {'models': name, 'image_px': size, 'samples': samples, 'topk': 10,
                   'iterations_run': iters, 'horizon': horizon, 'dtype': dtype,
                   'threads': torch.get_num_threads(),
                   'ms_per_step_measured': round(ms, 1),
                   'cpu_ms_per_step_measured': round(cpu['ms'], 1),
                   'cpu_ms_per_step_at_10_iterations': round(cpu['ms'] / iters * 10, 1),
                   'ms_per_iteration': round(ms / iters, 1),
                   'ms_per_step_at_10_iterations': round(ms / iters * 10, 1),
                   'extrapolated_to_10': iters != 10,
                   'profile_ms': {k: round(v, 1) for k, v in plan.profile.items()},
                   'predictor_tflop_per_step_at_10': round(tflop, 2),
                   'achieved_gflops': round(tflop * 1e3 / (plan.profile['predictor'] / 1e3)
                                            * iters / 10, 1),
                   'final_energy': plan.final_energy, 'ok': plan.ok}
            rows.append(row)
            log(f'  {name} {size}px {samples}x{iters} H={horizon} {dtype}: '
                f'{ms:.0f} ms/step (CPU {cpu["ms"]:.0f} ms; {ms / iters:.0f} ms/iter, '
                f'{row["ms_per_step_at_10_iterations"] / 1e3:.1f} s at 10 iterations, '
                f'{row["achieved_gflops"]} GFLOP/s) profile {row["profile_ms"]}')
    return rows


def reference_parity(models, imgs, samples, horizon, iterations, dtype='fp32'):
    """Run the same seeded CEM with incremental and full-recompute rollouts; compare."""
    out = {'samples': samples, 'horizon': horizon, 'iterations': iterations, 'dtype': dtype}
    traces, times = {}, {}
    for mode in ('incremental', 'full_recompute'):
        wm = VJEPA2WorldModel(*models, dtype=dtype, incremental=(mode == 'incremental'),
                              chunk_size=(-1 if mode == 'incremental' else 0))
        cfg = PlannerConfig(samples=samples, horizon=horizon, iterations=iterations, topk=10,
                            seed=0, warm_start=False, profile=True)
        plan, ms = time_plan(wm, cfg, imgs)
        traces[mode] = plan
        times[mode] = ms / iterations
        log(f'  {mode}: {ms / iterations:.0f} ms/iteration, best energies {plan.energies}')
    a, b = traces['incremental'], traces['full_recompute']
    out['ms_per_iteration'] = {k: round(v, 1) for k, v in times.items()}
    out['speedup_per_iteration'] = round(times['full_recompute'] / times['incremental'], 2)
    out['best_energy_per_iteration'] = {'incremental': a.energies, 'full_recompute': b.energies}
    out['max_abs_diff_best_energy'] = float(np.max(np.abs(np.subtract(a.energies, b.energies))))
    out['final_energy'] = {'incremental': a.final_energy, 'full_recompute': b.final_energy}
    out['max_abs_diff_actions'] = float(np.max(np.abs(a.actions - b.actions)))
    # Same candidates through both rollouts: the per-candidate energies.
    inc = VJEPA2WorldModel(*models, dtype=dtype)
    full = VJEPA2WorldModel(*models, dtype=dtype, incremental=False, chunk_size=0)
    z, goal = inc.encode(imgs[0]), inc.encode(imgs[1])
    g = torch.Generator().manual_seed(1)
    acts = (torch.randn(32, horizon, 7, generator=g) * 0.03).clamp(-0.05, 0.05)
    acts[..., 3:6] = 0
    st = roll_states(torch.as_tensor(STATE, dtype=torch.float32), acts)[:, :-1]
    e_inc = energy(inc.rollout(inc.start(z, None), acts, st), goal)
    e_full = energy(full.rollout(full.start(z, None), acts, st), goal)
    out['same_candidates_max_abs_diff_energy'] = float((e_inc - e_full).abs().max())
    out['same_candidates_energy_spread'] = float(e_inc.max() - e_inc.min())
    log(f'  same 32 candidates: max |dE| = {out["same_candidates_max_abs_diff_energy"]:.2e} '
        f'(spread of E over candidates {out["same_candidates_energy_spread"]:.2e})')
    return out


def warm_start_toy(steps=15):
    toy = LinearToyWorldModel(seed=0)
    res = {}
    for method in ('cem', 'mppi'):
        for warm in (False, True):
            cfg = PlannerConfig(method=method, horizon=1, samples=100, iterations=30, seed=0,
                                warm_start=warm, stop_energy=2e-3)
            planner = make_planner(toy, cfg)
            s = STATE.copy()
            s[6] = 0.0  # gripper open: the toy's gripper axis then sits at its clamp
            g, iters = s.copy(), []
            for _ in range(steps):
                g[:3] += [0.004, 0.003, -0.002]
                plan = planner.plan(s, s, toy.latent(g))
                iters.append(plan.iterations)
                s = s + plan.first_action
            res[f'{method}_{"warm" if warm else "cold"}'] = {
                'mean_iterations_after_first': float(np.mean(iters[1:])), 'iterations': iters,
                'final_tracking_error_m': float(np.linalg.norm(s[:3] - g[:3]))}
    return res


def warm_start_network(models, imgs, steps, samples, dtype='bf16'):
    """
    Replan from one observation towards a goal that drifts slowly in token space.

    The goal at step k is the model's own prediction for the target action a*_k, which moves by
    3 mm per step, so the energy minimum (0) is known; the threshold is the energy a cold CEM
    reaches after 5 of its iterations on the first goal.
    """
    wm = VJEPA2WorldModel(*models, dtype=dtype)
    z = wm.encode(imgs[0])
    s_t = torch.as_tensor(STATE, dtype=torch.float32)
    ctx = wm.start(z, s_t)
    a0 = torch.tensor([0.02, -0.01, 0.01, 0, 0, 0, 0.0])
    goals = []
    for k in range(steps):
        a = (a0 + k * torch.tensor([0.003, 0.002, -0.001, 0, 0, 0, 0]))[None, None]
        goals.append(wm.rollout(ctx, a, roll_states(s_t, a)[:, :-1]))
    base = PlannerConfig(horizon=1, samples=samples, iterations=5, topk=10, seed=0,
                         warm_start=False)
    thr = CEMPlanner(wm, base).plan(z, STATE, goals[0]).energies[-1]
    res = {'threshold': thr}
    for warm in (False, True):
        cfg = dataclasses.replace(base, iterations=15, warm_start=warm, stop_energy=thr)
        planner = CEMPlanner(wm, cfg)
        iters = [planner.plan(z, STATE, gk).iterations for gk in goals]
        res['warm' if warm else 'cold'] = {'iterations': iters,
                                           'mean_iterations_after_first':
                                           float(np.mean(iters[1:]))}
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--quick', action='store_true', help='smoke run (about a minute)')
    ap.add_argument('--out', default='out/bench_planner.json', help='JSON output path')
    ap.add_argument('--fixture', default=str(Path(__file__).resolve().parents[1].parent /
                                             'shared' / 'fixtures' / 'vjepa2_tiny'))
    ap.add_argument('--threads', type=int, default=1,
                    help='torch threads (default 1: the 2 cores are shared with the simulator)')
    ap.add_argument('--reference-iterations', type=int, default=2,
                    help='CEM iterations of the full-recompute comparison (it is slow)')
    ap.add_argument('--sections', nargs='+', default=['small', 'fixture', 'warm'],
                    choices=['small', 'fixture', 'warm'],
                    help='what to run (fixture includes the full-recompute reference)')
    ap.add_argument('--extra-threads', type=int, default=2,
                    help='also time bf16 400x10 H=2 with this many torch threads (0: skip)')
    ap.add_argument('--fp32-iterations', type=int, default=3,
                    help='iterations run in fp32 (time per iteration is constant; the JSON '
                         'also gives the figure extrapolated to 10)')
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    t_start = time.perf_counter()
    res = {'quick': args.quick, 'threads': args.threads, 'torch': torch.__version__,
           'python': platform.python_version(), 'cpu': platform.processor(),
           'cpu_count': os.cpu_count(), 'load_avg_start': os.getloadavg(),
           'upstream_reference_s_per_action': UPSTREAM_S_PER_ACTION}
    quick = args.quick
    res['matmul_gflops'] = {'fp32': round(matmul_gflops(torch.float32), 1),
                            'bf16': round(matmul_gflops(torch.bfloat16), 1)}
    log(f'matmul bound on this CPU ({args.threads} thread(s)): {res["matmul_gflops"]} GFLOP/s')
    fp32_iters = 1 if quick else args.fp32_iterations
    iters = {'fp32': fp32_iters, 'bf16': 1 if quick else 10}

    small = small_models()
    if 'small' in args.sections:
        log('== small presets, 128 px (random weights)')
        settings = [(100, 1)] if quick else [(400, 2), (800, 1)]
        res['small_128'] = bench_steps('small', small, 128, settings,
                                       ['bf16'] if quick else ['fp32', 'bf16'], iters,
                                       images(128))
        if not quick:  # a setting that replans in about a second on this CPU
            res['small_128'] += bench_steps('small', small, 128, [(64, 1)], ['bf16'],
                                            {'bf16': 5}, images(128))

    fixture = Path(args.fixture)
    has_fixture = (fixture / 'checkpoint.pt').is_file()
    if 'fixture' in args.sections and has_fixture:
        tiny = fixture_models(fixture)
        imgs = images(256)
        log('== tiny fixture models, 256 px, upstream settings')
        settings = [(400, 2)] if quick else [(400, 2), (800, 1)]
        res['fixture_256'] = bench_steps('fixture_tiny', tiny, 256, settings,
                                         ['bf16'] if quick else ['fp32', 'bf16'], iters, imgs)
        if args.extra_threads and args.extra_threads != args.threads:
            log(f'== the same, bf16 400 x {iters["bf16"]} H=2, {args.extra_threads} threads')
            torch.set_num_threads(args.extra_threads)
            try:
                res['fixture_256'] += bench_steps('fixture_tiny', tiny, 256, [(400, 2)],
                                                  ['bf16'], iters, imgs)
            finally:
                torch.set_num_threads(args.threads)
        log('== incremental vs full-recompute reference (same CEM, same seed)')
        ref_iters = 1 if quick else args.reference_iterations
        res['reference'] = reference_parity(tiny, imgs, 100 if quick else 400, 2, ref_iters)
        ref_it = res['reference']['ms_per_iteration']['full_recompute']
        res['reference']['full_recompute_s_per_action_at_10_iterations'] = round(ref_it / 100, 1)
        n = 256
        flops = {'incremental': predictor_tflop(tiny[1], 400, 2, 10, n),
                 'full_recompute': predictor_tflop(tiny[1], 400, 2, 10, n, incremental=False)}
        res['flop_floor_400x10_H2'] = {
            'predictor_tflop': {k: round(v, 2) for k, v in flops.items()},
            'floor_s_at_matmul_bound': {
                f'{mode}_{dt}': round(flops[mode] * 1e3 / res['matmul_gflops'][dt], 1)
                for mode in flops for dt in ('fp32', 'bf16')},
            'gflops_needed_for_27s': round(flops['incremental'] * 1e3 / 27.0, 1)}
        log(f'  compute floor 400x10 H=2: {res["flop_floor_400x10_H2"]}')
        if not quick:
            rows = [r for r in res['fixture_256'] if r['samples'] == 400 and r['horizon'] == 2]
            best = min(r['ms_per_step_at_10_iterations'] for r in rows)
            best_1t = min(r['ms_per_step_at_10_iterations'] for r in rows
                          if r['threads'] == args.threads)
            cpu_1t = min(r['cpu_ms_per_step_at_10_iterations'] for r in rows
                         if r['threads'] == args.threads and r['dtype'] == 'bf16')
            res['best_s_per_action_400x10_H2'] = round(best / 1e3, 1)
            res['best_s_per_action_400x10_H2_at_threads'] = round(best_1t / 1e3, 1)
            res['cpu_s_per_action_400x10_H2_bf16_at_threads'] = round(cpu_1t / 1e3, 1)
            res['speedup_vs_upstream_270s'] = round(UPSTREAM_S_PER_ACTION * 1e3 / best, 2)
            res['speedup_vs_upstream_270s_by_cpu_time'] = round(
                UPSTREAM_S_PER_ACTION * 1e3 / cpu_1t, 2)
            res['speedup_vs_full_recompute_fp32_measured_here'] = round(ref_it * 10 / best, 2)
            log(f'  best 400x10 H=2: {best / 1e3:.1f} s/action (wall; {cpu_1t / 1e3:.1f} s CPU '
                f'with {args.threads} thread(s)); vs upstream 270 s: '
                f'{res["speedup_vs_upstream_270s"]}x (by CPU time '
                f'{res["speedup_vs_upstream_270s_by_cpu_time"]}x); vs full recompute here '
                f'(fp32): {res["speedup_vs_full_recompute_fp32_measured_here"]}x')
    elif 'fixture' in args.sections:
        res['fixture_256'] = f'skipped: no fixture at {fixture}'
        log(res['fixture_256'])

    if 'warm' in args.sections:
        log('== warm start on a slowly moving goal')
        res['warm_start_toy'] = warm_start_toy(8 if quick else 15)
        for k, v in res['warm_start_toy'].items():
            log(f'  toy {k}: {v["mean_iterations_after_first"]:.2f} iterations to reach '
                'E<=2e-3')
        res['warm_start_small_net'] = warm_start_network(small, images(128), 4 if quick else 8,
                                                         50 if quick else 100)
        for k in ('cold', 'warm'):
            log(f'  small net {k}: {res["warm_start_small_net"][k]}')

    res['load_avg_end'] = os.getloadavg()
    res['total_s'] = round(time.perf_counter() - t_start, 1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1))
    log(f'wrote {out} ({res["total_s"]} s)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
