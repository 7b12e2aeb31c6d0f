# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""The state probe (latents -> end-effector position) and the planner's goal-position term."""

import json

from jepa_ros.data import episode_path, write_episode
from jepa_ros.data.synthetic import synthetic_episode
from jepa_ros.models.checkpoint import FORMAT, VERSION
from jepa_ros.models.config import CheckpointError
from jepa_ros.models.state_probe import load_probe, PROBE_FILE, save_probe, StateProbe
from jepa_ros.planning import CEMPlanner, PlannerConfig
from jepa_ros.planning.goal_state import goal_state_energy
from jepa_ros.planning.profiler import Profiler
from jepa_ros.planning.world_model import WorldModel
import numpy as np
import pytest
import torch


# --- the energy term ------------------------------------------------------------------------

def test_goal_state_term_is_zero_inside_the_dead_zone_and_pulls_from_outside():
    s = torch.tensor([0.5, 0.0, 0.3, 0.0, 0.0, 0.0, 0.0])
    goal = torch.tensor([0.5, 0.2, 0.3])
    a = torch.zeros(3, 2, 7)
    a[1, :, 1] = 0.05           # 10 cm towards the goal
    a[2, :, 1] = 0.095          # ends 1 cm from it: inside a 5 cm dead zone
    a.requires_grad_(True)
    e = goal_state_energy(s, a, goal, weight=10.0, deadzone=0.05)
    torch.testing.assert_close(e.detach(), torch.tensor([1.5, 0.5, 0.0]))
    (g,) = torch.autograd.grad(e.sum(), a)
    assert torch.isfinite(g).all()
    assert float(g[0, 0, 1]) < 0 and float(g[2].abs().sum()) == 0.0   # descent moves to +y
    still = torch.zeros(1, 1, 7, requires_grad=True)
    at_goal = goal_state_energy(s, still, s[:3], 10.0, 0.0)       # no dead zone, distance 0
    assert float(at_goal.detach()) < 1e-4
    assert torch.isfinite(torch.autograd.grad(at_goal.sum(), still)[0]).all()


# --- a world model that cannot see: the latent energy is flat ------------------------------

class _BlindModel(WorldModel):
    """Tokens are the raw state (one token); every rollout predicts the current frame again."""

    def __init__(self, probe_offset=(0.0, 0.0, 0.0), probe=True):
        self.device = torch.device('cpu')
        self.profiler = Profiler()
        self.offset = torch.tensor(probe_offset)
        self.state_probe = object() if probe else None

    def encode(self, images):
        return torch.as_tensor(np.asarray(images, np.float32)).reshape(1, 1, 7)

    def start(self, z, state, history=None):
        return {'z': z}

    def rollout(self, context, actions, states, return_all=False):
        z = context['z'].expand(actions.shape[0], -1, -1)
        return z[:, None].expand(-1, actions.shape[1], -1, -1) if return_all else z

    def probe_position(self, z):
        return z.reshape(-1)[:3] + self.offset


def _plan(wm, state, goal, **kw):
    cfg = PlannerConfig(samples=64, topk=8, iterations=4, horizon=2, seed=3, **kw)
    return CEMPlanner(wm, cfg).plan(state, state, goal)


def test_with_a_flat_latent_energy_the_probe_term_alone_steers_towards_the_goal():
    state = np.array([0.5, 0.0, 0.3, 0.0, 0.0, 0.0, 0.0], np.float32)
    goal = state.copy()
    goal[:3] = [0.5, 0.25, 0.2]
    plan = _plan(_BlindModel(), state, goal, goal_state_weight=10.0)
    step = plan.first_action[:3]
    want = (goal[:3] - state[:3]) / np.linalg.norm(goal[:3] - state[:3])
    assert plan.ok and float(step @ want) / np.linalg.norm(step) > 0.8
    np.testing.assert_allclose(plan.goal_position, goal[:3], atol=1e-6)
    # off, the same planner has nothing to go on and returns no such direction
    off = _plan(_BlindModel(), state, goal)
    assert off.goal_position is None and float(off.first_action[:3] @ want) < 0.02


