# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""The compact (end-to-end JEPA) family: SIGReg, causality, training, loading and planning."""

import json

from jepa_ros.data import episode_path, write_episode
from jepa_ros.data.synthetic import synthetic_episode
from jepa_ros.models.compact import CompactConfig, CompactWorldModelNet
from jepa_ros.models.config import CheckpointError
from jepa_ros.training.sigreg import sigreg
import numpy as np
import pytest
import torch

torch.set_num_threads(1)


def _net(**kw):
    torch.manual_seed(0)
    cfg = {'img_size': 32, 'enc_dim': 32, 'enc_depth': 1, 'enc_heads': 2, 'latent_dim': 16,
           'pred_dim': 32, 'pred_depth': 2, 'pred_heads': 2}
    cfg.update(kw)
    net = CompactWorldModelNet(CompactConfig(**cfg)).eval()
    for p in net.predictor.parameters():   # leave the zero init: outputs must depend on inputs
        torch.nn.init.normal_(p, std=0.1)
    return net


# --- SIGReg ---------------------------------------------------------------------------------

def test_sigreg_scores_a_gaussian_batch_low_and_collapsed_or_clustered_batches_high():
    g = torch.Generator().manual_seed(0)
    gauss = [float(sigreg(torch.randn(n, 32, generator=g), generator=g)) for n in (64, 512)]
    assert all(s < 2.0 for s in gauss), gauss        # about 1, whatever the batch size
    collapsed = float(sigreg(torch.full((256, 32), 0.3), generator=g))
    two_point = float(sigreg(torch.randn(2, 32, generator=g).repeat(128, 1), generator=g))
    too_wide = float(sigreg(4.0 * torch.randn(256, 32, generator=g), generator=g))
    assert min(collapsed, two_point, too_wide) > 20 * max(gauss), (collapsed, two_point,
                                                                   too_wide)


def test_sigreg_gradient_flows_and_spreads_a_collapsing_batch():
    z = (0.05 * torch.randn(128, 8)).requires_grad_(True)
    opt = torch.optim.SGD([z], lr=0.5)
    before = float(sigreg(z.detach(), generator=torch.Generator().manual_seed(1)))
    for i in range(60):
        opt.zero_grad()
        loss = sigreg(z, generator=torch.Generator().manual_seed(i))
        loss.backward()
        assert torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0
        opt.step()
    after = float(sigreg(z.detach(), generator=torch.Generator().manual_seed(1)))
    spread = float(z.detach().std())
    assert after < 0.3 * before and spread > 0.3, (before, after, spread)


# --- model ----------------------------------------------------------------------------------

def test_encoder_shapes_per_view_and_summary_token():
    net = _net(num_views=2, latent_tokens=3)
    z = net.encode(torch.randn(4, 2, 3, 32, 32))
    assert z.shape == (4, 6, 16)
    with pytest.raises(ValueError, match='2 view'):
        net.encode(torch.randn(4, 1, 3, 32, 32))


def test_predictor_is_causal_in_time_and_uses_the_actions():
    net = _net()
    z, a, s = torch.randn(2, 4, 1, 16), torch.randn(2, 4, 7), torch.randn(2, 4, 7)
    out = net.predictor(z, a, s)
    assert out.shape == z.shape
    z2, a2 = z.clone(), a.clone()
    z2[:, 2] += 1.0
    a2[:, 2] += 1.0
    for changed in (net.predictor(z2, a, s), net.predictor(z, a2, s)):
        assert torch.allclose(changed[:, :2], out[:, :2], atol=1e-6)   # the past is unchanged
        assert not torch.allclose(changed[:, 2], out[:, 2], atol=1e-4)  # frame 2 sees it


def test_fresh_predictor_copies_the_last_frame():
    torch.manual_seed(0)
    net = CompactWorldModelNet(CompactConfig(img_size=32, enc_dim=32, enc_depth=1,
                                             enc_heads=2, latent_dim=16, pred_dim=32,
                                             pred_depth=1, pred_heads=2))
    z = torch.randn(3, 2, 1, 16)
    assert torch.equal(net.predictor(z, torch.randn(3, 2, 7), torch.randn(3, 2, 7)), z)


def test_cached_rollout_equals_the_full_causal_pass():
    net = _net(num_views=2, latent_tokens=2)
    z, a, s = torch.randn(3, 2, 4, 16), torch.randn(3, 4, 7), torch.randn(3, 4, 7)
    with torch.no_grad():
        r = net.rollout(z, a, s, 3)
        frames = z
        for i in range(3):
            nxt = net.predictor(frames, a[:, :2 + i], s[:, :2 + i])[:, -1:]
            frames = torch.cat([frames, nxt], dim=1)
    torch.testing.assert_close(r, frames[:, 2:], atol=1e-5, rtol=1e-5)


