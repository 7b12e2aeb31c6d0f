# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Energy levers: token weighting ('changed') and the all-steps horizon, off by default."""

import dataclasses

from jepa_ros.planning import (CEMPlanner, energy, energy_landscape, layer_norm_tokens,
                               LinearToyWorldModel, PlannerConfig, roll_states, sequence_energy,
                               token_weights, VJEPA2WorldModel)
from jepa_ros.planning import energies
from jepa_ros.planning.energies import candidate_energy
from jepa_ros.planning.world_model import run_rollout, WorldModel
from jepa_ros.utils.config import ConfigError, from_dict
import numpy as np
import pytest
import torch

torch.set_num_threads(1)

START = np.array([0.5, 0.0, 0.3, 0.0, 0.0, 0.0, 0.0])
KINDS = ('l1', 'l2', 'cosine')


def _tokens(*shape, seed=0):
    return layer_norm_tokens(torch.randn(*shape, generator=torch.Generator().manual_seed(seed)))


def _reference(pred, goal, kind, w):
    """Weighted energy written out the slow, obvious way."""
    if kind == 'cosine':
        per_token = 1.0 - torch.nn.functional.cosine_similarity(pred, goal.expand_as(pred), -1)
    elif kind == 'l1':
        per_token = (pred - goal).abs().mean(-1)
    else:
        per_token = (pred - goal).square().mean(-1)
    e = (per_token * w).sum(1) / w.sum()
    return e.sqrt() if kind == 'l2' else e


@pytest.fixture(scope='module')
def toy():
    return LinearToyWorldModel(seed=0)


@pytest.mark.parametrize('kind', KINDS)
@pytest.mark.parametrize('chunk', [None, 1000])
def test_weights_of_ones_reproduce_the_plain_energy(kind, chunk, monkeypatch):
    if chunk is not None:  # force the CPU chunked path (a few candidates per chunk)
        monkeypatch.setattr(energies, '_CHUNK_ELEMENTS', chunk)
    pred, goal = _tokens(37, 16, 24, seed=1), _tokens(16, 24, seed=2)
    plain = energy(pred, goal, kind)
    torch.testing.assert_close(energy(pred, goal, kind, torch.ones(16)), plain,
                               rtol=1e-5, atol=1e-6)
    # Scaling the weights changes nothing (a weighted mean), uneven weights do.
    torch.testing.assert_close(energy(pred, goal, kind, torch.full((16,), 3.0)), plain,
                               rtol=1e-5, atol=1e-6)
    w = torch.rand(16, generator=torch.Generator().manual_seed(3)) + 0.1
    got = energy(pred, goal, kind, w)
    torch.testing.assert_close(got, _reference(pred, goal[None], kind, w), rtol=1e-5, atol=1e-6)
    assert float((got - plain).abs().max()) > 1e-4
    # One goal per candidate works with weights too.
    goals = _tokens(37, 16, 24, seed=4)
    torch.testing.assert_close(energy(pred, goals, kind, w), _reference(pred, goals, kind, w),
                               rtol=1e-5, atol=1e-6)


def test_weighted_energy_keeps_autograd_and_rejects_bad_weights():
    pred = _tokens(3, 4, 8, seed=1).requires_grad_(True)
    goal = _tokens(4, 8, seed=2)
    energy(pred, goal, 'l1', torch.tensor([1.0, 2.0, 0.0, 1.0])).sum().backward()
    assert pred.grad is not None and float(pred.grad[:, 2].abs().max()) == 0.0
    with pytest.raises(ValueError, match='one value per token'):
        energy(pred.detach(), goal, 'l1', torch.ones(5))
    with pytest.raises(ValueError, match='non-negative'):
        energy(pred.detach(), goal, 'l1', torch.tensor([1.0, -1.0, 1.0, 1.0]))


def test_changed_weighting_puts_weight_on_the_tokens_that_differ():
    z_cur = _tokens(10, 16, seed=0)
    z_goal = z_cur.clone()
    z_goal[2] = _tokens(16, seed=5)
    z_goal[7] = _tokens(16, seed=6)
    w = token_weights(z_cur, z_goal, floor=0.2)
    assert w.shape == (10,)
    assert float(w.mean()) == pytest.approx(1.0, abs=1e-6)
    static = [i for i in range(10) if i not in (2, 7)]
    np.testing.assert_allclose(w[static].numpy(), 0.2, atol=1e-6)  # only the floor
    assert float(w[2]) > 3.0 and float(w[7]) > 3.0
    # floor 1: plain weights; floor 0: the static tokens do not count at all.
    np.testing.assert_allclose(token_weights(z_cur, z_goal, 1.0).numpy(), 1.0, atol=1e-6)
    np.testing.assert_allclose(token_weights(z_cur[None], z_goal[None], 0.0)[static].numpy(),
                               0.0, atol=1e-7)
    # Nothing to change (or nothing finite to compare): uniform weights.
    np.testing.assert_allclose(token_weights(z_cur, z_cur).numpy(), 1.0)
    nan_cur = torch.full_like(z_cur, float('nan'))
    np.testing.assert_allclose(token_weights(nan_cur, z_goal).numpy(), 1.0)


