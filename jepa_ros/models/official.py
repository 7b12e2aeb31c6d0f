# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Load official V-JEPA 2 / V-JEPA 2-AC ``.pt`` checkpoints strictly.

Upstream loads encoders with ``strict=False`` and so silently runs half-random models when keys
do not match (facebookresearch/vjepa2 issues #16, #125). Here every tensor must be accounted for:
a missing, unexpected or mis-shaped key raises CheckpointError naming the keys.
"""

import logging
import os
import re

from jepa_ros.models.config import CheckpointError, default_heads, EncoderConfig
from jepa_ros.models.config import OFFICIAL_ENCODER_HEADS, OFFICIAL_PREDICTOR_HEADS
from jepa_ros.models.config import PredictorConfig
from jepa_ros.models.encoder import VJEPA2Encoder
from jepa_ros.models.predictor import ACPredictor
import torch

LOG = logging.getLogger(__name__)
_PREFIXES = ('module.', 'backbone.')


def strip_prefixes(state_dict):
    """Drop leading ``module.`` / ``backbone.`` (DDP and wrapper prefixes) from every key."""
    out = {}
    for key, value in state_dict.items():
        k = key
        while k.startswith(_PREFIXES):
            k = k[len('module.'):] if k.startswith('module.') else k[len('backbone.'):]
        if k in out:
            raise CheckpointError(f'two keys collapse to {k!r} once prefixes are removed')
        out[k] = value
    return out


def _name_keys(keys, limit=12):
    keys = sorted(keys)
    shown = ', '.join(keys[:limit])
    return shown + (f' ... (+{len(keys) - limit} more)' if len(keys) > limit else '')


def load_strict(module, state_dict, what):
    """Copy ``state_dict`` into ``module``; raise CheckpointError unless keys and shapes match."""
    expected = module.state_dict()
    missing = set(expected) - set(state_dict)
    unexpected = set(state_dict) - set(expected)
    wrong = [f'{k} {tuple(state_dict[k].shape)} != {tuple(v.shape)}'
             for k, v in expected.items()
             if k in state_dict and tuple(state_dict[k].shape) != tuple(v.shape)]
    problems = []
    if missing:
        problems.append(f'missing keys: {_name_keys(missing)}')
    if unexpected:
        problems.append(f'unexpected keys: {_name_keys(unexpected)}')
    if wrong:
        problems.append(f'mis-shaped keys (checkpoint != model): {", ".join(wrong[:12])}')
    if problems:
        raise CheckpointError(f'{what} does not match the model; ' + '; '.join(problems))
    module.load_state_dict(state_dict, strict=True)


def _depth(state_dict, prefix):
    pattern = re.compile(re.escape(prefix) + r'(\d+)\.')
    ids = {int(m.group(1)) for k in state_dict for m in [pattern.match(k)] if m}
    if not ids:
        return 0
    if ids != set(range(max(ids) + 1)):
        raise CheckpointError(f'{prefix}N blocks are not numbered 0..{max(ids)}: '
                              f'found {sorted(ids)}')
    return max(ids) + 1


def _need(state_dict, key, what):
    if key not in state_dict:
        raise CheckpointError(f'{what}: key {key!r} not found; keys start with '
                              f'{_name_keys(list(state_dict)[:5], 5)}')
    return state_dict[key]


def infer_encoder_config(sd, img_size=256, num_heads=None) -> EncoderConfig:
    """Infer an EncoderConfig from official encoder tensors (widths, depth, patch, tubelet)."""
    if 'pos_embed' in sd:
        raise CheckpointError('the encoder has a learned/sincos pos_embed: this is not a V-JEPA 2 '
                              'RoPE encoder (V-JEPA 1 style checkpoints are not supported)')
    if 'cls_token' in sd:
        raise CheckpointError('the encoder has a cls_token: not a V-JEPA 2 encoder')
    w = _need(sd, 'patch_embed.proj.weight', 'encoder')
    if w.dim() != 5:
        raise CheckpointError(f'patch_embed.proj.weight has shape {tuple(w.shape)}: expected a '
                              'Conv3d tubelet embedding [D, C, tubelet, patch, patch]')
    if w.shape[3] != w.shape[4]:
        raise CheckpointError(f'non-square patches {tuple(w.shape[3:])} are not supported')
    dim = int(w.shape[0])
    depth = _depth(sd, 'blocks.')
    if depth == 0:
        raise CheckpointError('encoder has no blocks.N.* tensors')
    fc1 = _need(sd, 'blocks.0.mlp.fc1.weight', 'encoder')
    heads = num_heads or default_heads(dim, OFFICIAL_ENCODER_HEADS, 'encoder')
    return EncoderConfig(img_size=img_size, patch_size=int(w.shape[3]),
                         tubelet_size=int(w.shape[2]), in_chans=int(w.shape[1]), embed_dim=dim,
                         depth=depth, num_heads=heads, mlp_ratio=fc1.shape[0] / dim,
                         qkv_bias='blocks.0.attn.qkv.bias' in sd)


def infer_predictor_config(sd, img_size=256, patch_size=16, num_heads=None,
                           use_extrinsics=False) -> PredictorConfig:
    """Infer a PredictorConfig from official AC-predictor tensors."""
    emb = _need(sd, 'predictor_embed.weight', 'predictor')
    act = _need(sd, 'action_encoder.weight', 'predictor')
    state = _need(sd, 'state_encoder.weight', 'predictor')
    ext = sd.get('extrinsics_encoder.weight')
    dim, enc_dim = int(emb.shape[0]), int(emb.shape[1])
    depth = _depth(sd, 'predictor_blocks.')
    if depth == 0:
        raise CheckpointError('predictor has no predictor_blocks.N.* tensors')
    fc1 = _need(sd, 'predictor_blocks.0.mlp.fc1.weight', 'predictor')
    heads = num_heads or default_heads(dim, OFFICIAL_PREDICTOR_HEADS, 'predictor')
    return PredictorConfig(img_size=img_size, patch_size=patch_size, encoder_dim=enc_dim,
                           embed_dim=dim, depth=depth, num_heads=heads,
                           mlp_ratio=fc1.shape[0] / dim,
                           qkv_bias='predictor_blocks.0.attn.qkv.bias' in sd,
                           action_dim=int(act.shape[1]), state_dim=int(state.shape[1]),
                           extrinsics_dim=int(ext.shape[1]) if ext is not None else 6,
                           use_extrinsics=use_extrinsics)


def _read(path):
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'V-JEPA 2 checkpoint not found: {path}')
    try:
        try:  # mmap keeps multi-GB checkpoints (optimizer state included) out of RAM
            ckpt = torch.load(path, map_location='cpu', weights_only=True, mmap=True)
        except RuntimeError as exc:
            if 'mmap' not in str(exc):
                raise
            ckpt = torch.load(path, map_location='cpu', weights_only=True)  # legacy format
    except Exception as exc:  # unpickling errors have many types
        raise CheckpointError(f'cannot read {path} as a torch checkpoint with weights_only=True '
                              f'(truncated, or not a plain tensor checkpoint): {exc}') from exc
    if not isinstance(ckpt, dict):
        raise CheckpointError(f'{path}: expected a dict checkpoint, got {type(ckpt).__name__}')
    return ckpt


def load_vjepa2(path, *, img_size=256, encoder_heads=None, predictor_heads=None, device='cpu',
                use_extrinsics=False, encoder_key=None):
    """
    Load an official V-JEPA 2(-AC) ``.pt`` checkpoint; return ``(encoder, predictor or None)``.

    Reads ``target_encoder`` when present, else ``encoder`` (upstream's AC training freezes the
    pretrained ``target_encoder`` and saves it under both names; its planner hub loader reads
    ``encoder``); ``encoder_key`` overrides. ``module.`` / ``backbone.`` prefixes are stripped.
    Shapes come from the tensors, head counts from the official preset of that width unless
    given. ``img_size`` sets the predictor grid (256 for the released AC model). A predictor
    without action/state encoders (a pretraining mask predictor) is not loaded: predictor None.
    """
    ckpt = _read(path)
    if encoder_key is None:
        encoder_key = next((k for k in ('target_encoder', 'encoder') if k in ckpt), None)
    if encoder_key is None and 'patch_embed.proj.weight' in strip_prefixes(
            {k: v for k, v in ckpt.items() if isinstance(v, torch.Tensor)}):
        enc_sd, pred_sd = ckpt, None  # a bare encoder state dict
    else:
        if encoder_key not in ckpt:
            raise CheckpointError(f'{path}: no {encoder_key or "target_encoder/encoder"!r} entry; '
                                  f'top-level keys: {_name_keys(ckpt)}')
        enc_sd, pred_sd = ckpt[encoder_key], ckpt.get('predictor')
    enc_sd = strip_prefixes(enc_sd)
    enc_cfg = infer_encoder_config(enc_sd, img_size=img_size, num_heads=encoder_heads)
    encoder = VJEPA2Encoder(enc_cfg)
    load_strict(encoder, enc_sd, f'{path} [{encoder_key or "encoder"}]')
    predictor = None
    if pred_sd is not None:
        pred_sd = strip_prefixes(pred_sd)
        if 'action_encoder.weight' not in pred_sd:
            LOG.warning('%s: the predictor has no action encoder (a pretraining mask predictor); '
                        'it is not an AC predictor and was not loaded', path)
        else:
            pred_cfg = infer_predictor_config(pred_sd, img_size=img_size,
                                              patch_size=enc_cfg.patch_size,
                                              num_heads=predictor_heads,
                                              use_extrinsics=use_extrinsics)
            if pred_cfg.encoder_dim != enc_cfg.embed_dim:
                raise CheckpointError(f'{path}: predictor reads width {pred_cfg.encoder_dim} but '
                                      f'the encoder has width {enc_cfg.embed_dim}')
            predictor = ACPredictor(pred_cfg)
            load_strict(predictor, pred_sd, f'{path} [predictor]')
            predictor = predictor.to(device).eval()
    return encoder.to(device).eval(), predictor
