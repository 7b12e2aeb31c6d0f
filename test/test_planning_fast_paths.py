# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Planner speed paths: bf16 weight copy, chunked rollouts, chunked energies."""

from jepa_ros.planning import energy, roll_states, VJEPA2WorldModel
import numpy as np
import pytest
import torch

torch.set_num_threads(1)

STATE = torch.tensor([0.5, 0.0, 0.3, 0.0, 0.0, 0.0, 0.2])


@pytest.fixture(scope='module')
def models(tiny_models):
    return tiny_models


def _candidates(s=9, h=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(s, h, 7, generator=g) * 0.03
    return a, roll_states(STATE, a)[:, :-1]


def _frame(seed):
    return np.random.default_rng(seed).integers(0, 256, (64, 64, 3), dtype=np.uint8)


def test_bf16_weight_copy_matches_autocast_and_fp32(models):
    a, s = _candidates()
    outs = {}
    for name, kw in {'fp32': {}, 'autocast': {'dtype': 'bf16', 'cast_weights': False},
                     'cast': {'dtype': 'bf16'}}.items():
        wm = VJEPA2WorldModel(*models, **kw)
        z, goal = wm.encode(_frame(0)), wm.encode(_frame(1))
        outs[name] = energy(wm.rollout(wm.start(z, None), a, s), goal)
        if name == 'cast':
            assert wm.cast_weights and wm._planning_predictor() is not wm.predictor
            assert wm._planning_predictor().predictor_blocks[0].attn.qkv.weight.dtype == \
                torch.bfloat16
    np.testing.assert_allclose(outs['cast'].numpy(), outs['fp32'].numpy(), rtol=2e-2)
    np.testing.assert_allclose(outs['cast'].numpy(), outs['autocast'].numpy(), rtol=2e-2)
    assert not VJEPA2WorldModel(*models).cast_weights  # fp32 runs the original


def test_bf16_weight_copy_follows_weight_changes(models):
    import copy
    enc, pred = models
    pred = copy.deepcopy(pred)
    wm = VJEPA2WorldModel(enc, pred, dtype='bf16')
    a, s = _candidates(4, 1)
    ctx = wm.start(wm.encode(_frame(0)), None)
    before = wm.rollout(ctx, a, s)
    first = wm._planning_predictor()
    assert wm._planning_predictor() is first  # built once
    with torch.no_grad():
        pred.predictor_blocks[0].mlp.fc2.weight.mul_(3.0)  # e.g. a training step in place
    after = wm.rollout(ctx, a, s)
    assert wm._planning_predictor() is not first
    fresh = VJEPA2WorldModel(enc, pred, dtype='bf16')
    torch.testing.assert_close(after, fresh.rollout(fresh.start(ctx['z'], None), a, s))
    assert float((after - before).abs().max()) > 1e-3


def test_chunked_rollout_with_history_matches_one_batch(models):
    a, s = _candidates(7, 2)
    whole = VJEPA2WorldModel(*models, chunk_size=0)
    chunked = VJEPA2WorldModel(*models, chunk_size=3)
    z = whole.encode(_frame(0))
    hist = (whole.encode(np.stack([_frame(2), _frame(3)])).reshape(1, -1, z.shape[-1]),
            torch.randn(1, 2, 7) * 0.03, STATE.expand(1, 2, 7))
    for h in (None, hist):
        one = whole.rollout(whole.start(z, None, h), a, s)
        parts = chunked.rollout(chunked.start(z, None, h), a, s)
        assert parts.shape == one.shape
        assert float((parts - one).abs().max()) < 1e-4


@pytest.mark.parametrize('kind', ['l1', 'l2', 'cosine'])
def test_chunked_energy_matches_the_definition(kind, monkeypatch):
    from jepa_ros.planning import energies
    monkeypatch.setattr(energies, '_CHUNK_ELEMENTS', 40)  # several chunks, a ragged last one
    g = torch.Generator().manual_seed(0)
    pred, goal = torch.randn(11, 4, 5, generator=g), torch.randn(4, 5, generator=g)
    d = (pred - goal).flatten(1)
    want = {'l1': d.abs().mean(1), 'l2': d.pow(2).mean(1).sqrt(),
            'cosine': 1 - torch.nn.functional.cosine_similarity(
                pred, goal.expand_as(pred), dim=-1).mean(1)}[kind]
    torch.testing.assert_close(energy(pred, goal, kind), want)
    per = torch.randn(11, 4, 5, generator=g)  # one goal per candidate
    torch.testing.assert_close(energy(pred, per, kind)[3], energy(pred[3:4], per[3], kind)[0])
    with pytest.raises(ValueError, match='unknown energy'):
        energy(pred, goal, 'l3')