def test_changed_weighting_prefers_the_candidate_that_moves_what_must_move():
    n, d = 20, 32
    z_cur = _tokens(n, d, seed=0)
    z_goal = z_cur.clone()
    z_goal[:2] = _tokens(2, d, seed=1)  # only the arm/cube tokens must change
    # Right: moves the two tokens to the goal but the predictor adds noise to the background.
    right = z_goal.clone()
    right[2:] += 0.6 * torch.randn(n - 2, d, generator=torch.Generator().manual_seed(2))
    wrong = z_cur.clone()  # does nothing: the background is perfect, the arm never moves
    cands = torch.stack([right, wrong])
    plain = energy(cands, z_goal, 'l1')
    assert float(plain[0]) > float(plain[1])  # plain L1 picks the wrong candidate
    weighted = energy(cands, z_goal, 'l1', token_weights(z_cur, z_goal, 0.2))
    assert float(weighted[0]) < float(weighted[1])


def test_all_horizon_prefers_reaching_the_goal_early(toy):
    goal = toy.latent(START + np.array([0.03, 0, 0, 0, 0, 0, 0]))
    step = [0.03, 0, 0, 0, 0, 0, 0]
    still = [0.0] * 7
    actions = torch.tensor([[step, still], [still, step]], dtype=torch.float32)
    states = roll_states(torch.as_tensor(START, dtype=torch.float32), actions)[:, :-1]
    ctx = toy.start(toy.latent(START), None)
    last = toy.rollout(ctx, actions, states)
    every = toy.rollout(ctx, actions, states, return_all=True)
    assert every.shape == (2, 2, toy.tokens, toy.dim)
    torch.testing.assert_close(every[:, -1], last)
    e_last = candidate_energy(last, goal)
    assert float(e_last.max()) < 1e-4  # both end at the goal: 'last' cannot tell them apart
    e_all = candidate_energy(every, goal)
    assert float(e_all[0]) < 1e-4 < float(e_all[1])
    torch.testing.assert_close(e_all, torch.stack([energy(every[:, t], goal)
                                                   for t in range(2)]).mean(0))


def test_horizon_1_all_equals_last(toy):
    goal = toy.latent(START + np.array([0.02, -0.01, 0.0, 0, 0, 0, 0.3]))
    base = PlannerConfig(horizon=1, samples=64, iterations=4, seed=3)
    for weighting in ('none', 'changed'):
        cfg = dataclasses.replace(base, energy_weighting=weighting)
        a = CEMPlanner(toy, cfg).plan(START, START, goal)
        b = CEMPlanner(toy, dataclasses.replace(cfg, energy_horizon='all')).plan(START, START,
                                                                                 goal)
        np.testing.assert_array_equal(a.actions, b.actions)
        assert a.energies == b.energies and a.final_energy == b.final_energy
    pred = _tokens(5, 1, 8, 16, seed=1)
    torch.testing.assert_close(sequence_energy(pred, goal), energy(pred[:, 0], goal))


def test_bad_lever_values_raise_config_errors():
    with pytest.raises(ConfigError, match=r"energy_weighting.*\('none', 'changed'\).*'all'"):
        PlannerConfig(energy_weighting='all')
    with pytest.raises(ConfigError, match=r"energy_horizon.*\('last', 'all'\).*'first'"):
        PlannerConfig(energy_horizon='first')
    for floor in (-0.1, 1.5):
        with pytest.raises(ConfigError, match=r'energy_weight_floor.*\[0, 1\]'):
            PlannerConfig(energy_weight_floor=floor)
    with pytest.raises(ConfigError, match='energy_weight_floor must be finite'):
        PlannerConfig(energy_weight_floor=float('nan'))
    # The levers are plain str/float fields: ROS parameters and YAML set them.
    cfg = from_dict(PlannerConfig, {'energy_weighting': 'changed', 'energy_weight_floor': 1,
                                    'energy_horizon': 'all'})
    assert (cfg.energy_weighting, cfg.energy_weight_floor, cfg.energy_horizon) == \
        ('changed', 1.0, 'all')
    default = PlannerConfig()
    assert (default.energy_weighting, default.energy_horizon) == ('none', 'last')