# --- training, checkpoints, planning --------------------------------------------------------

@pytest.fixture(scope='module')
def episodes(tmp_path_factory):
    root = tmp_path_factory.mktemp('eps')
    for i in range(8):
        write_episode(episode_path(root, i), synthetic_episode(i, steps=12, image_size=32))
    return root


def _cfg(data, out, **kw):
    from jepa_ros.training.train_wm import TrainWMConfig
    base = {'data': str(data), 'out': str(out), 'image_size': 32, 'enc_dim': 32,
            'enc_depth': 1, 'enc_heads': 2, 'latent_dim': 16, 'pred_dim': 32, 'pred_depth': 1,
            'pred_heads': 2, 'history': 2, 'rollout_steps': 2, 'batch_size': 8, 'steps': 30,
            'log_every': 10, 'eval_every': 10, 'checkpoint_every': 10, 'warmup_steps': 2,
            'lr': 2e-3, 'sigreg_projections': 32, 'val_fraction': 0.25, 'val_clips': 16,
            'device': 'cpu', 'threads': 1}
    base.update(kw)
    return TrainWMConfig(**base)


@pytest.fixture(scope='module')
def trained(episodes, tmp_path_factory):
    from jepa_ros.training.train_wm import train
    out = tmp_path_factory.mktemp('wm')
    summary = train(_cfg(episodes, out), log=lambda *_: None)
    return out, summary


def test_train_wm_logs_curves_and_writes_a_compact_model(trained):
    out, summary = trained
    rows = (out / 'curves.csv').read_text().splitlines()
    header = rows[0].split(',')
    for key in ('teacher', 'rollout', 'sigreg', 'image_spread', 'eff_rank', 'val_ratio'):
        assert key in header, header
    assert (out / 'curves.png').is_file()
    meta = json.loads((out / 'model' / 'config.json').read_text())
    assert meta['family'] == 'compact' and meta['compact']['latent_dim'] == 16
    assert set(meta['extra']['normalization']) == {'action_mean', 'action_std', 'state_mean',
                                                   'state_std'}
    assert summary['step'] == 30


def test_without_sigreg_the_joint_model_collapses_and_with_it_it_does_not(episodes, trained,
                                                                          tmp_path):
    from jepa_ros.training.train_wm import train
    _, with_reg = trained
    without = train(_cfg(episodes, tmp_path, sigreg_weight=0.0), log=lambda *_: None)
    # Alone, the prediction loss is solved by a constant latent: zero error, no spread.
    assert without['teacher'] < 0.2 * with_reg['teacher']
    assert with_reg['sigreg'] < 0.7 * without['sigreg']
    assert with_reg['image_spread'] > 2 * without['image_spread']


def test_resume_continues_from_the_checkpoint(episodes, tmp_path):
    from jepa_ros.training.train_wm import train
    first = train(_cfg(episodes, tmp_path, steps=20), stop_after=10, log=lambda *_: None)
    assert first['step'] == 10 and not (tmp_path / 'model').exists()
    lines = []
    second = train(_cfg(episodes, tmp_path, steps=20), log=lines.append)
    assert second['step'] == 20 and any('resumed' in m and 'step 10' in m for m in lines)
    assert (tmp_path / 'model' / 'model.safetensors').is_file()


def test_round_trip_and_planning_through_the_shared_loader(trained):
    from jepa_ros.control.config import MPCNodeConfig
    from jepa_ros.control.loading import load_world_model
    from jepa_ros.models.compact_checkpoint import load_compact
    from jepa_ros.planning import CEMPlanner, PlannerConfig
    from jepa_ros.planning.compact_world_model import CompactWorldModel
    out, _ = trained
    net, extra = load_compact(out / 'model')
    again, _ = load_compact(out / 'model')
    x = torch.randn(2, 1, 3, 32, 32)
    torch.testing.assert_close(net.encode(x), again.encode(x))
    wm, what = load_world_model(MPCNodeConfig(checkpoint=str(out / 'model')), 'cpu')
    assert isinstance(wm, CompactWorldModel) and 'compact' in what
    img = (np.random.default_rng(0).random((32, 32, 3)) * 255).astype(np.uint8)
    state = np.array([0.5, 0.0, 0.3, np.pi, 0.0, 0.0, 0.0], np.float32)
    plan = CEMPlanner(wm, PlannerConfig(samples=16, topk=4, iterations=2, horizon=3,
                                        energy='l2')).plan(img, state, img)
    assert plan.ok and np.isfinite(plan.final_energy) and plan.actions.shape == (3, 7)
    assert np.linalg.norm(plan.first_action[:3]) <= 0.05 + 1e-6


