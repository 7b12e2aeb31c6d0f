# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Fast inference paths: pre-allocated key/value cache, regrouped rotary pairs, fused linears."""

import copy

from jepa_ros.models.layers import (apply_rope, Attention, Block, fused_linear, grid_positions,
                                    rope_tables)
import pytest
from test_models_predictor import _inputs, _predictor
import torch

torch.set_num_threads(1)


def _roll(pred, z, a, s, cache, t0, t1):
    n = pred.tokens_per_frame
    outs = []
    for t in range(t0, t1):
        out, cache = pred.step(z[:, t * n:(t + 1) * n], a[:, t], s[:, t], cache)
        outs.append(out)
    return torch.cat(outs, 1), cache


@pytest.mark.parametrize('horizon', [1, 3])
def test_preallocated_cache_equals_full_forward(horizon):
    pred = _predictor()
    z, a, s = _inputs(pred, 5, horizon)
    with torch.no_grad():
        full = pred(z, a, s)
        out, cache = _roll(pred, z, a, s, pred.empty_cache(5, max_steps=horizon), 0, horizon)
        grown, _ = _roll(pred, z, a, s, pred.empty_cache(5), 0, horizon)
    assert cache.steps == horizon and cache.max_steps == horizon
    # The steps were appended in place: every layer's keys view one buffer.
    assert cache.buffers is not None and cache.keys[0].shape[2] == horizon * (2 + 16)
    assert (out - full).abs().max().item() < 1e-5
    assert (out - grown).abs().max().item() < 1e-5


def test_preallocated_cache_overflow_is_a_clear_error():
    pred = _predictor()
    z, a, s = _inputs(pred, 2, 3)
    n = pred.tokens_per_frame
    with torch.no_grad():
        _, cache = _roll(pred, z, a, s, pred.empty_cache(2, max_steps=2), 0, 2)
        with pytest.raises(ValueError, match='allocated for 2 steps'):
            pred.step(z[:, 2 * n:], a[:, 2], s[:, 2], cache)
        with pytest.raises(ValueError, match='max_steps'):
            pred.empty_cache(2, max_steps=-1)
        with pytest.raises(ValueError, match='less than'):
            cache.with_capacity(1)


def test_preallocated_cache_branches_stay_independent():
    pred = _predictor()
    z, a, s = _inputs(pred, 3, 3)
    n = pred.tokens_per_frame
    a2 = a.clone()
    a2[:, 1] += 1.0
    with torch.no_grad():
        want1, want2 = pred(z, a, s), pred(z, a2, s)
        _, first = _roll(pred, z, a, s, pred.empty_cache(3, max_steps=3), 0, 1)
        # Two continuations of the same one-step cache: the second must not see the first's
        # keys (it gets its own storage), and the first must stay valid afterwards.
        o1, c1 = pred.step(z[:, n:2 * n], a[:, 1], s[:, 1], first)
        o2, c2 = pred.step(z[:, n:2 * n], a2[:, 1], s[:, 1], first)
        o1b, _ = pred.step(z[:, 2 * n:], a[:, 2], s[:, 2], c1)
        o2b, _ = pred.step(z[:, 2 * n:], a2[:, 2], s[:, 2], c2)
    assert c1.buffers is not c2.buffers
    assert (o1 - want1[:, n:2 * n]).abs().max().item() < 1e-5
    assert (o2 - want2[:, n:2 * n]).abs().max().item() < 1e-5
    assert (o1b - want1[:, 2 * n:]).abs().max().item() < 1e-5
    assert (o2b - want2[:, 2 * n:]).abs().max().item() < 1e-5


