# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""AC predictor: block causality, incremental (cached) rollouts equal the full forward, inputs."""

from jepa_ros.models import ACPredictor, autocast, predictor_preset
import pytest
import torch

torch.set_num_threads(1)


def _predictor(seed=0, **overrides):
    torch.manual_seed(seed)
    # 32 px / patch 8 -> 16 tokens per step keeps batch-256 rollouts quick on a CPU.
    values = {'img_size': 32, 'patch_size': 8, 'embed_dim': 64, 'depth': 3, 'num_heads': 2}
    values.update(overrides)
    return ACPredictor(predictor_preset('tiny', encoder_dim=48, **values)).eval()


def _inputs(pred, b, t, seed=1):
    g = torch.Generator().manual_seed(seed)
    n, d = pred.tokens_per_frame, pred.config.encoder_dim
    return (torch.randn(b, t * n, d, generator=g), torch.randn(b, t, 7, generator=g),
            torch.randn(b, t, 7, generator=g))


def test_output_shape_and_layout():
    pred = _predictor()
    z, a, s = _inputs(pred, 2, 3)
    with torch.no_grad():
        out = pred(z, a, s)
    assert out.shape == z.shape
    assert pred.config.cond_tokens == 2


@pytest.mark.parametrize('t_change', [0, 1, 2, 3])
def test_changing_action_never_changes_earlier_steps(t_change):
    pred = _predictor()
    n = pred.tokens_per_frame
    z, a, s = _inputs(pred, 2, 4)
    a2, s2 = a.clone(), s.clone()
    a2[:, t_change] += 3.0
    s2[:, t_change] -= 2.0
    with torch.no_grad():
        base, changed = pred(z, a, s), pred(z, a2, s2)
    diff = (base - changed).abs().view(2, 4, n, -1).amax(dim=(0, 2, 3))
    assert torch.all(diff[:t_change] == 0), diff
    assert torch.all(diff[t_change:] > 1e-4), diff  # the step itself and later ones do change


def test_changing_future_frames_never_changes_earlier_steps():
    pred = _predictor()
    n = pred.tokens_per_frame
    z, a, s = _inputs(pred, 1, 3)
    z2 = z.clone()
    z2[:, 2 * n:] += 1.0
    with torch.no_grad():
        diff = (pred(z, a, s) - pred(z2, a, s)).abs()
    assert diff[:, :2 * n].max() == 0 and diff[:, 2 * n:].max() > 1e-4


@pytest.mark.parametrize('horizon', [1, 2, 3, 4])
@pytest.mark.parametrize('batch', [1, 7, 256])
def test_incremental_steps_equal_full_forward(horizon, batch):
    pred = _predictor()
    n = pred.tokens_per_frame
    z, a, s = _inputs(pred, batch, horizon)
    with torch.no_grad():
        full = pred(z, a, s)
        cache, outs = pred.empty_cache(batch), []
        for t in range(horizon):
            out, cache = pred.step(z[:, t * n:(t + 1) * n], a[:, t], s[:, t], cache)
            outs.append(out)
    assert cache.steps == horizon and cache.batch_size == batch
    assert (torch.cat(outs, 1) - full).abs().max().item() < 1e-5


@pytest.mark.parametrize('horizon', [2, 4])
def test_prefilled_prefix_expanded_to_candidates(horizon):
    pred = _predictor()
    n, b = pred.tokens_per_frame, 64
    z, a, s = _inputs(pred, b, horizon)
    # The first step is shared by all candidates (a known past step).
    z[:, :n], a[:, 0], s[:, 0] = z[:1, :n], a[:1, 0], s[:1, 0]
    with torch.no_grad():
        full = pred(z, a, s)
        prefix = pred.prefill(z[:1, :n], a[:1, :1], s[:1, :1])
        cache = prefix.expand(b)
        assert cache.keys[0].stride(0) == 0  # a view: the prefix is not copied per candidate
        outs = []
        for t in range(1, horizon):
            out, cache = pred.step(z[:, t * n:(t + 1) * n], a[:, t], s[:, t], cache)
            outs.append(out)
        # The prefix cache is untouched and can seed another rollout.
        again, _ = pred.step(z[:, n:2 * n], a[:, 1], s[:, 1], prefix)
    assert prefix.steps == 1 and prefix.batch_size == 1
    assert (torch.cat(outs, 1) - full[:, n:]).abs().max().item() < 1e-5
    assert (again - full[:, n:2 * n]).abs().max().item() < 1e-5


