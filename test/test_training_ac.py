# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Tiny end-to-end AC training: loss falls, normalisation is stored, the planner loads it."""

import json

from jepa_ros.data import episode_path, write_episode
from jepa_ros.data.synthetic import synthetic_episode
from jepa_ros.training import train_ac
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
    base = {'data': str(data), 'out': str(out), 'encoder': 'preset:tiny', 'image_size': 32,
            'clip_len': 4, 'batch_size': 8, 'steps': 40, 'log_every': 10, 'eval_every': 10,
            'checkpoint_every': 10, 'warmup_steps': 2, 'lr': 2e-3, 'pred_dim': 32,
            'pred_depth': 1, 'val_fraction': 0.25, 'val_clips': 16, 'device': 'cpu',
            'threads': 1}
    base.update(kw)
    return train_ac.TrainACConfig(**base)


def test_train_ac_loss_goes_down_and_model_loads_for_planning(episodes, tmp_path):
    # The plain (official) predictor starts far above the copy baseline, so its loss must fall
    # clearly; the residual option starts at that baseline (tested in test_models_residual).
    summary = train_ac.train(_cfg(episodes, tmp_path, residual=False), log=lambda *_: None)
    rows = (tmp_path / 'curves.csv').read_text().splitlines()
    header = rows[0].split(',')
    teacher = [float(r.split(',')[header.index('teacher')]) for r in rows[1:]]
    assert teacher[-1] < 0.7 * teacher[0], teacher
    assert 'val_ratio' in header and summary['val_copy_baseline'] > 0
    assert (tmp_path / 'curves.png').is_file()
    from jepa_ros.models import load_model
    enc, pred, extra = load_model(tmp_path / 'model')
    norm = extra['normalization']
    assert set(norm) == {'action_mean', 'action_std', 'state_mean', 'state_std'}
    assert all(len(v) == 7 for v in norm.values())
    assert len(extra['val_episodes']) == 2 and extra['image_size'] == 32
    # The stored statistics are those of the training episodes' actions.
    from jepa_ros.data import read_episode
    val = set(extra['val_episodes'])
    acts = np.concatenate([read_episode(p).actions for p in sorted(episodes.glob('*.npz'))
                           if str(p) not in val])
    np.testing.assert_allclose(norm['action_mean'], acts.mean(0), atol=1e-5)
    from jepa_ros.planning import VJEPA2WorldModel
    wm = VJEPA2WorldModel.from_checkpoint(tmp_path / 'model')
    assert wm.normalization is not None
    z = wm.encode(np.zeros((32, 32, 3), np.uint8))
    assert z.shape[-2:] == (16, enc.embed_dim)
    # The evaluation command runs on the held-out episodes the model recorded.
    from jepa_ros.training.evaluate import EvalConfig, evaluate
    res = evaluate(EvalConfig(model=str(tmp_path / 'model'), out=str(tmp_path / 'eval.json'),
                              horizons=(1, 2, 4), recovery_samples=4, samples=16, iterations=2,
                              topk=4), log=lambda *_: None)
    saved = json.loads((tmp_path / 'eval.json').read_text())
    assert set(saved['latent_prediction']) == {'1', '2', '4'}
    for k, v in res['latent_prediction'].items():
        assert v['model_l1'] > 0 and v['copy_last_l1'] > 0 and v['count'] > 0
    rec = saved['action_recovery']
    assert rec['count'] == 4 and 0 <= rec['gripper_accuracy'] <= 1
    assert rec['median_translation_error_cm'] >= 0 and len(rec['median_abs_error_cm_xyz']) == 3


def test_train_ac_resumes_identically(episodes, tmp_path):
    full = train_ac.train(_cfg(episodes, tmp_path / 'a', steps=12), log=lambda *_: None)
    train_ac.train(_cfg(episodes, tmp_path / 'b', steps=12), stop_after=10,
                   log=lambda *_: None)
    assert load_checkpoint(tmp_path / 'b')['step'] == 10
    resumed = train_ac.train(_cfg(episodes, tmp_path / 'b', steps=12), log=lambda *_: None)
    assert resumed['params_digest'] == full['params_digest']
    assert json.loads((tmp_path / 'b' / 'summary.json').read_text())['step'] == 12


def test_config_errors_name_the_field(tmp_path):
    from jepa_ros.utils.config import ConfigError
    with pytest.raises(ConfigError, match='rollout_steps'):
        _cfg(tmp_path, tmp_path, rollout_steps=5).validate()
    with pytest.raises(FileNotFoundError, match='preset:tiny'):
        train_ac.train(_cfg(tmp_path, tmp_path, encoder=str(tmp_path / 'missing')),
                       log=lambda *_: None)
