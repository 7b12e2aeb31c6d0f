# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""jepa_ros checkpoints: safetensors + config.json round trip and clear errors."""

import json

from jepa_ros.models import ACPredictor, CheckpointError, encoder_preset, load_model
from jepa_ros.models import checkpoint as ckpt_mod
from jepa_ros.models import predictor_preset, save_model, VJEPA2Encoder
import numpy as np
import pytest
import torch

torch.set_num_threads(1)


def _models(seed=0, depth=2):
    torch.manual_seed(seed)
    enc = VJEPA2Encoder(encoder_preset('tiny', depth=depth)).eval()
    pred = ACPredictor(predictor_preset('tiny', encoder_dim=enc.config.embed_dim,
                                        depth=depth)).eval()
    return enc, pred


def test_round_trip_same_function_and_extra(tmp_path):
    enc, pred = _models()
    extra = {'action_mean': torch.arange(7.0), 'state_std': np.ones(7), 'epochs': 3,
             'note': 'sim'}
    save_model(tmp_path / 'm', enc, pred, extra=extra)
    assert sorted(p.name for p in (tmp_path / 'm').iterdir()) == ['config.json',
                                                                  'model.safetensors']
    enc2, pred2, extra2 = load_model(tmp_path / 'm')
    assert enc2.config == enc.config and pred2.config == pred.config
    assert extra2 == {'action_mean': list(range(7)), 'state_std': [1.0] * 7, 'epochs': 3,
                      'note': 'sim'}
    x = torch.randn(1, 3, 2, 64, 64)
    a, s = torch.randn(1, 1, 7), torch.randn(1, 1, 7)
    with torch.no_grad():
        assert torch.equal(enc(x), enc2(x))
        z = enc(x)
        assert torch.equal(pred(z, a, s), pred2(z, a, s))


def test_encoder_only_and_name_resolution(tmp_path, monkeypatch):
    enc, _ = _models()
    monkeypatch.setattr(ckpt_mod, 'ASSETS_DIR', tmp_path / 'assets')
    save_model(tmp_path / 'assets' / 'enc_only', enc)
    enc2, pred2, extra = load_model('enc_only')
    assert pred2 is None and extra == {}
    assert torch.equal(enc2.patch_embed.proj.weight, enc.patch_embed.proj.weight)


def test_missing_model_names_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setattr(ckpt_mod, 'ASSETS_DIR', tmp_path / 'assets')
    with pytest.raises(FileNotFoundError, match=r'no_such_model.*assets/no_such_model'):
        load_model('no_such_model')
    with pytest.raises(FileNotFoundError, match='missing_dir'):
        load_model(tmp_path / 'missing_dir')


def test_missing_weights_file(tmp_path):
    enc, pred = _models()
    save_model(tmp_path / 'm', enc, pred)
    (tmp_path / 'm' / 'model.safetensors').unlink()
    with pytest.raises(FileNotFoundError, match='model.safetensors'):
        load_model(tmp_path / 'm')


@pytest.mark.parametrize('keep', [0.5, 0.999])
def test_truncated_weights(tmp_path, keep):
    enc, pred = _models()
    save_model(tmp_path / 'm', enc, pred)
    path = tmp_path / 'm' / 'model.safetensors'
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(CheckpointError, match='truncated or corrupt'):
        load_model(tmp_path / 'm')


def test_truncated_config(tmp_path):
    enc, pred = _models()
    save_model(tmp_path / 'm', enc, pred)
    path = tmp_path / 'm' / 'config.json'
    path.write_text(path.read_text()[:40])
    with pytest.raises(CheckpointError, match='not valid JSON'):
        load_model(tmp_path / 'm')


def test_wrong_architecture_names_keys(tmp_path):
    enc, pred = _models(depth=2)
    save_model(tmp_path / 'm', enc, pred)
    cfg_path = tmp_path / 'm' / 'config.json'
    meta = json.loads(cfg_path.read_text())
    meta['encoder']['depth'] = 3
    meta['predictor']['embed_dim'] = 64
    cfg_path.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=r'missing keys: blocks\.2\.'):
        load_model(tmp_path / 'm')
    meta['encoder']['depth'] = 2
    cfg_path.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=r'mis-shaped keys.*predictor_embed\.weight'):
        load_model(tmp_path / 'm')


def test_foreign_or_bad_config(tmp_path):
    enc, _ = _models()
    save_model(tmp_path / 'm', enc)
    cfg_path = tmp_path / 'm' / 'config.json'
    meta = json.loads(cfg_path.read_text())
    cfg_path.write_text(json.dumps({'model_type': 'vit'}))
    with pytest.raises(CheckpointError, match='not a jepa_ros model config'):
        load_model(tmp_path / 'm')
    meta['encoder']['num_heads'] = 'four'
    cfg_path.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match='num_heads'):
        load_model(tmp_path / 'm')


def test_unstorable_extra_is_rejected_before_writing(tmp_path):
    enc, _ = _models()
    with pytest.raises(CheckpointError, match=r'extra\.fn'):
        save_model(tmp_path / 'm', enc, extra={'fn': object()})
    assert not (tmp_path / 'm' / 'model.safetensors').exists()