def test_cem_with_both_levers_still_finds_the_optimum(toy):
    offset = np.array([0.03, -0.02, 0.01])
    goal = toy.latent(START + np.r_[offset, 0, 0, 0, 0])
    levers = {'energy_weighting': 'changed', 'energy_horizon': 'all'}
    cfg = PlannerConfig(horizon=1, samples=300, iterations=12, seed=1, **levers)
    plan = CEMPlanner(toy, cfg).plan(START, START, goal)
    assert plan.ok, plan.reason
    np.testing.assert_allclose(plan.first_action[:3], offset, atol=2e-3)  # closed form
    assert plan.final_energy < 0.01 < plan.current_energy
    # current_energy uses this step's weights, as the planner's energies do.
    z = toy.latent(START)
    want = energy(z, goal, 'l1', token_weights(z, goal, cfg.energy_weight_floor))
    assert plan.current_energy == pytest.approx(float(want[0]), rel=1e-6)
    assert plan.current_energy != pytest.approx(float(energy(z, goal)[0]), rel=1e-3)
    # Two steps: both horizons end at the goal; 'all' gets there earlier on every seed.
    early = []
    for seed in range(4):
        cfg = PlannerConfig(horizon=2, samples=300, iterations=15, seed=seed, **levers)
        ends = {}
        for horizon in ('last', 'all'):
            plan = CEMPlanner(toy, dataclasses.replace(cfg, energy_horizon=horizon)).plan(
                START, START, goal)
            assert plan.ok, plan.reason
            ends[horizon] = np.linalg.norm(plan.ee_path - (START[:3] + offset), axis=1)
            assert ends[horizon][-1] < 3e-3
        assert ends['all'][1] < ends['last'][1]
        early.append(ends['all'][1])
    assert np.mean(early) < 0.015 < np.linalg.norm(offset)


def test_landscape_shows_the_energy_the_planner_minimises(toy):
    goal_state = START + np.array([0.03, -0.02, 0.01, 0, 0, 0, 0])
    for cfg in (PlannerConfig(horizon=2, samples=64, iterations=3, seed=0),
                PlannerConfig(horizon=2, samples=64, iterations=3, seed=0,
                              energy_weighting='changed', energy_horizon='all')):
        plan = CEMPlanner(toy, cfg).plan(START, START, goal_state)
        ls = energy_landscape(toy, START, START, goal_state, plan.actions, span=0.02,
                              resolution=3, config=cfg)
        assert ls.chosen_energy == pytest.approx(plan.final_energy, rel=1e-5)
    # The levers change the map (else the check above proves little).
    plain = energy_landscape(toy, START, START, goal_state, plan.actions, span=0.02,
                             resolution=3)
    assert plain.chosen_energy != pytest.approx(ls.chosen_energy, rel=1e-3)


class _LastStepOnly(WorldModel):
    """A world model written before ``return_all`` existed."""

    def __init__(self, toy):
        self.toy = toy

    def start(self, z, state, history=None):
        return self.toy.start(z, state, history)

    def rollout(self, context, actions, states):
        return self.toy.rollout(context, actions, states)


def test_world_models_without_return_all_work_unless_all_steps_are_asked_for(toy):
    old = _LastStepOnly(toy)
    goal = toy.latent(START + np.array([0.02, 0, 0, 0, 0, 0, 0]))
    plan = CEMPlanner(old, PlannerConfig(horizon=1, samples=32, iterations=2)).plan(
        toy.latent(START), START, goal)
    assert plan.ok, plan.reason
    a = torch.zeros(1, 2, 7)
    s = roll_states(torch.as_tensor(START, dtype=torch.float32), a)[:, :-1]
    with pytest.raises(ValueError, match="_LastStepOnly.rollout has no return_all.*'last'"):
        run_rollout(old, old.start(toy.latent(START), None), a, s, return_all=True)


@pytest.fixture(scope='module')
def models(tiny_models):
    return tiny_models


def test_vjepa2_return_all_on_every_rollout_path(models):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
    g = torch.Generator().manual_seed(0)
    a = torch.randn(5, 3, 7, generator=g) * 0.03
    s = roll_states(torch.tensor(START, dtype=torch.float32), a)[:, :-1]
    inc = VJEPA2WorldModel(*models, chunk_size=0)
    z = inc.encode(frames[0])
    n, d = z.shape[1], z.shape[2]
    history = (inc.encode(frames[1:]).reshape(1, 2 * n, d), torch.randn(1, 2, 7, generator=g) *
               0.03, torch.randn(1, 2, 7, generator=g) * 0.1)
    wms = {'incremental': inc, 'chunked': VJEPA2WorldModel(*models, chunk_size=2),
           'full': VJEPA2WorldModel(*models, incremental=False)}
    for hist in (None, history):
        outs = {}
        for name, wm in wms.items():
            ctx = wm.start(z, None, hist)
            every = wm.rollout(ctx, a, s, return_all=True)
            assert every.shape == (5, 3, n, d)
            torch.testing.assert_close(every[:, -1], wm.rollout(ctx, a, s), rtol=0, atol=1e-5)
            # Step t of the rollout is the final step of the first t+1 actions.
            torch.testing.assert_close(every[:, 0], wm.rollout(ctx, a[:, :1], s[:, :1]),
                                       rtol=0, atol=1e-5)
            outs[name] = every
        for name in ('chunked', 'full'):
            assert float((outs[name] - outs['incremental']).abs().max()) < 1e-4
