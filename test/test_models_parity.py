# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Official-checkpoint parity and strict loading, on the tiny random-weight V-JEPA 2 fixture."""

import json

from jepa_ros.models import ACPredictor, CheckpointError, load_vjepa2, VJEPA2Encoder
import pytest
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
TOL = 1e-4


@pytest.fixture(scope='module')
def fixture_models(vjepa2_tiny_dir):
    cfg = json.loads((vjepa2_tiny_dir / 'config.json').read_text())
    enc, pred = load_vjepa2(vjepa2_tiny_dir / 'checkpoint.pt', img_size=cfg['img_size'],
                            predictor_heads=cfg['predictor']['num_heads'])
    io = torch.load(vjepa2_tiny_dir / 'io.pt', weights_only=True)
    return enc, pred, io, cfg


@pytest.fixture(scope='module')
def raw_checkpoint(vjepa2_tiny_dir):
    return torch.load(vjepa2_tiny_dir / 'checkpoint.pt', weights_only=True)


def test_inferred_shapes_match_fixture_config(fixture_models):
    enc, pred, _, cfg = fixture_models
    assert isinstance(enc, VJEPA2Encoder) and isinstance(pred, ACPredictor)
    assert enc.config.embed_dim == cfg['encoder']['embed_dim']
    assert enc.config.depth == cfg['encoder']['depth']
    assert enc.config.num_heads == cfg['encoder']['num_heads']  # official ViT-tiny preset: 3
    assert (enc.config.patch_size, enc.config.tubelet_size) == (cfg['patch_size'],
                                                                cfg['tubelet_size'])
    assert pred.config.embed_dim == cfg['predictor']['embed_dim']
    assert pred.config.depth == cfg['predictor']['depth']
    assert pred.config.tokens_per_frame == (cfg['img_size'] // cfg['patch_size']) ** 2
    assert not enc.training and not pred.training


def test_encoder_video_parity(fixture_models):
    enc, _, io, _ = fixture_models
    with torch.no_grad():
        out = enc(io['video'])
    assert out.shape == io['enc_video'].shape
    assert (out - io['enc_video']).abs().max().item() < TOL


def test_encoder_frame_parity(fixture_models):
    enc, _, io, _ = fixture_models
    with torch.no_grad():
        out = enc.encode_image(io['frame'])
    assert out.shape == io['enc_frame'].shape
    assert (out - io['enc_frame']).abs().max().item() < TOL


def test_normalised_context_parity(fixture_models):
    enc, _, io, _ = fixture_models
    with torch.no_grad():
        z = enc(io['ctx_frames'])
        z = F.layer_norm(z, (z.shape[-1],))
    assert (z - io['z']).abs().max().item() < TOL


def test_predictor_parity(fixture_models):
    _, pred, io, _ = fixture_models
    with torch.no_grad():
        out = pred(io['z'], io['actions'], io['states'])
    assert out.shape == io['pred_out'].shape
    assert (out - io['pred_out']).abs().max().item() < TOL


def test_predictor_incremental_matches_official_outputs(fixture_models):
    _, pred, io, _ = fixture_models
    n = pred.tokens_per_frame
    cache = pred.empty_cache(1)
    outs = []
    with torch.no_grad():
        for t in range(io['actions'].shape[1]):
            o, cache = pred.step(io['z'][:, t * n:(t + 1) * n], io['actions'][:, t],
                                 io['states'][:, t], cache)
            outs.append(o)
    assert (torch.cat(outs, 1) - io['pred_out']).abs().max().item() < TOL


def test_heads_come_from_official_width_table(vjepa2_tiny_dir):
    # Width 256 is no official predictor: the head count falls back to head_dim 64 -> 4 heads.
    enc, pred = load_vjepa2(vjepa2_tiny_dir / 'checkpoint.pt')
    assert enc.config.num_heads == 3 and pred.config.num_heads == 4
    enc2, pred2 = load_vjepa2(vjepa2_tiny_dir / 'checkpoint.pt', encoder_heads=6,
                              predictor_heads=8)
    assert enc2.config.num_heads == 6 and pred2.config.num_heads == 8


def _save(tmp_path, ckpt, name='ck.pt'):
    path = tmp_path / name
    torch.save(ckpt, path)
    return path


def test_missing_key_is_named(tmp_path, raw_checkpoint):
    ckpt = {k: dict(v) if isinstance(v, dict) else v for k, v in raw_checkpoint.items()}
    for key in ('encoder', 'target_encoder'):
        del ckpt[key]['module.backbone.blocks.2.mlp.fc2.bias']
    with pytest.raises(CheckpointError, match=r'missing keys: blocks\.2\.mlp\.fc2\.bias'):
        load_vjepa2(_save(tmp_path, ckpt))


def test_unexpected_key_is_named(tmp_path, raw_checkpoint):
    ckpt = {k: dict(v) if isinstance(v, dict) else v for k, v in raw_checkpoint.items()}
    ckpt['predictor']['module.mask_token'] = torch.zeros(1, 1, 256)
    with pytest.raises(CheckpointError, match=r'unexpected keys: mask_token'):
        load_vjepa2(_save(tmp_path, ckpt))


def test_misshaped_key_is_named(tmp_path, raw_checkpoint):
    ckpt = {k: dict(v) if isinstance(v, dict) else v for k, v in raw_checkpoint.items()}
    ckpt['predictor']['module.predictor_blocks.1.norm2.weight'] = torch.ones(255)
    with pytest.raises(CheckpointError, match=r'predictor_blocks\.1\.norm2\.weight \(255,\)'):
        load_vjepa2(_save(tmp_path, ckpt))


def test_pos_embed_checkpoint_is_rejected(tmp_path, raw_checkpoint):
    ckpt = {k: dict(v) if isinstance(v, dict) else v for k, v in raw_checkpoint.items()}
    ckpt['target_encoder']['module.backbone.pos_embed'] = torch.zeros(1, 512, 192)
    with pytest.raises(CheckpointError, match='pos_embed'):
        load_vjepa2(_save(tmp_path, ckpt))


def test_missing_file_names_path(tmp_path):
    path = tmp_path / 'nope' / 'vitg.pt'
    with pytest.raises(FileNotFoundError, match=str(path)):
        load_vjepa2(path)


def test_truncated_file_is_a_clear_error(tmp_path, vjepa2_tiny_dir):
    data = (vjepa2_tiny_dir / 'checkpoint.pt').read_bytes()
    path = tmp_path / 'cut.pt'
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match='cut.pt'):
        load_vjepa2(path)


