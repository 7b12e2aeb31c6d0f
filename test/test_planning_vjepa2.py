# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""The planner over the real models: the official-layout tiny fixture and our own checkpoints."""

from jepa_ros.planning import (CEMPlanner, energy, energy_landscape, MPPIPlanner, PlannerConfig,
                               roll_states, VJEPA2WorldModel)
import numpy as np
import pytest
import torch

torch.set_num_threads(1)

STATE = np.array([0.5, 0.0, 0.3, 0.0, 0.0, 0.0, 0.2])
NORM = {'action_mean': [0.001, -0.002, 0.0, 0.0, 0.0, 0.0, 0.05],
        'action_std': [0.02, 0.03, 0.01, 0.1, 0.1, 0.1, 0.4],
        'state_mean': [0.5, 0.0, 0.3, 0.0, 0.0, 0.0, 0.5],
        'state_std': [0.1, 0.2, 0.1, 1.0, 1.0, 1.0, 0.5]}


@pytest.fixture(scope='module')
def tiny(vjepa2_tiny_dir):
    from jepa_ros.models import load_vjepa2
    return load_vjepa2(vjepa2_tiny_dir / 'checkpoint.pt', img_size=256, device='cpu')


@pytest.fixture(scope='module')
def images():
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (256, 256, 3), dtype=np.uint8) for _ in range(3)]


def small_config(**kw):
    base = {'horizon': 2, 'samples': 12, 'topk': 4, 'iterations': 2, 'seed': 0}
    base.update(kw)
    return PlannerConfig(**base)


def test_encode_gives_layer_normed_tokens(tiny, images):
    wm = VJEPA2WorldModel(*tiny)
    z = wm.encode(images[0])
    assert z.shape == (1, 256, 192) and z.dtype == torch.float32
    np.testing.assert_allclose(z.mean(-1).numpy(), 0.0, atol=1e-4)
    np.testing.assert_allclose(z.std(-1, unbiased=False).numpy(), 1.0, atol=1e-3)
    zb = wm.encode(np.stack(images[:2]))
    assert zb.shape == (2, 256, 192)
    torch.testing.assert_close(zb[:1], z, atol=1e-5, rtol=1e-5)
    # Float tensors in 0..1, channels first, give the same tokens as uint8 HxWx3.
    f = torch.from_numpy(images[0]).permute(2, 0, 1).float() / 255.0
    torch.testing.assert_close(wm.encode(f), z, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match='uint8 images'):
        wm.encode(np.zeros((256, 256), dtype=np.uint8))


@pytest.mark.parametrize('cls', [CEMPlanner, MPPIPlanner])
def test_end_to_end_plan_respects_limits(tiny, images, cls):
    cfg = small_config(max_translation=0.03, workspace_min=(0.49, -0.02, 0.2),
                       workspace_max=(0.6, 0.02, 0.4), gripper_action_max=0.2)
    planner = cls(VJEPA2WorldModel(*tiny), cfg)
    plan = planner.plan(images[0], STATE, images[1])
    assert plan.ok, plan.reason
    assert plan.first_action.shape == (7,) and plan.actions.shape == (2, 7)
    assert plan.ee_path.shape == (3, 3) and len(plan.energies) == 2 and plan.iterations == 2
    assert np.isfinite(plan.final_energy) and np.isfinite(plan.current_energy)
    assert np.all(np.linalg.norm(plan.actions[:, :3], axis=1) <= 0.03 + 1e-9)
    assert np.all(plan.ee_path >= np.array(cfg.workspace_min) - 1e-9)
    assert np.all(plan.ee_path <= np.array(cfg.workspace_max) + 1e-9)
    assert np.all(plan.actions[:, 6] <= 0.2 + 1e-9) and np.all(plan.actions[:, 3:6] == 0)
    assert set(plan.profile) >= {'encode', 'predictor', 'energy', 'sampling'}
    # The goal may be given pre-encoded; same seed, same plan.
    again = cls(VJEPA2WorldModel(*tiny), cfg).plan(images[0], STATE,
                                                   planner.world_model.encode(images[1]))
    np.testing.assert_allclose(again.actions, plan.actions, atol=1e-6)


