# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""The residual predictor option: starts as copy-last-frame, stays causal and cache-exact."""

from jepa_ros.models import ACPredictor, load_model, predictor_preset, save_model
import torch


def _predictor(residual, seed=0):
    torch.manual_seed(seed)
    cfg = predictor_preset('tiny', encoder_dim=32, img_size=32, patch_size=8, depth=2,
                           embed_dim=64, num_heads=2, residual=residual)
    return ACPredictor(cfg).eval()


def test_residual_starts_as_copy_of_the_input_frame():
    p = _predictor(True)
    n = p.tokens_per_frame
    z = torch.randn(2, 3 * n, 32)
    out = p(z, torch.randn(2, 3, 7), torch.randn(2, 3, 7))
    torch.testing.assert_close(out, z)
    # the official layout (residual off) does not copy
    plain = _predictor(False)
    assert (plain(z, torch.randn(2, 3, 7), torch.randn(2, 3, 7)) - z).abs().max() > 0.1


def test_residual_incremental_equals_full_and_is_causal():
    p = _predictor(True)
    torch.nn.init.normal_(p.predictor_proj.weight, std=0.05)
    n = p.tokens_per_frame
    z, a, s = torch.randn(4, 2 * n, 32), torch.randn(4, 2, 7), torch.randn(4, 2, 7)
    with torch.no_grad():
        full = p(z, a, s)
        cache = p.empty_cache(4)
        o1, cache = p.step(z[:, :n], a[:, 0], s[:, 0], cache)
        o2, _ = p.step(z[:, n:], a[:, 1], s[:, 1], cache)
        torch.testing.assert_close(torch.cat([o1, o2], 1), full, atol=1e-5, rtol=0)
        a2 = a.clone()
        a2[:, 1] += 1.0
        changed = p(z, a2, s)
    torch.testing.assert_close(changed[:, :n], full[:, :n], atol=0, rtol=0)
    assert (changed[:, n:] - full[:, n:]).abs().max() > 1e-4


def test_residual_flag_survives_a_checkpoint(tmp_path):
    from jepa_ros.models import encoder_preset, VJEPA2Encoder
    enc = VJEPA2Encoder(encoder_preset('tiny', embed_dim=32, depth=1, num_heads=2, img_size=32))
    p = _predictor(True)
    save_model(tmp_path / 'm', enc, p)
    _, loaded, _ = load_model(tmp_path / 'm')
    assert loaded.config.residual is True