def test_inside_the_dead_zone_the_plan_is_the_latent_energy_plan():
    state = np.array([0.5, 0.0, 0.3, 0.0, 0.0, 0.0, 0.0], np.float32)
    goal = state.copy()
    goal[1] += 0.01
    on = _plan(_BlindModel(), state, goal, goal_state_weight=10.0, goal_state_deadzone=0.2)
    off = _plan(_BlindModel(), state, goal)
    np.testing.assert_array_equal(on.actions, off.actions)


def test_current_reference_cancels_an_offset_on_both_readings():
    state = np.array([0.5, 0.0, 0.3, 0.0, 0.0, 0.0, 0.0], np.float32)
    goal = state.copy()
    goal[:3] = [0.6, -0.2, 0.3]
    biased = _BlindModel(probe_offset=(0.1, 0.1, -0.05))
    rel = _plan(biased, state, goal, goal_state_weight=10.0)
    np.testing.assert_allclose(rel.goal_position, goal[:3], atol=1e-6)
    # the plan reports the probe's live error on the current frame: the offset itself
    assert rel.probe_error == pytest.approx(np.linalg.norm([0.1, 0.1, -0.05]), abs=1e-6)
    absolute = _plan(biased, state, goal, goal_state_weight=10.0,
                     goal_state_reference='absolute')
    np.testing.assert_allclose(absolute.goal_position, goal[:3] + [0.1, 0.1, -0.05], atol=1e-6)


def test_a_model_without_a_probe_plans_as_before_and_says_why(caplog):
    state = np.array([0.5, 0.0, 0.3, 0.0, 0.0, 0.0, 0.0], np.float32)
    goal = state.copy()
    goal[1] = 0.25
    with caplog.at_level('WARNING'):
        on = _plan(_BlindModel(probe=False), state, goal, goal_state_weight=10.0)
    assert 'no state probe' in caplog.text and 'fit-probe' in caplog.text
    np.testing.assert_array_equal(on.actions, _plan(_BlindModel(), state, goal).actions)


@pytest.mark.parametrize('field,value', [('goal_state_weight', -1.0),
                                         ('goal_state_deadzone', float('nan')),
                                         ('goal_state_reference', 'goal')])
def test_bad_goal_state_settings_are_refused(field, value):
    from jepa_ros.utils.config import ConfigError
    with pytest.raises(ConfigError, match=field):
        PlannerConfig(**{field: value})


# --- probe files -----------------------------------------------------------------------------

def test_probe_file_round_trip_and_refusals(tmp_path):
    probe = StateProbe(12, hidden=8)
    probe.set_scaling(torch.randn(50, 12), torch.rand(50, 3))
    assert load_probe(tmp_path) is None                      # a folder without one: fine
    save_probe(tmp_path, probe, {'held_out': {'median_cm': 1.0}})
    again, report = load_probe(tmp_path, in_dim=12)
    z = torch.randn(4, 3, 4)
    torch.testing.assert_close(again(z), probe(z))
    assert report['held_out']['median_cm'] == 1.0
    with pytest.raises(CheckpointError, match='reads 12 latent values.*makes 20'):
        load_probe(tmp_path, in_dim=20)
    path = tmp_path / PROBE_FILE
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError, match='corrupt.*fit-probe'):
        load_probe(tmp_path)


def test_train_probe_reads_positions_back_from_latents_that_hold_them():
    from jepa_ros.training.fit_probe import errors_cm, FitProbeConfig, train_probe
    g = torch.Generator().manual_seed(0)
    y = torch.rand(1200, 3, generator=g) * torch.tensor([0.5, 0.7, 0.5]) + torch.tensor(
        [0.25, -0.35, 0.03])
    mix = torch.randn(3, 24, generator=g) * 4
    z = torch.tanh(y @ mix) + 0.01 * torch.randn(1200, 24, generator=g)   # [M, N*L]
    probe = train_probe(z[:1000], y[:1000], FitProbeConfig(steps=800, batch_size=128,
                                                           hidden=64, threads=1))
    err = errors_cm(probe, z[1000:].view(200, 2, 12), y[1000:])
    assert err['median_cm'] < 0.15 * err['constant_median_cm'], err


# --- fit-probe on a trained compact model ----------------------------------------------------