def test_target_encoder_is_preferred_and_prefixes_vary(tmp_path, raw_checkpoint, fixture_models):
    enc_ref, _, io, _ = fixture_models
    target = {k.replace('module.backbone.', 'backbone.'): v
              for k, v in raw_checkpoint['target_encoder'].items()}
    scrambled = {k: torch.randn_like(v) for k, v in raw_checkpoint['encoder'].items()}
    ckpt = {'encoder': scrambled, 'target_encoder': target, 'epoch': 3}
    enc, pred = load_vjepa2(_save(tmp_path, ckpt))
    assert pred is None  # encoder-only checkpoint
    with torch.no_grad():
        assert (enc.encode_image(io['frame']) - io['enc_frame']).abs().max().item() < TOL
    enc_ctx, _ = load_vjepa2(_save(tmp_path, ckpt, 'b.pt'), encoder_key='encoder')
    with torch.no_grad():
        assert (enc_ctx.encode_image(io['frame']) - io['enc_frame']).abs().max().item() > 1e-2


def test_mask_predictor_is_not_loaded(tmp_path, raw_checkpoint):
    ckpt = {'target_encoder': raw_checkpoint['target_encoder'],
            'predictor': {'module.backbone.mask_tokens.0': torch.zeros(1, 1, 384)}}
    enc, pred = load_vjepa2(_save(tmp_path, ckpt))
    assert enc is not None and pred is None
