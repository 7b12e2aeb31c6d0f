#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Time to plan quality on the V-JEPA 2-AC path; prints figures and writes JSON.

Everything in one process, one torch thread, the same weights and the same start/goal per model:

- ``fixture``: the official-layout tiny parity fixture (random weights, 256 px) with a goal the
  model can reach: its own float32 prediction of a known action sequence ``A_STAR`` (energy 0
  there). Optimisers: a full-recompute reference CEM written here from the official algorithm
  (no key/value cache: every step re-runs the predictor over the whole sequence); our CEM at the
  official settings (400 x top-10 x 10 iterations, horizon 2, cold); the fast configurations of
  ``FAST``. Each plan's energy is the float32 energy of the action sequence it returns; the
  equal-settings ratio compares our CEM with the reference, the time-to-equal-energy ratio a
  fast configuration (when it reaches the official-settings energy) with both.
- ``bf16``: plan energy under the float32 model of bf16 plans (each ``fp32_parts`` setting,
  with the official choice of the CEM mean and with ``final_choice='best'``) against the fp32
  plan, same noise, on the fixture.
- ``bf16_rank``: 64 candidates around ``A_STAR`` scored by fp32 and bf16: the energy floor,
  the candidate-dependent noise against the fp32 spread, and the rank correlation.
- ``shipped``: the same comparison as ``fixture`` with the shipped default model on ``--goals``
  reach episodes' start and goal images (real goal images: the minimum is unknown).
- ``closed_loop``: ``jepa-ros eval`` episodes (reach, seed 0) with the eval's CPU defaults and
  with fast configurations of half and of about the same plan time, fp32, and the fast
  configuration in bf16 (bf16 searching, float32 refining and deciding).