@pytest.fixture(scope='module')
def model_and_data(tmp_path_factory):
    from jepa_ros.training.train_wm import train, TrainWMConfig
    data = tmp_path_factory.mktemp('eps')
    for i in range(10):
        write_episode(episode_path(data, i), synthetic_episode(i, steps=12, image_size=32))
    out = tmp_path_factory.mktemp('wm')
    train(TrainWMConfig(data=str(data), out=str(out), image_size=32, enc_dim=32, enc_depth=1,
                        enc_heads=2, latent_dim=16, pred_dim=32, pred_depth=1, pred_heads=2,
                        history=2, rollout_steps=2, batch_size=8, steps=30, log_every=10,
                        eval_every=10, checkpoint_every=30, warmup_steps=2, lr=2e-3,
                        sigreg_projections=32, val_fraction=0.2, val_clips=8, threads=1),
          log=lambda *_: None)
    return out / 'model', data


def test_fit_probe_learns_positions_and_the_loader_plans_with_it(model_and_data):
    from jepa_ros.control.config import MPCNodeConfig
    from jepa_ros.control.loading import load_world_model
    from jepa_ros.training.fit_probe import fit, FitProbeConfig
    model, data = model_and_data
    lines = []
    report = fit(FitProbeConfig(model=str(model), data=(str(data),), steps=400, batch_size=64,
                                hidden=64, augment_copies=1, val_fraction=0.2, threads=1),
                 log=lines.append)
    held = report['held_out']
    assert held['frames'] == report['held_out_appearance']['frames'] > 0
    assert all(np.isfinite(v) for v in held.values())
    assert (model / PROBE_FILE).is_file() and 'held-out' in lines[-1]
    assert json.loads((model / 'probe_report.json').read_text())['held_out'] == held
    wm, _ = load_world_model(MPCNodeConfig(checkpoint=str(model)), 'cpu')
    assert wm.state_probe is not None
    img = (np.random.default_rng(0).random((32, 32, 3)) * 255).astype(np.uint8)
    state = np.array([0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 0.0], np.float32)
    plan = CEMPlanner(wm, PlannerConfig(samples=16, topk=4, iterations=2, horizon=3,
                                        goal_state_weight=5.0)).plan(img, state, img)
    assert plan.ok and len(plan.goal_position) == 3 and np.isfinite(plan.goal_position).all()


def test_fit_probe_refuses_a_model_of_another_family(tmp_path, model_and_data):
    from jepa_ros.training.fit_probe import fit, FitProbeConfig
    _, data = model_and_data
    (tmp_path / 'config.json').write_text(json.dumps({'format': FORMAT, 'version': VERSION,
                                                      'family': 'vjepa2_ac'}))
    (tmp_path / 'model.safetensors').write_bytes(b'')
    with pytest.raises(CheckpointError, match='not a compact one'):
        fit(FitProbeConfig(model=str(tmp_path), data=(str(data),), steps=1))


def test_fit_probe_names_a_camera_the_data_lacks(tmp_path, model_and_data):
    from jepa_ros.training.fit_probe import fit, FitProbeConfig
    model, data = model_and_data
    for i in range(4):
        ep = synthetic_episode(50 + i, steps=12, image_size=32)
        ep.metadata['camera']['name'] = 'wrist'
        write_episode(episode_path(tmp_path, i), ep)
    with pytest.raises(ValueError, match="camera 'synthetic' is not recorded"):
        fit(FitProbeConfig(model=str(model), data=(str(data), str(tmp_path)), steps=1))


def test_goal_state_term_uses_the_position_the_state_roll_reaches():
    from jepa_ros.planning.geometry import roll_states
    g = torch.Generator().manual_seed(1)
    s = torch.tensor([0.5, 0.0, 0.3, 0.1, -0.2, 0.3, 0.4])
    a = 0.05 * torch.randn(16, 3, 7, generator=g)
    goal = torch.tensor([0.45, 0.1, 0.25])
    want = 10.0 * ((roll_states(s, a)[:, -1, :3] - goal).norm(dim=-1) - 0.02).clamp_min(0)
    torch.testing.assert_close(goal_state_energy(s, a, goal, 10.0, 0.02), want)
