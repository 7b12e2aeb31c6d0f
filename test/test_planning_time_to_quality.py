# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Time-to-quality options of the planner: iCEM, early stop, gradient refinement, fp32 choice."""

from jepa_ros.models.layers import Attention, rope_tables, RopeTables
from jepa_ros.planning import (CEMPlanner, energy, LinearToyWorldModel, MPPIPlanner,
                               PlannerConfig, roll_states, VJEPA2WorldModel)
from jepa_ros.planning.planner import _stalled, coloured_noise
from jepa_ros.utils.config import ConfigError
import numpy as np
import pytest
import torch

torch.set_num_threads(1)

START = np.array([0.5, 0.0, 0.3, 0.0, 0.0, 0.0, 0.0])
STATE_T = torch.tensor([0.5, 0.0, 0.3, 0.0, 0.0, 0.0, 0.2])


@pytest.fixture(scope='module')
def toy():
    return LinearToyWorldModel(seed=0)


def toy_goal(toy, offset=(0.03, -0.02, 0.01)):
    g = START.copy()
    g[:3] += offset
    return toy.latent(g)


class CountingToy(LinearToyWorldModel):
    """The toy model, recording the batch size of every rollout."""

    def __init__(self):
        super().__init__(seed=0)
        self.batches = []

    def rollout(self, context, actions, states, return_all=False):
        self.batches.append(actions.shape[0])
        return super().rollout(context, actions, states, return_all)


def _frame(seed):
    return np.random.default_rng(seed).integers(0, 256, (64, 64, 3), dtype=np.uint8)


def test_new_options_validate():
    for bad in ({'elite_carry': 1.5}, {'noise_beta': -1.0}, {'samples_decay': 0.5},
                {'stop_patience': -1}, {'grad_steps': -1}, {'grad_lr': 0.0},
                {'final_choice': 'median'}, {'elite_carry': float('nan')},
                {'grad_method': 'newton'}, {'grad_decay': 0.0}, {'grad_decay': 2.0}):
        with pytest.raises(ConfigError):
            PlannerConfig(**bad)


def test_stall_rule():
    assert not _stalled([1.0, 0.5, 0.499], 0, 0.01)  # patience 0: never
    assert not _stalled([1.0, 0.5], 1, 0.01)           # improved by half
    assert _stalled([1.0, 0.5, 0.499], 1, 0.01)        # 0.2 % in the last iteration
    assert not _stalled([1.0, 0.5, 0.499], 2, 0.01)    # 50 % over the last two
    assert _stalled([1.0, 0.5, 0.6], 1, 0.0)           # got worse: no improvement at all


def test_early_stop_stops_and_off_runs_every_iteration(toy):
    goal = toy_goal(toy)
    base = {'horizon': 1, 'samples': 40, 'topk': 5, 'iterations': 12, 'seed': 0,
            'warm_start': False}
    full = CEMPlanner(toy, PlannerConfig(**base)).plan(START, START, goal)
    assert full.iterations == 12 and len(full.iteration_ms) == 12
    # Any improvement under 1000 % counts as a stall: stops right after the patience.
    stopped = CEMPlanner(toy, PlannerConfig(stop_patience=2, stop_rtol=10.0, **base)).plan(
        START, START, goal)
    assert stopped.ok and stopped.iterations == 3
    assert stopped.energies == full.energies[:3]  # the same search, cut short
    assert np.all(np.diff(stopped.iteration_ms) > 0)


def test_warm_start_shifts_the_plan_and_the_carried_elites(toy):
    cfg = PlannerConfig(horizon=3, samples=40, topk=6, iterations=3, seed=0,
                        warm_start=True, elite_carry=0.5)
    planner = CEMPlanner(toy, cfg)
    planner.plan(START, START, toy_goal(toy))
    prev_mean, prev_elites = planner._prev_mean.clone(), planner._prev_elites.clone()
    mean, std = planner._init_dist()
    torch.testing.assert_close(mean[:2], prev_mean[1:])
    torch.testing.assert_close(mean[2], prev_mean[2])  # the last step repeats
    carried = planner._carried_elites(3)
    assert carried.shape == (3, 3, 7)
    torch.testing.assert_close(carried[:, :2], prev_elites[:3, 1:])
    cold = CEMPlanner(toy, PlannerConfig(horizon=3, warm_start=False, elite_carry=0.5))
    assert cold._carried_elites(3) is None