def test_prefix_copied_once_into_preallocated_storage():
    pred = _predictor()
    b, n = 6, 16
    z, a, s = _inputs(pred, b, 3)
    z[:, :n], a[:, 0], s[:, 0] = z[:1, :n], a[:1, 0], s[:1, 0]
    with torch.no_grad():
        full = pred(z, a, s)
        prefix = pred.prefill(z[:1, :n], a[:1, :1], s[:1, :1])
        cache = prefix.expand(b).with_capacity(3)
        out, cache = _roll(pred, z, a, s, cache, 1, 3)
        # The batch-1 prefix stays untouched and broadcastable.
        picked = cache.select([4, 1])
        again, _ = pred.step(z[[4, 1], 2 * n:], a[[4, 1], 2], s[[4, 1], 2],
                             _roll(pred, z[[4, 1]], a[[4, 1]], s[[4, 1]],
                                   prefix.expand(2).with_capacity(3), 1, 2)[1])
    assert prefix.steps == 1 and prefix.keys[0].shape[0] == 1 and prefix.buffers is None
    assert picked.batch_size == 2 and picked.max_steps == 3
    assert (out - full[:, n:]).abs().max().item() < 1e-5
    assert (again - full[[4, 1], 2 * n:]).abs().max().item() < 1e-5


def test_regrouped_rotary_pairs_keep_attention_outputs():
    torch.manual_seed(0)
    attn = Attention(64, 2).eval()
    fast = copy.deepcopy(attn).split_rope_pairs()
    tp, hp, wp = grid_positions(2, 3, 3, 'cpu')
    cos, sin = rope_tables(32, tp, hp, wp)
    x = torch.randn(4, 18, 64)
    with torch.no_grad():
        y, (k, _) = attn(x, cos, sin)
        y2, (k2, _) = fast(x, cos, sin)
    assert (y - y2).abs().max().item() < 1e-5
    # Keys come out in the regrouped order (pairs at (j, j + 16)), same values.
    perm = torch.cat([torch.arange(0, 32, 2), torch.arange(1, 32, 2)])
    assert (k[..., perm] - k2).abs().max().item() < 1e-5
    assert fast.split_rope_pairs() is fast  # idempotent


def test_apply_rope_matches_the_pairwise_definition():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 5, 8, generator=g)
    cos, sin = torch.randn(5, 8, generator=g), torch.randn(5, 8, generator=g)
    want = torch.empty_like(x)
    want[..., 0::2] = x[..., 0::2] * cos[:, 0::2] - x[..., 1::2] * sin[:, 0::2]
    want[..., 1::2] = x[..., 1::2] * cos[:, 1::2] + x[..., 0::2] * sin[:, 1::2]
    assert (apply_rope(x, cos, sin) - want).abs().max().item() < 1e-6


def test_fused_linear_matches_linear_in_bf16_and_keeps_autograd():
    torch.manual_seed(0)
    lin = torch.nn.Linear(32, 48)
    x = torch.randn(3, 7, 32)
    b16 = copy.deepcopy(lin).to(torch.bfloat16)
    with torch.no_grad():
        want = torch.nn.functional.gelu(lin(x))
        got = fused_linear(x.bfloat16(), b16, gelu=True)
    assert got.dtype == torch.bfloat16 and got.shape == (3, 7, 48)
    assert (got.float() - want).abs().max().item() < 0.05
    # With gradients recorded it is the plain module (training keeps working).
    y = fused_linear(x, lin, gelu=True)
    y.sum().backward()
    assert lin.weight.grad is not None and torch.allclose(y, want, atol=1e-6)


def test_block_keeps_the_callers_input_and_autograd():
    torch.manual_seed(0)
    blk = Block(32, 2, 64)
    cos, sin = rope_tables(16, torch.arange(5.0))
    x = torch.randn(2, 5, 32)
    keep = x.clone()
    with torch.no_grad():
        y, _ = blk(x, cos, sin)
    assert torch.equal(x, keep)  # the in-place residual add never touches the input
    xg = x.clone().requires_grad_(True)
    yg, _ = blk(xg, cos, sin)
    yg.sum().backward()
    assert xg.grad is not None and torch.allclose(yg, y, atol=1e-6)
