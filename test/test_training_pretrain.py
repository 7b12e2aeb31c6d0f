# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Tiny end-to-end JEPA pretraining: the loss falls, outputs are written, a killed run resumes."""

import argparse
import json

from jepa_ros.data import episode_path, write_episode
from jepa_ros.data.synthetic import synthetic_episode
from jepa_ros.training import pretrain
from jepa_ros.training.checkpoint import load_checkpoint
import numpy as np
import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(scope='module')
def episodes(tmp_path_factory):
    root = tmp_path_factory.mktemp('eps')
    for i in range(8):
        write_episode(episode_path(root, i), synthetic_episode(i, steps=12, image_size=32))
    return root


def _cfg(data, out, **kw):
    base = {'data': str(data), 'out': str(out), 'image_size': 32, 'clip_len': 4,
            'batch_size': 8, 'steps': 30, 'log_every': 5, 'checkpoint_every': 5,
            'warmup_steps': 2, 'lr': 1e-3, 'pred_dim': 32,
            'pred_depth': 1, 'pred_heads': 2, 'device': 'cpu', 'threads': 1}
    base.update(kw)
    return pretrain.PretrainConfig(**base)


def test_pretrain_loss_goes_down_and_writes_outputs(episodes, tmp_path):
    logs = []
    summary = pretrain.train(_cfg(episodes, tmp_path), log=logs.append)
    rows = (tmp_path / 'curves.csv').read_text().splitlines()
    header = rows[0].split(',')
    losses = [float(r.split(',')[header.index('loss')]) for r in rows[1:]]
    assert len(losses) == 6
    assert losses[-1] < 0.85 * losses[0], losses
    for key in ('image_spread', 'eff_rank', 'feat_std'):
        assert key in header and summary[key] > 0
    assert (tmp_path / 'curves.png').stat().st_size > 1000
    assert json.loads((tmp_path / 'summary.json').read_text())['step'] == 30
    from jepa_ros.models import load_model
    enc, pred, extra = load_model(tmp_path / 'model')
    assert pred is None and extra['kind'] == 'jepa_ros.pretrain'
    with torch.no_grad():
        assert enc.encode_image(torch.zeros(1, 3, 32, 32)).shape == (1, 16, enc.embed_dim)
    assert any('spread' in line for line in logs)


def test_killed_run_resumes_on_the_same_schedule(episodes, tmp_path):
    full = pretrain.train(_cfg(episodes, tmp_path / 'a', steps=10), log=lambda *_: None)
    part = pretrain.train(_cfg(episodes, tmp_path / 'b', steps=10), stop_after=5,
                          log=lambda *_: None)
    assert part['step'] == 5 and not (tmp_path / 'b' / 'model').exists()
    assert load_checkpoint(tmp_path / 'b')['step'] == 5
    logs = []
    resumed = pretrain.train(_cfg(episodes, tmp_path / 'b', steps=10), log=logs.append)
    assert any('resumed' in line and 'step 5' in line for line in logs)
    assert resumed['step'] == 10
    # Same weights, EMA target, optimiser moments and RNG streams as the uninterrupted run.
    assert resumed['params_digest'] == full['params_digest']
    a, b = load_checkpoint(tmp_path / 'a'), load_checkpoint(tmp_path / 'b')
    for k in a['optimizer']['state']:
        assert torch.equal(a['optimizer']['state'][k]['exp_avg'],
                           b['optimizer']['state'][k]['exp_avg'])
    curve_a = (tmp_path / 'a' / 'curves.csv').read_text().splitlines()
    curve_b = (tmp_path / 'b' / 'curves.csv').read_text().splitlines()
    assert [r.split(',')[:2] for r in curve_a] == [r.split(',')[:2] for r in curve_b]


def test_cli_options_and_config_errors(tmp_path):
    from jepa_ros.utils.config import ConfigError, from_args
    parser = pretrain.add_arguments(argparse.ArgumentParser())
    args = parser.parse_args(['--data', 'd', '--steps', '7', '--no-resume', '--mask-future-prob',
                              '0.25'])
    cfg = from_args(pretrain.PretrainConfig, args)
    assert cfg.steps == 7 and cfg.resume is False and cfg.mask_config().future_prob == 0.25
    with pytest.raises(ConfigError, match='batch_size'):
        _cfg(tmp_path, tmp_path, batch_size=1).validate()
    from jepa_ros.models import encoder_preset, VJEPA2Encoder
    from jepa_ros.training.common import token_grid
    enc = VJEPA2Encoder(encoder_preset('tiny'))
    assert token_grid(enc, 4, 32, 32) == (2, 4, 4)
    with pytest.raises(ValueError, match='multiple of the encoder tubelet'):
        token_grid(enc, 3, 32, 32)


def test_single_frame_objective_holds_one_frame_of_each_clip():
    from jepa_ros.training.pretrain import hold_one_frame, PretrainConfig
    from jepa_ros.utils.config import ConfigError
    rng = np.random.default_rng(0)
    clips = rng.integers(0, 255, (5, 4, 8, 8, 3), dtype=np.uint8)
    held = hold_one_frame(clips, np.random.default_rng(1))
    assert held.shape == clips.shape
    for b in range(5):
        assert all(np.array_equal(held[b, t], held[b, 0]) for t in range(4))
        assert any(np.array_equal(held[b, 0], clips[b, t]) for t in range(4))
    with pytest.raises(ConfigError, match='objective'):
        PretrainConfig(objective='audio').validate()
