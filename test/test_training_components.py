# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Masking, EMA, losses, normalisation, schedules, checkpoints and curves of the trainers."""

from jepa_ros.training.checkpoint import (capture_rng, load_checkpoint, restore_rng,
                                          save_checkpoint)
from jepa_ros.training.curves import CurveLog
from jepa_ros.training.ema import ema_momentum, ema_update, lr_at
from jepa_ros.training.losses import (ac_losses, collapse_diagnostics, jepa_loss,
                                      layer_norm_tokens, masked_variance_hinge, variance_hinge)
from jepa_ros.training.masking import (gather_tokens, MaskConfig, sample_batch_masks,
                                       sample_mask)
from jepa_ros.training.normalization import (check_normalization, compute_normalization,
                                             denormalize, normalize)
import numpy as np
import pytest
import torch

torch.set_num_threads(1)


def test_multiblock_masks_are_tubes_and_partition_tokens():
    gen = torch.Generator().manual_seed(0)
    cfg = MaskConfig(future_prob=0.0)
    for _ in range(20):
        m = sample_mask((3, 8, 8), cfg, gen)
        assert m.any() and (~m).sum() >= cfg.min_context
        # Without the future mask every block spans all time slices.
        assert torch.equal(m[0], m[1]) and torch.equal(m[1], m[2])
    ctx, tgt = sample_batch_masks(6, (3, 8, 8), cfg, gen)
    assert ctx.shape[0] == tgt.shape[0] == 6
    for c, t in zip(ctx, tgt):
        assert not set(c.tolist()) & set(t.tolist())        # context never sees a target
        assert torch.all(c[1:] > c[:-1]) and c.max() < 192


def test_future_mask_hides_the_last_slice_and_masks_vary():
    gen = torch.Generator().manual_seed(1)
    m = sample_mask((2, 4, 4), MaskConfig(future_prob=1.0, short_blocks=0, long_blocks=0), gen)
    assert m[1].all() and not m[0].any()
    cfg = MaskConfig()
    a = sample_mask((2, 8, 8), cfg, torch.Generator().manual_seed(2))
    b = sample_mask((2, 8, 8), cfg, torch.Generator().manual_seed(3))
    assert not torch.equal(a, b)
    ratios = [sample_mask((2, 8, 8), cfg, gen).float().mean().item() for _ in range(200)]
    assert 0.3 < np.mean(ratios) < 0.95
    with pytest.raises(ValueError, match='future_prob'):
        MaskConfig(future_prob=2.0).validate()


def test_gather_tokens():
    x = torch.arange(24.0).view(2, 4, 3)
    idx = torch.tensor([[3, 0], [1, 1]])
    assert gather_tokens(x, idx)[0, 0].tolist() == [9.0, 10.0, 11.0]
    assert gather_tokens(x, idx)[1, 1].tolist() == [15.0, 16.0, 17.0]


def test_ema_update_moves_towards_online_and_leaves_grads_alone():
    torch.manual_seed(0)
    online, target = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    t0 = target.weight.detach().clone()
    ema_update(target, online, 0.9)
    np.testing.assert_allclose(target.weight.detach(), 0.9 * t0 + 0.1 * online.weight.detach(),
                               rtol=1e-6)
    ema_update(target, online, 0.0)
    assert torch.equal(target.weight, online.weight)
    with pytest.raises(ValueError):
        ema_update(target, online, 1.5)
    assert ema_momentum(0, 11, 0.99, 1.0) == 0.99 and ema_momentum(10, 11, 0.99, 1.0) == 1.0


def test_lr_schedule_warms_up_then_decays():
    lrs = [lr_at(s, 100, 1e-3, 10, 0.1) for s in range(100)]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:]))
    assert lrs[-1] == pytest.approx(1e-4, rel=0.05)


def test_losses():
    p = torch.zeros(2, 3, 4)
    t = torch.ones(2, 3, 4)
    assert jepa_loss(p, t).item() == 1.0
    with pytest.raises(ValueError):
        jepa_loss(p, t[:, :2])
    z = layer_norm_tokens(torch.randn(2, 5, 8) * 7 + 3)
    assert torch.allclose(z.mean(-1), torch.zeros(2, 5), atol=1e-5)
    const = torch.ones(8, 4, 6)
    assert variance_hinge(const, 1.0).item() == pytest.approx(1.0, abs=0.02)
    assert variance_hinge(torch.randn(256, 4, 6) * 3, 1.0).item() == 0.0
    # Masked version: positions seen by one sample only are ignored; constant ones penalised.
    idx = torch.tensor([[0, 1], [0, 2], [0, 3]])
    zc = torch.randn(3, 2, 6) * 5
    zc[:, 0] = 1.0                                 # position 0 identical in every sample
    assert masked_variance_hinge(zc, idx, 4, 0.5).item() == pytest.approx(0.5, abs=0.02)
    zc[:, 0] = torch.randn(3, 6) * 5
    assert masked_variance_hinge(zc, idx, 4, 0.5).item() < 0.05
    assert masked_variance_hinge(zc[:1], idx[:1], 4, 0.5).item() == 0.0


