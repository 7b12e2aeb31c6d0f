# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Encoder shapes, presets and input checks."""

from jepa_ros.models import ACPredictor, encoder_preset, predictor_preset, VJEPA2Encoder
from jepa_ros.models.layers import rope_segment_dim
from jepa_ros.utils.config import ConfigError
import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(scope='module')
def tiny():
    torch.manual_seed(0)
    return VJEPA2Encoder(encoder_preset('tiny')).eval()


def test_video_and_image_shapes(tiny):
    cfg = tiny.config
    assert (cfg.img_size, cfg.patch_size, cfg.tubelet_size) == (64, 8, 2)
    video = torch.randn(2, 3, 4, 64, 64)
    with torch.no_grad():
        out = tiny(video)
        img = tiny.encode_image(video[:, :, 0])
    n = tiny.num_patches(64)
    assert n == 64 and tiny.num_patches() == 64 and tiny.num_patches((64, 32)) == 32
    assert out.shape == (2, 2 * n, cfg.embed_dim)
    assert img.shape == (2, n, cfg.embed_dim)


def test_image_is_a_repeated_tubelet(tiny):
    frame = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        a = tiny.encode_image(frame)
        b = tiny(frame.unsqueeze(2).repeat(1, 1, 2, 1, 1))
        c = tiny(frame)  # 4-D input is treated as an image
    assert torch.equal(a, b) and torch.equal(a, c)


def test_other_resolutions_and_per_frame_encoding(tiny):
    frames = torch.randn(1, 3, 3, 32, 48)
    with torch.no_grad():
        z = tiny.encode_frames(frames)
        first = tiny.encode_image(frames[:, :, 0])
    assert z.shape == (1, 3 * 4 * 6, 128)
    assert torch.allclose(z[:, :24], first, atol=1e-6)


def test_positions_matter(tiny):
    # Without a learned pos-embed, only RoPE tells tokens apart: swapping two patches of the
    # input must not just swap the two output tokens (at init the effect is small but real).
    img = torch.randn(1, 3, 64, 64)
    swapped = img.clone()
    swapped[..., :8, :8], swapped[..., :8, 8:16] = img[..., :8, 8:16], img[..., :8, :8]
    with torch.no_grad():
        a, b = tiny.encode_image(img), tiny.encode_image(swapped)
    assert (a[:, 0] - b[:, 1]).abs().max() > 1e-5  # float noise is ~1e-7


def test_bad_inputs_are_clear_errors(tiny):
    with pytest.raises(ValueError, match='tubelet'):
        tiny(torch.randn(1, 3, 3, 64, 64))
    with pytest.raises(ValueError, match='patch size 8'):
        tiny(torch.randn(1, 3, 2, 60, 64))
    with pytest.raises(ValueError, match='ImageNet-normalised'):
        tiny(torch.zeros(1, 3, 2, 64, 64, dtype=torch.uint8))
    with pytest.raises(ValueError, match='channels'):
        tiny(torch.randn(1, 1, 2, 64, 64))


def test_presets_and_validation():
    small = encoder_preset('small')
    assert (small.img_size, small.embed_dim, small.depth) == (128, 256, 6)
    assert encoder_preset('tiny', depth=2).depth == 2
    with pytest.raises(ConfigError, match='unknown encoder preset'):
        encoder_preset('medium')
    with pytest.raises(ConfigError, match='not divisible'):
        encoder_preset('tiny', num_heads=3)
    assert rope_segment_dim(64) == 20 and rope_segment_dim(88) == 28


@pytest.mark.parametrize('name,dim,depth,heads,params', [
    ('large', 1024, 24, 16, 303e6), ('huge', 1280, 32, 16, 631e6),
    ('giant', 1408, 40, 22, 1012e6)])
def test_official_encoder_shapes(name, dim, depth, heads, params):
    cfg = encoder_preset(name)
    assert (cfg.embed_dim, cfg.depth, cfg.num_heads, cfg.patch_size, cfg.tubelet_size) == (
        dim, depth, heads, 16, 2)
    with torch.device('meta'):
        enc = VJEPA2Encoder(cfg)
    n = sum(p.numel() for p in enc.parameters())
    assert abs(n - params) / params < 0.01
    assert enc.blocks[0].mlp.fc1.out_features == (6144 if name == 'giant' else 4 * dim)


def test_official_ac_predictor_shape():
    cfg = predictor_preset('giant')
    assert (cfg.encoder_dim, cfg.embed_dim, cfg.depth, cfg.num_heads) == (1408, 1024, 24, 16)
    assert cfg.tokens_per_frame == 256
    with torch.device('meta'):
        pred = ACPredictor(cfg)
    n = sum(p.numel() for p in pred.parameters())
    assert 300e6 < n < 310e6


def test_bf16_autocast_encoder_stays_close(tiny):
    from jepa_ros.models import autocast
    img = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        ref = tiny.encode_image(img)
        with autocast('cpu', 'bf16'):
            low = tiny.encode_image(img)
    assert low.dtype in (torch.bfloat16, torch.float32)  # CPU autocast keeps LayerNorm in bf16
    assert (low.float() - ref).abs().max().item() < 0.1