def test_incremental_rollout_matches_full_recompute(tiny, images):
    inc = VJEPA2WorldModel(*tiny, incremental=True)
    full = VJEPA2WorldModel(*tiny, incremental=False)
    z = inc.encode(images[0])
    g = torch.Generator().manual_seed(0)
    actions = torch.randn(5, 3, 7, generator=g) * 0.03
    states = roll_states(torch.as_tensor(STATE, dtype=torch.float32), actions)[:, :-1]
    history = (inc.encode(np.stack(images[1:3])).reshape(1, 512, 192),
               torch.randn(1, 2, 7, generator=g) * 0.03, torch.randn(1, 2, 7, generator=g) * 0.1)
    for hist in (None, history):
        a = inc.rollout(inc.start(z, None, hist), actions, states)
        b = full.rollout(full.start(z, None, hist), actions, states)
        assert a.shape == (5, 256, 192)
        assert float((a - b).abs().max()) < 1e-4
    # The history matters (otherwise the comparison above proves little).
    c = inc.rollout(inc.start(z, None, None), actions, states)
    assert float((c - a).abs().max()) > 1e-3


def test_normalization_is_applied_before_the_predictor(tiny, images):
    plain = VJEPA2WorldModel(*tiny)
    normed = VJEPA2WorldModel(*tiny, normalization=NORM)
    z = plain.encode(images[0])
    actions = torch.randn(3, 2, 7) * 0.03
    states = roll_states(torch.as_tensor(STATE, dtype=torch.float32), actions)[:, :-1]
    m = {k: torch.tensor(v) for k, v in NORM.items()}
    a_n = (actions - m['action_mean']) / m['action_std']
    s_n = (states - m['state_mean']) / m['state_std']
    want = plain.rollout(plain.start(z, None), a_n, s_n)
    got = normed.rollout(normed.start(z, None), actions, states)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match='missing'):
        VJEPA2WorldModel(*tiny, normalization={'action_mean': [0] * 7})


def test_bf16_runs_close_to_fp32(tiny, images):
    wm32 = VJEPA2WorldModel(*tiny)
    wm16 = VJEPA2WorldModel(*tiny, dtype='bf16')
    goal = wm32.encode(images[1])
    actions = torch.randn(4, 1, 7) * 0.03
    states = roll_states(torch.as_tensor(STATE, dtype=torch.float32), actions)[:, :-1]
    e32 = energy(wm32.rollout(wm32.start(wm32.encode(images[0]), None), actions, states), goal)
    out16 = wm16.rollout(wm16.start(wm16.encode(images[0]), None), actions, states)
    assert out16.dtype == torch.float32
    e16 = energy(out16, goal)
    np.testing.assert_allclose(e16.numpy(), e32.numpy(), rtol=2e-2)
    plan = CEMPlanner(wm16, small_config(horizon=1)).plan(images[0], STATE, images[1])
    assert plan.ok, plan.reason


def _inject_nan(monkeypatch, predictor, rows):
    original = predictor.step

    def step(z_t, a_t, s_t, cache, extrinsics=None):
        out, cache = original(z_t, a_t, s_t, cache, extrinsics=extrinsics)
        out = out.clone()
        out[rows(out.shape[0])] = float('nan')
        return out, cache
    monkeypatch.setattr(predictor, 'step', step)