def test_ac_losses_teacher_forcing_and_rollout():
    n, d = 4, 6

    class Oracle(torch.nn.Module):
        """Predict the next step as this step plus the action's first component."""

        def forward(self, z, a, s):
            t = a.shape[1]
            zz = z.view(z.shape[0], t, n, d)
            return (zz + a[:, :, :1, None]).reshape(z.shape)

    b, steps = 2, 4
    a = torch.randn(b, steps - 1, 7)
    z0 = torch.randn(b, 1, n, d)
    zs = [z0]
    for i in range(steps - 1):
        zs.append(zs[-1] + a[:, i, :1, None, None])
    z = torch.cat(zs, 1).reshape(b, steps * n, d)
    s = torch.zeros(b, steps, 7)
    tf, ro = ac_losses(Oracle(), z, a, s, n, rollout_steps=3)
    assert tf.item() < 1e-6 and ro.item() < 1e-6
    tf, ro = ac_losses(Oracle(), z, a * 0, s, n, rollout_steps=2)
    # With the actions hidden the error of step i+1 is |a_i| (teacher) or |a_0 + .. + a_i|.
    a0 = a[:, :, 0]
    assert tf.item() == pytest.approx(a0.abs().mean().item(), rel=1e-5)
    assert ro.item() == pytest.approx(torch.cat([a0[:, :1], a0[:, :2].sum(1, keepdim=True)])
                                      .abs().mean().item(), rel=1e-5)
    with pytest.raises(ValueError, match='expected'):
        ac_losses(Oracle(), z, a[:, :1], s, n)


def test_collapse_diagnostics_tell_collapsed_from_healthy():
    torch.manual_seed(0)
    healthy = collapse_diagnostics(torch.randn(16, 8, 32))
    collapsed = collapse_diagnostics(torch.randn(1, 8, 32).expand(16, -1, -1))
    assert healthy['image_spread'] > 0.8 and collapsed['image_spread'] < 1e-6
    line = torch.randn(16 * 8, 1) * torch.randn(1, 32)
    assert collapse_diagnostics(line.view(16, 8, 32))['eff_rank'] < 1.5
    assert healthy['eff_rank'] > 20


def test_normalization_round_trip_and_checks():
    rng = np.random.default_rng(0)
    s = rng.normal(3, 2, (500, 7))
    a = rng.normal(0, 0.01, (499, 7))
    a[:, 6] = 0.0                                  # a dimension that never moves
    norm = compute_normalization(s, a)
    assert norm['action_std'][6] == pytest.approx(1e-3)
    x = normalize(s, norm['state_mean'], norm['state_std'])
    np.testing.assert_allclose(x.mean(0), 0, atol=1e-9)
    np.testing.assert_allclose(denormalize(x, norm['state_mean'], norm['state_std']), s)
    t = normalize(torch.tensor(a, dtype=torch.float32), norm['action_mean'], norm['action_std'])
    assert t.dtype == torch.float32 and torch.isfinite(t).all()
    assert check_normalization(norm) == norm
    with pytest.raises(ValueError, match='positive'):
        check_normalization(dict(norm, state_std=[0.0] * 7))
    with pytest.raises(ValueError, match='NaN'):
        compute_normalization(s * np.nan, a)


def test_checkpoint_restores_rng_streams(tmp_path):
    sampler = np.random.default_rng(5)
    torch.manual_seed(3)
    state = capture_rng(sampler)
    expect = (torch.rand(3), np.random.rand(), sampler.integers(0, 100, 4))
    save_checkpoint(tmp_path / 'checkpoint.pt', {'rng': state, 'step': 7})
    loaded = load_checkpoint(tmp_path)
    assert loaded['step'] == 7 and not list(tmp_path.glob('.*'))
    sampler2 = np.random.default_rng(99)
    torch.manual_seed(0)
    restore_rng(loaded['rng'], sampler2)
    assert torch.equal(torch.rand(3), expect[0]) and np.random.rand() == expect[1]
    assert sampler2.integers(0, 100, 4).tolist() == expect[2].tolist()
    assert load_checkpoint(tmp_path / 'none') is None


def test_curve_log_truncates_on_resume_and_plots(tmp_path):
    log = CurveLog(tmp_path / 'c.csv')
    for s in (10, 20, 30):
        log.log(s, loss=1.0 / s)
    log.log(40, loss=0.01, extra=2.0)
    resumed = CurveLog(tmp_path / 'c.csv', resume_step=20)
    assert [r['step'] for r in resumed.rows] == [10.0, 20.0]
    resumed.log(30, loss=0.5)
    lines = (tmp_path / 'c.csv').read_text().splitlines()
    assert len(lines) == 4 and lines[-1].startswith('30')
    png = resumed.plot(tmp_path / 'c.png', keys=['loss'])
    assert png.stat().st_size > 1000