def test_prefill_returns_outputs_and_select_keeps_rows():
    pred = _predictor()
    n = pred.tokens_per_frame
    z, a, s = _inputs(pred, 5, 3)
    with torch.no_grad():
        full = pred(z, a, s)
        out, cache = pred.prefill(z[:, :2 * n], a[:, :2], s[:, :2], return_output=True)
        assert (out - full[:, :2 * n]).abs().max().item() < 1e-5
        picked = cache.select([4, 1])
        nxt, _ = pred.step(z[[4, 1], 2 * n:], a[[4, 1], 2], s[[4, 1], 2], picked)
        # Several steps at once on top of a cache (block-causal mask with a past).
        first = pred.prefill(z[:, :n], a[:, :1], s[:, :1])
        rest, _ = pred.prefill(z[:, n:], a[:, 1:], s[:, 1:], cache=first, return_output=True)
    assert (nxt - full[[4, 1], 2 * n:]).abs().max().item() < 1e-5
    assert (rest - full[:, n:]).abs().max().item() < 1e-5


def test_float64_inputs_are_accepted():
    pred = _predictor()
    z, a, s = _inputs(pred, 2, 2)
    with torch.no_grad():
        assert torch.equal(pred(z, a.double(), s.double()), pred(z, a, s))


def test_batch_one_context_broadcasts_against_candidates():
    pred = _predictor()
    z, a, s = _inputs(pred, 4, 2)
    with torch.no_grad():
        out = pred(z[:1], a, s)
        ref = pred(z[:1].expand(4, -1, -1), a, s)
    assert out.shape == ref.shape and torch.equal(out, ref)


def test_extrinsics_token():
    pred = _predictor(use_extrinsics=True)
    n = pred.tokens_per_frame
    z, a, s = _inputs(pred, 2, 3)
    e = torch.randn(2, 3, 6)
    with torch.no_grad():
        full = pred(z, a, s, extrinsics=e)
        cache, outs = pred.empty_cache(2), []
        for t in range(3):
            out, cache = pred.step(z[:, t * n:(t + 1) * n], a[:, t], s[:, t], cache,
                                   extrinsics=e[:, t])
            outs.append(out)
        e2 = e.clone()
        e2[:, 2] += 1
        changed = pred(z, a, s, extrinsics=e2)
    assert pred.config.cond_tokens == 3
    assert (torch.cat(outs, 1) - full).abs().max().item() < 1e-5
    assert (changed - full)[:, :2 * n].abs().max() == 0
    with pytest.raises(ValueError, match='extrinsics'):
        pred(z, a, s)


def test_bad_inputs_are_clear_errors():
    pred = _predictor()
    z, a, s = _inputs(pred, 2, 3)
    with pytest.raises(ValueError, match='multiple of N=16'):
        pred(z[:, :-1], a, s)
    with pytest.raises(ValueError, match=r'actions must be \[B, 3, 7\]'):
        pred(z, a[:, :2], s)
    with pytest.raises(ValueError, match='do not broadcast'):
        pred(z, a[:1].expand(3, -1, -1), s)
    with pytest.raises(ValueError, match='extrinsics given'):
        pred(z, a, s, extrinsics=torch.zeros(2, 3, 6))
    cache = pred.prefill(z[:, :16], a[:, :1], s[:, :1])
    with pytest.raises(ValueError, match='only a batch-1 cache'):
        cache.expand(5)


@pytest.mark.parametrize('precision,dtype', [('bf16', torch.bfloat16), ('fp16', torch.float16)])
def test_autocast_runs_on_cpu_and_stays_close(precision, dtype):
    pred = _predictor()
    n = pred.tokens_per_frame
    z, a, s = _inputs(pred, 2, 2)
    with torch.no_grad():
        ref = pred(z, a, s)
        with autocast('cpu', precision):
            low = pred(z, a, s)
            cache = pred.prefill(z[:, :n], a[:, :1], s[:, :1])
            step, _ = pred.step(z[:, n:], a[:, 1], s[:, 1], cache)
    assert low.dtype == dtype
    assert (low.float() - ref).abs().max().item() < 0.1 * ref.abs().max().item()
    assert (step.float() - ref[:, n:]).abs().max().item() < 0.1 * ref.abs().max().item()
    with pytest.raises(ValueError, match='precision must be one of'):
        autocast('cpu', 'int8')