def test_elite_carry_keeps_the_best_energy_from_rising(toy):
    cfg = {'horizon': 2, 'samples': 12, 'topk': 4, 'iterations': 8, 'seed': 3, 'warm_start': False}
    planner = CEMPlanner(toy, PlannerConfig(elite_carry=1.0, **cfg))
    plan = planner.plan(START, START, toy_goal(toy))
    # The previous iteration's best competes again (a deterministic model scores it the same).
    assert np.all(np.diff(plan.energies) <= 1e-7), plan.energies


def test_samples_decay_shrinks_the_batches_to_twice_topk():
    toy = CountingToy()
    cfg = PlannerConfig(horizon=1, samples=64, topk=5, iterations=5, samples_decay=2.0,
                        warm_start=False)
    CEMPlanner(toy, cfg).plan(START, START, toy_goal(toy))
    assert toy.batches[:5] == [64, 32, 16, 10, 10]


def test_coloured_noise_has_unit_variance_and_correlates_steps():
    g = torch.Generator().manual_seed(0)
    white = coloured_noise((20000, 6, 2), 0.0, g)
    red = coloured_noise((20000, 6, 2), 2.0, g)
    np.testing.assert_allclose(red.var(0).numpy(), 1.0, atol=0.05)
    np.testing.assert_allclose(white.var(0).numpy(), 1.0, atol=0.05)
    corr = lambda x: float((x[:, 0] * x[:, 1]).mean())  # noqa: E731
    assert abs(corr(white)) < 0.03 and corr(red) > 0.2


def test_default_sampler_is_the_official_white_noise(toy):
    # noise_beta 0 and the new options at their defaults draw exactly as before: same plan
    # as an explicit copy of those defaults, and plans differ once an option is on.
    cfg = {'horizon': 2, 'samples': 30, 'topk': 5, 'iterations': 3, 'seed': 2, 'warm_start': False}
    a = CEMPlanner(toy, PlannerConfig(**cfg)).plan(START, START, toy_goal(toy))
    b = CEMPlanner(toy, PlannerConfig(noise_beta=0.0, elite_carry=0.0, samples_decay=1.0,
                                      stop_patience=0, grad_steps=0, final_choice='mean',
                                      **cfg)).plan(START, START, toy_goal(toy))
    c = CEMPlanner(toy, PlannerConfig(noise_beta=2.0, **cfg)).plan(START, START, toy_goal(toy))
    np.testing.assert_array_equal(a.actions, b.actions)
    assert not np.array_equal(a.actions, c.actions)


@pytest.mark.parametrize('cls', [CEMPlanner, MPPIPlanner])
def test_gradient_refinement_lowers_the_energy(toy, cls):
    cfg = {'horizon': 1, 'samples': 16, 'topk': 4, 'iterations': 2, 'seed': 0, 'warm_start': False}
    goal = toy_goal(toy)
    plain = cls(toy, PlannerConfig(final_choice='best', **cfg)).plan(START, START, goal)
    refined = cls(toy, PlannerConfig(grad_steps=60, grad_lr=0.004, final_choice='best',
                                     **cfg)).plan(START, START, goal)
    assert refined.ok, refined.reason
    assert refined.final_energy < 0.5 * plain.final_energy
    np.testing.assert_allclose(refined.first_action[:3], [0.03, -0.02, 0.01], atol=3e-3)
    trace = [e for _, e in refined.refine_trace]
    assert len(trace) == 61 and np.all(np.diff(trace) <= 0)  # best so far never rises


@pytest.mark.parametrize('weighting', ['none', 'changed'])
def test_gauss_newton_refinement_reaches_the_optimum_in_a_few_steps(toy, weighting):
    cfg = {'horizon': 1, 'samples': 16, 'topk': 4, 'iterations': 2, 'seed': 0,
           'warm_start': False, 'final_choice': 'best', 'energy_weighting': weighting}
    goal = toy_goal(toy)
    plain = CEMPlanner(toy, PlannerConfig(**cfg)).plan(START, START, goal)
    gn = CEMPlanner(toy, PlannerConfig(grad_steps=5, grad_method='gauss_newton', **cfg)).plan(
        START, START, goal)
    assert gn.ok, gn.reason
    assert gn.final_energy < 1e-3 * plain.final_energy
    np.testing.assert_allclose(gn.first_action[:3], [0.03, -0.02, 0.01], atol=1e-4)
    trace = [e for _, e in gn.refine_trace]
    assert len(trace) == 6 and np.all(np.diff(trace) <= 0)
    # final_choice 'mean' returns the refined sequence first too (not the unrefined mean)
    cfg['final_choice'] = 'mean'
    gn_mean = CEMPlanner(toy, PlannerConfig(grad_steps=5, grad_method='gauss_newton',
                                            **cfg)).plan(START, START, goal)
    assert gn_mean.reason == 'ok'
    assert gn_mean.final_energy == pytest.approx(gn.final_energy, abs=1e-7)