def test_nan_from_the_predictor_is_dropped(tiny, images, monkeypatch):
    wm = VJEPA2WorldModel(*tiny, chunk_size=0)
    _inject_nan(monkeypatch, wm.predictor, lambda b: slice(0, b // 2))  # half of every batch
    plan = CEMPlanner(wm, small_config(samples=12, topk=3)).plan(images[0], STATE, images[1])
    # The final check of the returned plan is a batch of 1 (no NaN row), so the plan stands.
    assert plan.ok, plan.reason
    assert plan.dropped == 2 * 6 and np.isfinite(plan.final_energy)


def test_all_nan_from_the_predictor_holds(tiny, images, monkeypatch):
    wm = VJEPA2WorldModel(*tiny)
    _inject_nan(monkeypatch, wm.predictor, lambda b: slice(None))
    plan = CEMPlanner(wm, small_config()).plan(images[0], STATE, images[1])
    assert not plan.ok and 'non-finite' in plan.reason
    np.testing.assert_array_equal(plan.first_action, np.zeros(7))
    # The next call, with a healthy model, plans again (no stale warm start from the hold).
    monkeypatch.undo()
    assert CEMPlanner(wm, small_config()).plan(images[0], STATE, images[1]).ok


def test_landscape_on_the_real_model(tiny, images, tmp_path):
    from jepa_ros.planning import save_landscape_png
    wm = VJEPA2WorldModel(*tiny)
    ls = energy_landscape(wm, images[0], STATE, images[1], np.zeros((2, 7)), axes=(0, 1),
                          resolution=3, span=0.05)
    assert ls.energies.shape == (3, 3) and np.isfinite(ls.energies).all()
    # The centre of the grid is the chosen plan itself.
    assert ls.energies[1, 1] == pytest.approx(ls.chosen_energy, abs=1e-5)
    save_landscape_png(ls, tmp_path / 'l.png')
    assert (tmp_path / 'l.png').stat().st_size > 1000


def test_own_checkpoint_round_trip_with_normalization(tmp_path, images):
    from jepa_ros.models import (ACPredictor, encoder_preset, predictor_preset, save_model,
                                 VJEPA2Encoder)
    torch.manual_seed(0)
    enc = VJEPA2Encoder(encoder_preset('tiny'))
    pred = ACPredictor(predictor_preset('tiny', encoder_dim=enc.config.embed_dim))
    save_model(tmp_path / 'm', enc, pred, extra={'normalization': NORM})
    wm = VJEPA2WorldModel.from_checkpoint(tmp_path / 'm', device='cpu')
    assert wm.normalization is not None
    torch.testing.assert_close(wm.normalization['action_std'], torch.tensor(NORM['action_std']))
    img = images[0][::4, ::4]  # 64 px, the tiny preset's size
    plan = CEMPlanner(wm, small_config()).plan(img, STATE, images[1][::4, ::4])
    assert plan.ok, plan.reason


def test_landscape_command(vjepa2_tiny_dir, images, tmp_path):
    import argparse
    import json

    import imageio.v3 as iio

    from jepa_ros.planning import landscape_cli
    iio.imwrite(tmp_path / 'obs.png', images[0])
    iio.imwrite(tmp_path / 'goal.png', images[1])
    parser = landscape_cli.add_arguments(argparse.ArgumentParser())
    args = parser.parse_args([
        '--vjepa2-checkpoint', str(vjepa2_tiny_dir / 'checkpoint.pt'),
        '--image', str(tmp_path / 'obs.png'), '--goal', str(tmp_path / 'goal.png'),
        '--state', *map(str, STATE), '--axes', 'dx', 'dz', '--resolution', '3',
        '--out', str(tmp_path / 'ls.png'), '--json', str(tmp_path / 'ls.json'),
        '--samples', '8', '--topk', '2', '--iterations', '1', '--horizon', '1'])
    assert landscape_cli.run(args) == 0
    assert (tmp_path / 'ls.png').stat().st_size > 1000
    data = json.loads((tmp_path / 'ls.json').read_text())
    assert data['axes'] == ['dx', 'dz'] and len(data['energies']) == 3
    assert data['chosen'][0] == pytest.approx(data['plan_first_action'][0])