def test_wrong_family_and_corrupt_checkpoints_are_refused(trained, tmp_path):
    import shutil
    from jepa_ros.control.config import MPCNodeConfig
    from jepa_ros.control.loading import load_world_model
    from jepa_ros.models import ACPredictor, encoder_preset, load_model, predictor_preset
    from jepa_ros.models import save_model, VJEPA2Encoder
    from jepa_ros.models.compact_checkpoint import load_compact
    from jepa_ros.utils.config import ConfigError
    out, _ = trained
    with pytest.raises(CheckpointError, match="'compact' world model"):
        load_model(out / 'model')
    vj = save_model(tmp_path / 'vj', VJEPA2Encoder(encoder_preset('tiny')),
                    ACPredictor(predictor_preset('tiny')))
    with pytest.raises(CheckpointError, match='V-JEPA 2-AC model'):
        load_compact(vj)
    bad = tmp_path / 'bad'
    shutil.copytree(out / 'model', bad)
    data = (bad / 'model.safetensors').read_bytes()
    (bad / 'model.safetensors').write_bytes(data[:len(data) // 2])
    with pytest.raises(ConfigError, match='truncated or corrupt'):
        load_world_model(MPCNodeConfig(checkpoint=str(bad)), 'cpu')
    meta = json.loads((out / 'model' / 'config.json').read_text())
    meta['compact']['latent_dim'] = 24
    shutil.copy(out / 'model' / 'model.safetensors', bad / 'model.safetensors')
    (bad / 'config.json').write_text(json.dumps(meta))
    with pytest.raises(ConfigError, match='does not match the model'):
        load_world_model(MPCNodeConfig(checkpoint=str(bad)), 'cpu')


def test_untrained_twin_of_a_compact_model_keeps_shape_scaling_and_views():
    from jepa_ros.eval.models import untrained_like
    from jepa_ros.planning.compact_world_model import CompactWorldModel
    norm = {'action_mean': [0.0] * 7, 'action_std': [0.02] * 7, 'state_mean': [0.5] * 7,
            'state_std': [0.1] * 7}
    wm = CompactWorldModel(_net(num_views=2), normalization=norm, cameras=('front', 'side'))
    twin = untrained_like(wm, seed=3)
    assert isinstance(twin, CompactWorldModel) and twin.config == wm.config
    assert twin.cameras == ('front', 'side')
    assert torch.equal(twin.normalization['action_std'], wm.normalization['action_std'])
    a, b = dict(wm.net.named_parameters()), dict(twin.net.named_parameters())
    assert a.keys() == b.keys() and any(not torch.equal(a[k], b[k]) for k in a)
    again = untrained_like(wm, seed=3)   # seeded: the same twin twice
    assert all(torch.equal(p, q) for p, q in zip(twin.net.parameters(), again.net.parameters()))


# --- int8 planning precision ------------------------------------------------------------------

def _int8_pair():
    from jepa_ros.planning.compact_world_model import CompactWorldModel
    norm = {'action_mean': [0.0] * 7, 'action_std': [0.02] * 7, 'state_mean': [0.5] * 7,
            'state_std': [0.1] * 7}
    net = _net(num_views=2)
    return (CompactWorldModel(net, normalization=norm),
            CompactWorldModel(net, normalization=norm, dtype='int8'))


def test_int8_rollout_ranks_candidates_as_float32_and_float32_paths_stay_exact():
    fp32, int8 = _int8_pair()
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(1, 2, 16, generator=gen)
    actions = 0.02 * torch.randn(64, 3, 7, generator=gen)
    states = 0.5 + 0.1 * torch.randn(64, 3, 7, generator=gen)
    ctx = fp32.start(z, states[0, 0])
    ref = fp32.rollout(ctx, actions, states)
    fast = int8.rollout(int8.start(z, states[0, 0]), actions, states)
    assert not torch.equal(ref, fast)                  # it really runs another path
    moved = (ref - z).norm()
    assert (fast - ref).norm() < 0.05 * moved
    goal = ref[:1] + 0.1 * torch.randn(1, 2, 16, generator=gen)   # a goal the actions can reach
    e_ref = (ref - goal).pow(2).mean((1, 2))
    e_fast = (fast - goal).pow(2).mean((1, 2))
    assert torch.corrcoef(torch.stack([e_ref, e_fast]))[0, 1] > 0.95
    top = set(e_ref.argsort()[:8].tolist())
    assert len(top & set(e_fast.argsort()[:8].tolist())) >= 6
    # the planner's final say and the gradient path are the float32 predictor's
    torch.testing.assert_close(int8.precise_rollout(ctx, actions, states), ref)
    a = actions[:4].clone().requires_grad_(True)
    out = int8.differentiable_rollout(ctx, a, states[:4])
    out.pow(2).sum().backward()
    assert a.grad is not None and torch.isfinite(a.grad).all()
    torch.testing.assert_close(out.detach(), ref[:4])


def test_int8_is_refused_off_the_cpu_and_for_vjepa_models(tmp_path):
    from jepa_ros.control.config import MPCNodeConfig
    from jepa_ros.control.loading import load_world_model
    from jepa_ros.models import ACPredictor, encoder_preset, predictor_preset
    from jepa_ros.models import save_model, VJEPA2Encoder
    from jepa_ros.planning.compact_world_model import CompactWorldModel
    from jepa_ros.utils.config import ConfigError
    with pytest.raises(ValueError, match="'int8' is a CPU precision"):
        CompactWorldModel(_net(), device='cuda', dtype='int8')
    with pytest.raises(ValueError, match="runs in 'fp32', 'bf16', 'int8'"):
        CompactWorldModel(_net(), dtype='int4')
    vj = save_model(tmp_path / 'vj', VJEPA2Encoder(encoder_preset('tiny')),
                    ACPredictor(predictor_preset('tiny')))
    with pytest.raises(ConfigError, match="'int8' is for compact models"):
        load_world_model(MPCNodeConfig(checkpoint=str(vj), dtype='int8'), 'cpu')
    with pytest.raises(ConfigError, match='int8'):
        MPCNodeConfig(dtype='int4').validate()


def test_int8_plans_through_the_shared_loader(trained):
    from jepa_ros.control.config import MPCNodeConfig
    from jepa_ros.control.loading import load_world_model
    from jepa_ros.planning import CEMPlanner, PlannerConfig
    out, _ = trained
    wm, _ = load_world_model(MPCNodeConfig(checkpoint=str(out / 'model'), dtype='int8'), 'cpu')
    assert wm.dtype == 'int8'
    img = (np.random.default_rng(0).random((32, 32, 3)) * 255).astype(np.uint8)
    state = np.array([0.5, 0.0, 0.3, np.pi, 0.0, 0.0, 0.0], np.float32)
    plan = CEMPlanner(wm, PlannerConfig(samples=16, topk=4, iterations=2, horizon=3,
                                        energy='l2')).plan(img, state, img)
    assert plan.ok and np.isfinite(plan.final_energy) and plan.actions.shape == (3, 7)


# --- fine-tuning from a model (--init-from) -----------------------------------------------------

def test_init_from_starts_at_the_model_and_keeps_its_normalisation(episodes, trained, tmp_path):
    from jepa_ros.models.compact_checkpoint import load_compact
    from jepa_ros.training.train_wm import train
    out, _ = trained
    src, src_extra = load_compact(out / 'model')
    lines = []
    # lr 0: the fine-tuned model is the source model (BatchNorm statistics aside)
    train(_cfg(episodes, tmp_path / 'ft', steps=2, lr=0.0, init_from=str(out / 'model'),
               augment='appearance', augment_fraction=0.5, invariance_weight=1.0),
          log=lines.append)
    assert any('weights and normalisation from' in m for m in lines)
    net, extra = load_compact(tmp_path / 'ft' / 'model')
    assert extra['normalization'] == src_extra['normalization']
    assert extra['train_wm']['init_from'] == str(out / 'model')
    for (name, p), q in zip(net.named_parameters(), src.parameters()):
        torch.testing.assert_close(p, q, msg=name)


def test_init_from_refuses_another_architecture_and_bad_fractions(episodes, trained, tmp_path):
    from jepa_ros.training.train_wm import train
    from jepa_ros.utils.config import ConfigError
    out, _ = trained
    with pytest.raises(ConfigError, match=r'latent_dim \(16 there, 24 here\)'):
        train(_cfg(episodes, tmp_path, steps=2, latent_dim=24, init_from=str(out / 'model')),
              log=lambda *_: None)
    with pytest.raises(ConfigError, match='augment_fraction'):
        _cfg(episodes, tmp_path, augment='appearance', augment_fraction=0.0).validate()