def test_gauss_newton_keeps_the_best_row_and_returns_the_others(toy):
    planner = CEMPlanner(toy, PlannerConfig(horizon=2, grad_steps=3,
                                            grad_method='gauss_newton'))
    s_t = torch.as_tensor(START, dtype=torch.float32)
    goal = toy_goal(toy)
    starts = torch.zeros(3, 2, 7)
    starts[0, :, :3] = 0.01
    starts[2, :, :3] = -0.04
    ctx = toy.start(toy.encode(START), s_t)
    out, e_out = planner._refine_gn(ctx, s_t, goal, None, starts)
    e_start = energy(toy.rollout(ctx, starts, roll_states(s_t, starts)[:, :-1]), goal)
    assert int(torch.argmin(e_start)) == 1  # the closest start is the one refined
    assert float(e_out[1]) < 0.5 * float(e_start[1])
    torch.testing.assert_close(out[[0, 2]], starts[[0, 2]])
    torch.testing.assert_close(e_out[[0, 2]], e_start[[0, 2]])
    torch.testing.assert_close(energy(toy.rollout(ctx, out, roll_states(s_t, out)[:, :-1]),
                                      goal), e_out)


def test_refined_rows_are_never_worse_than_their_start(toy):
    planner = CEMPlanner(toy, PlannerConfig(horizon=2, grad_steps=5, grad_lr=0.05))
    s_t = torch.as_tensor(START, dtype=torch.float32)
    goal = toy_goal(toy)
    starts = torch.zeros(3, 2, 7)
    starts[1, :, :3] = 0.01
    starts[2, :, :3] = -0.04
    ctx = toy.start(toy.encode(START), s_t)
    out, e_out = planner._refine(ctx, s_t, goal, None, starts)
    e_start = energy(toy.rollout(ctx, starts, roll_states(s_t, starts)[:, :-1]), goal)
    assert torch.all(e_out <= e_start + 1e-7)
    torch.testing.assert_close(energy(toy.rollout(ctx, out, roll_states(s_t, out)[:, :-1]),
                                      goal), e_out)


def test_grad_steps_on_a_world_model_without_autograd_is_a_clear_error(toy):
    class NoGrad(LinearToyWorldModel):
        @torch.no_grad()
        def rollout(self, context, actions, states, return_all=False):
            return super().rollout(context, actions, states, return_all)
    wm = NoGrad(seed=0)
    with pytest.raises(ValueError, match='not differentiable'):
        CEMPlanner(wm, PlannerConfig(horizon=1, samples=8, topk=2, iterations=1,
                                     grad_steps=2)).plan(START, START, toy_goal(wm))


def test_differentiable_and_precise_rollouts_match_the_fp32_rollout(tiny_models):
    wm32 = VJEPA2WorldModel(*tiny_models)
    wm16 = VJEPA2WorldModel(*tiny_models, dtype='bf16')
    z = wm32.encode(_frame(0))
    g = torch.Generator().manual_seed(0)
    a = torch.randn(3, 2, 7, generator=g) * 0.03
    s = roll_states(STATE_T, a)[:, :-1]
    want = wm32.rollout(wm32.start(z, None), a, s)
    torch.testing.assert_close(wm16.precise_rollout(wm16.start(z, None), a, s), want,
                               atol=1e-5, rtol=1e-5)
    x = a.clone().requires_grad_(True)
    got = wm16.differentiable_rollout(wm16.start(z, None), x, roll_states(STATE_T, x)[:, :-1])
    torch.testing.assert_close(got.detach(), want, atol=1e-5, rtol=1e-5)
    goal = wm32.encode(_frame(1))
    (grad,) = torch.autograd.grad(energy(got, goal).sum(), x)
    assert torch.isfinite(grad).all() and float(grad[..., :3].abs().sum()) > 0
    assert all(p.grad is None for p in wm16.predictor.parameters())