Times are wall clock and process CPU time (one thread: on a shared machine the CPU time is the
figure to trust). The reference's time per iteration is constant, so ``--reference-iterations``
(default 2) runs fewer and scales to 10; its per-iteration energies are compared with ours over
the iterations both ran (same noise). ``--table`` prints the README tables from ``--out``.
bf16 runs at the precision asked for even where the CPU emulates it (then slowly: bf16 timings
are only meaningful with native bf16, see ``cpu_has_fast_bf16``).
"""

import argparse
import json
import os
from pathlib import Path
import platform
import sys
import time

from jepa_ros.planning import CEMPlanner, layer_norm_tokens, PlannerConfig, roll_states
from jepa_ros.planning import VJEPA2WorldModel
from jepa_ros.planning.safety import apply_limits
import numpy as np
import torch

STATE = np.array([0.5, 0.0, 0.3, 0.0, 0.0, 0.0, 0.2])
A_STAR = [[0.03, -0.02, 0.01, 0.0, 0.0, 0.0, 0.0], [0.02, 0.01, -0.01, 0.0, 0.0, 0.0, 0.0]]
OFFICIAL = {'samples': 400, 'topk': 10, 'iterations': 10, 'horizon': 2}
# Fast configurations (PlannerConfig fields on top of the official ones), cold start.
FAST = {
    'gn_8x1_g5': {'samples': 8, 'topk': 3, 'iterations': 1, 'grad_steps': 5,
                  'grad_method': 'gauss_newton', 'final_choice': 'best'},
    'gn_16x2_g5': {'samples': 16, 'topk': 4, 'iterations': 2, 'grad_steps': 5,
                   'grad_method': 'gauss_newton', 'final_choice': 'best'},
    'icem_32x3_gn3': {'samples': 32, 'topk': 6, 'iterations': 3, 'elite_carry': 0.5,
                      'noise_beta': 1.0, 'samples_decay': 1.5, 'stop_patience': 1,
                      'grad_steps': 3, 'grad_method': 'gauss_newton', 'final_choice': 'best'},
    'adam_16x2_g40': {'samples': 16, 'topk': 4, 'iterations': 2, 'grad_steps': 40,
                      'final_choice': 'best'},
    'icem_64x4': {'samples': 64, 'topk': 8, 'iterations': 4, 'elite_carry': 0.5,
                  'noise_beta': 1.0, 'samples_decay': 1.5, 'stop_patience': 1,
                  'final_choice': 'best'},
}
BF16_SETTINGS = {'samples': 32, 'topk': 8, 'iterations': 3, 'horizon': 2}


def log(*args):
    print(*args, flush=True)


def config(**kw) -> PlannerConfig:
    return PlannerConfig(**dict({'seed': 0, 'warm_start': False}, **kw))


def plan_energy(wm32, ctx, state, actions, goal) -> float:
    """Return the float32 energy (official l1, last step) of one action sequence [H, 7]."""
    a = torch.as_tensor(np.asarray(actions), dtype=torch.float32)[None]
    s = roll_states(torch.as_tensor(state, dtype=torch.float32), a)[:, :-1]
    pred = wm32.rollout(ctx, a, s)
    return float((pred - goal).abs().mean())


def reference_cem(wm, z, state, goal, cfg: PlannerConfig, iterations):
    """
    Run the official CEM with a full-recompute rollout; return (mean [H, 7], trace).

    Written from the published algorithm (sample, clip, top-k, momentum on mean and std), with
    the same seeded noise stream as CEMPlanner so the two can be compared draw for draw. Every
    imagined step runs the predictor over the whole sequence so far, as upstream does.
    """
    g = torch.Generator().manual_seed(cfg.seed)
    H, S = cfg.horizon, cfg.samples
    s0 = torch.as_tensor(state, dtype=torch.float32)
    mean = torch.zeros(H, 7)
    std = torch.zeros(H, 7)
    std[:, :3] = cfg.maxnorm
    std[:, 6] = cfg.init_std_gripper
    trace, t0, c0 = [], time.perf_counter(), time.process_time()
    for _ in range(iterations):
        a = torch.randn((S, H, 7), generator=g) * std + mean
        a[..., :3] = a[..., :3].clamp(-cfg.maxnorm, cfg.maxnorm)
        a[..., 3:6] = 0.0
        a[..., 6] = a[..., 6].clamp(cfg.gripper_low, cfg.gripper_high)
        states = roll_states(s0, a)[:, :-1]
        an, sn = wm._norm(a, 'action'), wm._norm(states, 'state')
        e = torch.empty(S)
        with torch.no_grad():
            for i in range(0, S, 32):
                b = an[i:i + 32].shape[0]
                frames, acts, sts = [z.expand(b, -1, -1)], [], []
                for t in range(H):
                    acts.append(an[i:i + b, t:t + 1])
                    sts.append(sn[i:i + b, t:t + 1])
                    out = wm.predictor(torch.cat(frames, 1), torch.cat(acts, 1),
                                       torch.cat(sts, 1))
                    frames.append(layer_norm_tokens(out[:, -z.shape[1]:]))
                e[i:i + b] = (frames[-1] - goal).abs().flatten(1).mean(1)
        idx = torch.topk(e, cfg.topk, largest=False).indices
        el = a[idx]
        mean = el.mean(0) * (1 - cfg.momentum_mean) + mean * cfg.momentum_mean
        std = el.std(0) * (1 - cfg.momentum_std) + std * cfg.momentum_std
        mean[:, 3:6] = 0.0
        std[:, 3:6] = 0.0
        trace.append({'ms': round(1e3 * (time.perf_counter() - t0), 1),
                      'cpu_ms': round(1e3 * (time.process_time() - c0), 1),
                      'best_energy': float(e.min())})
    return mean, trace


def reference_actions(mean, state, cfg):
    """Apply the planner's gripper deadband and safety limits to the reference's mean."""
    a = mean.double().numpy().copy()
    a[np.abs(a[:, 6]) < cfg.gripper_deadband, 6] = 0.0
    safe, _ = apply_limits(a, np.asarray(state, dtype=np.float64), cfg)
    return safe


def run_planner(wm, cfg, img, state, goal, wm32, ctx32, goal32, repeats=1):
    """Plan ``repeats`` times (fresh planner, same seed); return a JSON row (median time)."""
    times, cpu, plan = [], [], None
    for _ in range(repeats):
        planner = CEMPlanner(wm, cfg)
        t0, c0 = time.perf_counter(), time.process_time()
        plan = planner.plan(img, state, goal)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    e = plan_energy(wm32, ctx32, state, plan.actions, goal32)
    return {'s_median': round(float(np.median(times)), 3), 's_all': [round(t, 3) for t in times],
            'cpu_s_median': round(float(np.median(cpu)), 3),
            'plan_energy_fp32': e, 'iterations_run': plan.iterations,
            'best_energy_per_iteration': plan.energies, 'iteration_ms': plan.iteration_ms,
            'refine_trace': [[round(t, 1), e] for t, e in plan.refine_trace],
            'first_action': np.round(plan.first_action, 5).tolist(), 'ok': plan.ok,
            'reason': plan.reason}


def compare(name, wm32, z, state, goal, img, goal_img, ref_iterations, fast, repeats):
    """Reference vs our official-settings CEM vs the fast configurations on one model."""
    ctx32 = wm32.start(z, None)
    out = {}
    log(f'== {name}: full-recompute reference CEM, {ref_iterations} of 10 iterations')
    ref_cfg = config(**OFFICIAL)
    mean, trace = reference_cem(wm32, z, state, goal, ref_cfg, ref_iterations)
    per_it = trace[-1]['ms'] / ref_iterations / 1e3
    cpu_it = trace[-1]['cpu_ms'] / ref_iterations / 1e3
    out['reference'] = {'iterations_run': ref_iterations, 'trace': trace,
                        's_per_iteration': round(per_it, 3),
                        's_at_10_iterations': round(10 * per_it, 2),
                        'cpu_s_at_10_iterations': round(10 * cpu_it, 2)}
    if ref_iterations == 10:
        out['reference']['plan_energy_fp32'] = plan_energy(
            wm32, ctx32, state, reference_actions(mean, state, ref_cfg), goal)
    log(f'  {per_it:.2f} s/iteration -> {10 * per_it:.1f} s per action at 10 iterations '
        f'(CPU {10 * cpu_it:.1f} s)')
    log(f'== {name}: our CEM at the official settings (cached predictor, cold)')
    off = run_planner(wm32, config(**OFFICIAL), img, state, goal_img, wm32, ctx32, goal)
    out['official_settings'] = off
    n = len(trace)
    diff = np.abs(np.subtract([t['best_energy'] for t in trace],
                              off['best_energy_per_iteration'][:n]))
    out['equal_outputs_max_abs_diff_best_energy'] = float(diff.max())
    out['equal_settings_ratio_fp32'] = round(out['reference']['s_at_10_iterations'] /
                                             off['s_median'], 2)
    out['equal_settings_ratio_fp32_cpu_time'] = round(
        out['reference']['cpu_s_at_10_iterations'] / off['cpu_s_median'], 2)
    e_off = off['plan_energy_fp32']
    log(f'  {off["s_median"]:.1f} s (CPU {off["cpu_s_median"]:.1f} s), plan energy '
        f'{e_off:.3e}; vs reference {out["equal_settings_ratio_fp32"]}x (by CPU time '
        f'{out["equal_settings_ratio_fp32_cpu_time"]}x; max |dE| per iteration '
        f'{diff.max():.1e})')
    out['fast'] = {}
    for key, kw in fast.items():
        row = run_planner(wm32, config(**dict(OFFICIAL, **kw)), img, state, goal_img, wm32,
                          ctx32, goal, repeats)
        row['config'] = dict(OFFICIAL, **kw)
        row['reaches_official_energy'] = bool(row['plan_energy_fp32'] <= e_off)
        row['speedup_vs_official_settings'] = round(off['s_median'] / row['s_median'], 1)
        row['speedup_vs_reference'] = round(out['reference']['s_at_10_iterations'] /
                                            row['s_median'], 1)
        row['speedup_vs_official_settings_cpu_time'] = round(
            off['cpu_s_median'] / row['cpu_s_median'], 1)
        row['speedup_vs_reference_cpu_time'] = round(
            out['reference']['cpu_s_at_10_iterations'] / row['cpu_s_median'], 1)
        out['fast'][key] = row
        log(f'  {key}: {row["s_median"]:.2f} s, plan energy {row["plan_energy_fp32"]:.3e} '
            f'(reaches official: {row["reaches_official_energy"]}); '
            f'{row["speedup_vs_official_settings"]}x vs our official settings, '
            f'{row["speedup_vs_reference"]}x vs the reference (by CPU time '
            f'{row["speedup_vs_official_settings_cpu_time"]}x, '
            f'{row["speedup_vs_reference_cpu_time"]}x)')
    return out


def fixture_inputs(path):
    from jepa_ros.models import load_vjepa2
    enc, pred = load_vjepa2(Path(path) / 'checkpoint.pt', img_size=256, device='cpu')
    wm32 = VJEPA2WorldModel(enc, pred)
    img = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    z = wm32.encode(img)
    a = torch.tensor(A_STAR)[None]
    s = roll_states(torch.as_tensor(STATE, dtype=torch.float32), a)[:, :-1]
    goal = wm32.rollout(wm32.start(z, None), a, s)
    return (enc, pred), wm32, z, img, goal


def bf16_section(models, z, img, goal, wm32):
    ctx32 = wm32.start(z, None)
    rows = {}
    variants = {'fp32': ('fp32', 'none', 'mean')}
    for parts in ('none', 'readout', 'stream'):
        variants[f'bf16_{parts}'] = ('bf16', parts, 'mean')
    variants['bf16_none_best'] = ('bf16', 'none', 'best')
    variants['bf16_stream_best'] = ('bf16', 'stream', 'best')
    variants['fp32_best'] = ('fp32', 'none', 'best')
    for key, (dtype, parts, choice) in variants.items():
        wm = VJEPA2WorldModel(*models, dtype=dtype, fp32_parts=parts)
        row = run_planner(wm, config(**dict(BF16_SETTINGS, final_choice=choice)), z,
                          STATE, goal, wm32, ctx32, goal)
        row.update(dtype=dtype, fp32_parts=parts, final_choice=choice)
        rows[key] = row
        log(f'  {key}: plan energy (fp32 model) {row["plan_energy_fp32"]:.3e}, first action '
            f'{row["first_action"][:3]}, {row["s_median"]:.1f} s')
    key = 'gn_8x1_g5'
    for dtype in ('fp32', 'bf16'):
        wm = VJEPA2WorldModel(*models, dtype=dtype)
        row = run_planner(wm, config(**dict(OFFICIAL, **FAST[key])), z, STATE, goal, wm32,
                          ctx32, goal)
        row.update(dtype=dtype, config=FAST[key])
        rows[f'{key}_{dtype}'] = row
        log(f'  {key} {dtype}: plan energy (fp32 model) {row["plan_energy_fp32"]:.3e}, '
            f'{row["s_median"]:.1f} s')
    return {'settings': BF16_SETTINGS, 'a_star': A_STAR, 'rows': rows}


def _ranks(x):
    return np.argsort(np.argsort(np.asarray(x)))


def bf16_ranking(models, z, goal, wm32, n=64):
    """
    Score ``n`` candidates around ``A_STAR`` with fp32 and each bf16 ``fp32_parts`` setting.

    Returns, per setting, the energy floor (mean bf16 - fp32 energy), the std of that
    difference over candidates against the spread of the fp32 energies, the Spearman rank
    correlation with fp32, and the fp32 energy of the candidate bf16 ranks first.
    """
    g = torch.Generator().manual_seed(0)
    a_star = torch.tensor(A_STAR)
    scale = torch.tensor([0.02] * 3 + [0.0] * 3 + [0.3])
    cand = a_star + torch.randn(n, 2, 7, generator=g) * scale
    cand[..., :3] = cand[..., :3].clamp(-0.05, 0.05)
    cand[..., 6] = cand[..., 6].clamp(-0.75, 0.75)
    st = roll_states(torch.as_tensor(STATE, dtype=torch.float32), cand)[:, :-1]

    def energies(wm):
        return (wm.rollout(wm.start(z, None), cand, st) - goal).abs().flatten(1).mean(1)
    e32 = energies(wm32)
    out = {'candidates': n, 'fp32_spread_std': float(e32.std()),
           'fp32_best': float(e32.min())}
    for parts in ('none', 'readout', 'stream'):
        e = energies(VJEPA2WorldModel(*models, dtype='bf16', fp32_parts=parts))
        d = e - e32
        rho = float(np.corrcoef(_ranks(e.numpy()), _ranks(e32.numpy()))[0, 1])
        out[parts] = {'floor': float(d.mean()), 'noise_std': float(d.std()),
                      'spearman_with_fp32': round(rho, 3),
                      'fp32_energy_of_bf16_first': float(e32[int(e.argmin())])}
        log(f'  bf16 {parts}: floor {d.mean():.2e}, noise std {d.std():.2e} (fp32 spread '
            f'{e32.std():.2e}), rank correlation with fp32 {rho:.2f}')
    return out


def shipped_inputs(n_goals):
    """Return the shipped model and ``n_goals`` reach start/goal pairs (tokens and images)."""
    os.environ.setdefault('MUJOCO_GL', 'egl')
    from jepa_ros.eval.models import load_world_model_or_fallback
    from jepa_ros.eval.policies import fit_views
    from jepa_ros.eval.tasks import goal_images, make_episodes, reset_to_start
    from jepa_ros.sim import SimArm, SimConfig
    loaded = load_world_model_or_fallback('default', 'cpu', 'fp32')
    wm32 = loaded.world_model
    goals = []
    with SimArm(SimConfig(image_size=128)) as sim:
        for spec in make_episodes('reach', n_goals, 0, sim):
            goal_img = fit_views(goal_images(sim, spec, 128)[0], loaded.image_size)
            obs = reset_to_start(sim, spec)
            img = fit_views(obs.image, loaded.image_size)
            goals.append((wm32.encode(img), img, wm32.encode(goal_img), goal_img, obs.state))
    return loaded, wm32, goals


def summarize_goals(runs):
    """Per fast configuration: how many goals it reached the official energy on, and speed-ups."""
    out = {}
    for key in runs[0]['fast']:
        rows = [r['fast'][key] for r in runs]
        out[key] = {'reaches_official_energy': f'{sum(r["reaches_official_energy"] for r in rows)}'
                                               f'/{len(rows)}',
                    'speedup_vs_official_settings_median': float(np.median(
                        [r['speedup_vs_official_settings'] for r in rows])),
                    'speedup_vs_reference_median': float(np.median(
                        [r['speedup_vs_reference'] for r in rows])),
                    'speedup_vs_reference_cpu_time_median': float(np.median(
                        [r['speedup_vs_reference_cpu_time'] for r in rows]))}
        log(f'  {key}: reaches the official energy on {out[key]["reaches_official_energy"]} '
            f'goals; median {out[key]["speedup_vs_official_settings_median"]}x vs our official '
            f'settings, {out[key]["speedup_vs_reference_median"]}x vs the reference')
    return out


def closed_loop(episodes, fast_cfg):
    os.environ.setdefault('MUJOCO_GL', 'egl')
    from jepa_ros.eval.models import load_world_model_or_fallback
    from jepa_ros.eval.runner import CPU_PLANNER_DEFAULTS, EvalConfig, run_eval
    from jepa_ros.sim import SimArm, SimConfig
    sim_cfg = SimConfig(image_size=128)
    rows = {}
    budget_cfg = dict(fast_cfg, samples=32, topk=6, iterations=3)  # about the defaults' time
    runs = {'cpu_defaults_fp32': ('fp32', dict(CPU_PLANNER_DEFAULTS)),
            'fast_fp32': ('fp32', dict(CPU_PLANNER_DEFAULTS, **fast_cfg)),
            'fast_equal_budget_fp32': ('fp32', dict(CPU_PLANNER_DEFAULTS, **budget_cfg)),
            'fast_bf16': ('bf16', dict(CPU_PLANNER_DEFAULTS, **fast_cfg))}
    for key, (dtype, kw) in runs.items():
        loaded = load_world_model_or_fallback('default', 'cpu', dtype)
        cfg = EvalConfig(tasks=('reach',), episodes=episodes, baselines=(), videos=0,
                         dtype=dtype)
        pcfg = PlannerConfig(**dict(kw, workspace_min=sim_cfg.workspace_low,
                                    workspace_max=sim_cfg.workspace_high))
        t0 = time.perf_counter()
        with SimArm(sim_cfg) as sim:
            res = run_eval(cfg, pcfg, loaded, sim, progress=False, log=lambda *a: None)
        s = res['tasks']['reach']['planner']
        rows[key] = {'dtype': dtype, 'planner': kw, 'successes': s['successes'],
                     'episodes': s['episodes'], 'plan_ms_mean': s.get('plan_ms_mean'),
                     'final_distance_m_mean': s.get('final_distance_m_mean'),
                     'wall_s': round(time.perf_counter() - t0, 1)}
        log(f'  reach {key}: {s["successes"]}/{s["episodes"]}, plan '
            f'{s.get("plan_ms_mean", float("nan")):.0f} ms mean')
    return rows


OP_GROUPS = (('linear', ('addmm', 'aten::mm', 'bmm', 'linear', 'matmul')),
             ('attention', ('scaled_dot_product', 'flash_attention', 'softmax')),
             ('rotary', ('flip', 'aten::mul', 'addcmul')),
             ('copies', ('copy_', 'aten::cat', 'clone', 'contiguous', 'index', 'aten::to')),
             ('layer_norm', ('layer_norm',)), ('gelu', ('gelu',)))


def profile_section(wm32, z, goal, samples=32):
    """Return the op profile of one fp32 rollout (``samples`` x H=2) grouped by kind."""
    from torch.profiler import profile
    g = torch.Generator().manual_seed(0)
    a = (torch.randn(samples, 2, 7, generator=g) * 0.03).clamp(-0.05, 0.05)
    a[..., 3:6] = 0.0
    s = roll_states(torch.as_tensor(STATE, dtype=torch.float32), a)[:, :-1]
    ctx = wm32.start(z, None)
    wm32.rollout(ctx, a, s)
    with profile() as prof:
        wm32.rollout(ctx, a, s)
    totals = {}
    for ev in prof.key_averages():
        name = ev.key
        group = next((k for k, keys in OP_GROUPS if any(x in name for x in keys)), 'other')
        totals[group] = totals.get(group, 0.0) + ev.self_cpu_time_total / 1e3
    total = sum(totals.values())
    out = {'samples': samples, 'horizon': 2, 'total_ms': round(total, 1),
           'percent': {k: round(100 * v / total, 1) for k, v in
                       sorted(totals.items(), key=lambda kv: -kv[1])}}
    # One gradient step (forward + backward, 2 sequences) against one rollout of the batch.
    x = a[:2].clone().requires_grad_(True)
    times = {'rollout_batch_ms': [], 'grad_step_2_ms': []}
    for _ in range(3):
        t0 = time.perf_counter()
        wm32.rollout(ctx, a, s)
        times['rollout_batch_ms'].append(1e3 * (time.perf_counter() - t0))
        t0 = time.perf_counter()
        pred = wm32.differentiable_rollout(ctx, x, roll_states(
            torch.as_tensor(STATE, dtype=torch.float32), x)[:, :-1])
        torch.autograd.grad((pred - goal).abs().mean(), x)
        times['grad_step_2_ms'].append(1e3 * (time.perf_counter() - t0))
    out.update({k: round(float(np.median(v)), 1) for k, v in times.items()})
    log(f'  profile (fp32, {samples} x H=2 rollout, {total:.0f} ms): {out["percent"]}; '
        f'one gradient step on 2 sequences {out["grad_step_2_ms"]} ms vs '
        f'{out["rollout_batch_ms"]} ms for the {samples}-candidate rollout')
    return out


CLOSED_LOOP_FAST = {'samples': 16, 'topk': 4, 'iterations': 2, 'grad_steps': 4,
                    'grad_method': 'gauss_newton', 'final_choice': 'best'}


def markdown(res) -> str:
    """Return the README tables (time to quality, bf16, closed loop) from a results dict."""
    lines = ['| model | optimiser (fp32, 1 thread) | s per action (CPU s) | plan energy (fp32) '
             '| vs reference, wall (CPU) | vs our official settings, wall (CPU) |',
             '|---|---|---|---|---|---|']
    sections = [('fixture', res.get('fixture'))]
    shipped = res.get('shipped') or {}
    sections += [(f'shipped, goal {i}', g) for i, g in enumerate(shipped.get('goals', []))]
    for name, sec in sections:
        if not sec:
            continue
        ref, off = sec['reference'], sec['official_settings']
        lines.append(f'| {name} | full-recompute reference, 400 x 10, H=2 | '
                     f'{ref["s_at_10_iterations"]:.1f} ({ref["cpu_s_at_10_iterations"]:.1f}) | '
                     f'(= ours) | 1 | |')
        lines.append(f'| {name} | ours, official settings (cached) | {off["s_median"]:.1f} '
                     f'({off["cpu_s_median"]:.1f}) | {off["plan_energy_fp32"]:.3g} | '
                     f'{sec["equal_settings_ratio_fp32"]}x '
                     f'({sec["equal_settings_ratio_fp32_cpu_time"]}x) | 1 |')
        for key, row in sec['fast'].items():
            mark = '' if row['reaches_official_energy'] else ' (not reached)'
            lines.append(f'| {name} | {key} | {row["s_median"]:.2f} ({row["cpu_s_median"]:.2f}) '
                         f'| {row["plan_energy_fp32"]:.3g}{mark} | '
                         f'{row["speedup_vs_reference"]}x '
                         f'({row["speedup_vs_reference_cpu_time"]}x) | '
                         f'{row["speedup_vs_official_settings"]}x '
                         f'({row["speedup_vs_official_settings_cpu_time"]}x) |')
    if res.get('bf16'):
        lines += ['', '| bf16 check (fixture) | plan energy under the fp32 model | first action '
                  'xyz |', '|---|---|---|']
        for key, row in res['bf16']['rows'].items():
            lines.append(f'| {key} | {row["plan_energy_fp32"]:.3g} | {row["first_action"][:3]} |')
    if res.get('closed_loop'):
        lines += ['', '| closed loop, reach | success | plan ms mean | final distance cm |',
                  '|---|---|---|---|']
        for key, row in res['closed_loop']['rows'].items():
            lines.append(f'| {key} | {row["successes"]}/{row["episodes"]} | '
                         f'{row["plan_ms_mean"]:.0f} | '
                         f'{100 * row["final_distance_m_mean"]:.1f} |')
    return '\n'.join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--out', default='benchmarks/results/cpu_time_to_quality.json')
    ap.add_argument('--fixture', default=str(Path(__file__).resolve().parents[1].parent /
                                             'shared' / 'fixtures' / 'vjepa2_tiny'))
    ap.add_argument('--sections', nargs='+', default=['fixture', 'bf16', 'shipped'],
                    choices=['fixture', 'bf16', 'bf16_rank', 'shipped', 'closed_loop',
                             'profile'])
    ap.add_argument('--reference-iterations', type=int, default=2)
    ap.add_argument('--repeats', type=int, default=3, help='runs per fast configuration')
    ap.add_argument('--episodes', type=int, default=10, help='closed-loop reach episodes')
    ap.add_argument('--goals', type=int, default=3, help='reach goals for the shipped model')
    ap.add_argument('--table', action='store_true',
                    help='print the markdown tables of --out and exit (runs nothing)')
    ap.add_argument('--quick', action='store_true',
                    help='smoke run: tiny settings, figures meaningless (writes --out)')
    args = ap.parse_args(argv)
    if args.table:
        print(markdown(json.loads(Path(args.out).read_text())))
        return 0
    if args.quick:
        OFFICIAL.update(samples=24, iterations=2)
        BF16_SETTINGS.update(samples=8, topk=4, iterations=1)
        args.reference_iterations, args.repeats, args.episodes, args.goals = 1, 1, 1, 2
    torch.set_num_threads(1)
    from jepa_ros.models.runtime import cpu_has_fast_bf16
    res = {'quick': args.quick, 'threads': 1, 'torch': torch.__version__,
           'python': platform.python_version(), 'cpu_count': os.cpu_count(),
           'cpu_has_fast_bf16': cpu_has_fast_bf16(), 'load_avg_start': os.getloadavg(),
           'official': OFFICIAL, 'sections': args.sections}
    t_start = time.perf_counter()
    out = Path(args.out)
    if out.is_file():  # keep the sections not rerun this time
        old = json.loads(out.read_text())
        keep = ('fixture', 'bf16', 'bf16_rank', 'shipped', 'closed_loop', 'profile', 'runs')
        res = dict({k: v for k, v in old.items() if k in keep}, **res)
    if {'fixture', 'bf16', 'bf16_rank', 'profile'} & set(args.sections):
        models, wm32, z, img, goal = fixture_inputs(args.fixture)
        if 'fixture' in args.sections:
            res['fixture'] = compare('fixture', wm32, z, STATE, goal, z, goal,
                                     args.reference_iterations, FAST, args.repeats)
            res['fixture']['a_star'] = A_STAR
        if 'bf16' in args.sections:
            log(f'== bf16 vs fp32 plan energy on the fixture, {BF16_SETTINGS}')
            res['bf16'] = bf16_section(models, z, img, goal, wm32)
        if 'bf16_rank' in args.sections:
            log('== bf16 against fp32 ranking of candidates near the optimum (fixture)')
            res['bf16_rank'] = bf16_ranking(models, z, goal, wm32)
        if 'profile' in args.sections:
            log('== profile of the fixture predictor (fp32)')
            res['profile'] = profile_section(wm32, z, goal)
    if 'shipped' in args.sections:
        loaded, wm32, goals = shipped_inputs(args.goals)
        runs = [compare(f'shipped model ({loaded.description}), reach goal {i}', wm32, z,
                        state, goal, img, goal_img, args.reference_iterations, FAST,
                        args.repeats)
                for i, (z, img, goal, goal_img, state) in enumerate(goals)]
        log(f'== shipped model over {len(runs)} goals')
        res['shipped'] = {'model': loaded.description, 'goals': runs,
                          'summary': summarize_goals(runs)}
    if 'closed_loop' in args.sections:
        log(f'== closed loop, reach, {args.episodes} episodes')
        res['closed_loop'] = {'episodes': args.episodes, 'fast': CLOSED_LOOP_FAST,
                              'rows': closed_loop(args.episodes, CLOSED_LOOP_FAST)}
    res['load_avg_end'] = os.getloadavg()
    res['total_s'] = round(time.perf_counter() - t_start, 1)
    res['runs'] = res.get('runs', []) + [{
        'sections': args.sections, 'load_avg_start': res['load_avg_start'],
        'load_avg_end': res['load_avg_end'], 'total_s': res['total_s']}]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1))
    log(f'wrote {out} ({res["total_s"]} s)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