def test_differentiable_rollout_with_history_matches(tiny_models):
    wm = VJEPA2WorldModel(*tiny_models)
    z0, z = wm.encode(_frame(2)), wm.encode(_frame(0))
    hist = (z0, torch.zeros(1, 1, 7), STATE_T.view(1, 1, 7))
    a = torch.randn(2, 2, 7) * 0.03
    s = roll_states(STATE_T, a)[:, :-1]
    want = wm.rollout(wm.start(z, STATE_T, hist), a, s)
    got = wm.differentiable_rollout(wm.start(z, STATE_T, hist), a, s)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_bf16_search_with_fp32_choice_reports_the_fp32_energy(tiny_models):
    wm32 = VJEPA2WorldModel(*tiny_models)
    wm16 = VJEPA2WorldModel(*tiny_models, dtype='bf16')
    z, goal = wm32.encode(_frame(0)), wm32.encode(_frame(1))
    cfg = PlannerConfig(horizon=2, samples=8, topk=3, iterations=2, seed=0, warm_start=False,
                        final_choice='best')
    plan = CEMPlanner(wm16, cfg).plan(z, STATE_T.numpy(), goal)
    assert plan.ok, plan.reason
    a = torch.as_tensor(plan.actions, dtype=torch.float32)[None]
    e32 = energy(wm32.rollout(wm32.start(z, None), a, roll_states(STATE_T, a)[:, :-1]), goal)
    assert plan.final_energy == pytest.approx(float(e32[0]), abs=1e-6)


def test_best_choice_is_never_worse_than_the_mean(tiny_models):
    wm = VJEPA2WorldModel(*tiny_models)
    z, goal = wm.encode(_frame(0)), wm.encode(_frame(1))
    cfg = {'horizon': 2, 'samples': 8, 'topk': 3, 'iterations': 2, 'seed': 0, 'warm_start': False}
    mean = CEMPlanner(wm, PlannerConfig(**cfg)).plan(z, STATE_T.numpy(), goal)
    planner = CEMPlanner(wm, PlannerConfig(final_choice='best', **cfg))
    best = planner.plan(z, STATE_T.numpy(), goal)
    assert best.final_energy <= mean.final_energy + 1e-7


def test_cached_and_full_recompute_plans_are_equal(tiny_models):
    cfg = PlannerConfig(horizon=2, samples=8, topk=3, iterations=2, seed=0, warm_start=False)
    plans = []
    for incremental in (True, False):
        wm = VJEPA2WorldModel(*tiny_models, incremental=incremental)
        z, goal = wm.encode(_frame(0)), wm.encode(_frame(1))
        plans.append(CEMPlanner(wm, cfg).plan(z, STATE_T.numpy(), goal))
    np.testing.assert_allclose(plans[0].energies, plans[1].energies, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(plans[0].actions, plans[1].actions, atol=1e-6)


def test_fp32_stream_keeps_the_residual_float32(tiny_models):
    a = torch.randn(2, 1, 7) * 0.03
    s = roll_states(STATE_T, a)[:, :-1]
    outs = {}
    for parts in ('none', 'readout', 'stream'):
        wm = VJEPA2WorldModel(*tiny_models, dtype='bf16', fp32_parts=parts)
        fast = wm._planning_predictor()
        assert fast.keep_fp32_stream == (parts == 'stream')
        assert fast.stream_dtype == (torch.float32 if parts == 'stream' else torch.bfloat16)
        want = torch.float32 if parts != 'none' else torch.bfloat16
        assert fast.predictor_proj.weight.dtype == want
        assert fast.predictor_blocks[0].mlp.fc1.weight.dtype == torch.bfloat16
        outs[parts] = wm.rollout(wm.start(wm.encode(_frame(0)), None), a, s)
    ref = VJEPA2WorldModel(*tiny_models)
    want = ref.rollout(ref.start(ref.encode(_frame(0)), None), a, s)
    for parts, out in outs.items():
        assert out.dtype == torch.float32
        assert float((out - want).abs().mean()) < 0.05, parts
    with pytest.raises(ValueError, match='fp32_parts'):
        VJEPA2WorldModel(*tiny_models, fp32_parts='all')


@pytest.mark.parametrize('halves', [False, True])
def test_prepared_rotary_tables_match_raw_tables(halves):
    torch.manual_seed(0)
    attn = Attention(48, 3).eval()
    if halves:
        attn.split_rope_pairs()
    x = torch.randn(2, 10, 48)
    t = torch.arange(10, dtype=torch.float32)
    cos, sin = rope_tables(16, t, t, t)
    tables = RopeTables(cos, sin)
    with torch.no_grad():
        want, _ = attn(x, cos, sin)
        got, _ = attn(x, tables, None)
        again, _ = attn(x, tables, None)
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(again, want)
    assert len(tables._ready) == 1  # prepared once, reused
