# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Random scene appearance for training clips, and the invariance term in train-wm."""

from jepa_ros.data import episode_path, write_episode
from jepa_ros.data.synthetic import synthetic_episode
from jepa_ros.training.appearance_aug import (cube_mask, hue_rotation, LIGHT_RANGE,
                                              random_appearance)
from jepa_ros.training.common import imagenet_normalize
import pytest
import torch


def _clips():
    """[B=3, T=4, V=2, 3, 8, 8]: a tan table with a red cube patch that moves with time."""
    x = torch.empty(3, 4, 2, 3, 8, 8)
    x[:] = torch.tensor([0.8, 0.65, 0.45]).view(3, 1, 1)
    for t in range(4):
        x[:, t, :, :, 2:4, t:t + 2] = torch.tensor([0.85, 0.08, 0.08]).view(3, 1, 1)
    return x


def test_hue_rotation_keeps_grey_and_length():
    rot = hue_rotation(torch.tensor([0.0, 1.0, 3.0]))
    torch.testing.assert_close(rot[0], torch.eye(3))
    grey = torch.full((3,), 0.5)
    for r in rot:
        torch.testing.assert_close(r @ grey, grey)
        torch.testing.assert_close(r @ r.T, torch.eye(3), atol=1e-6, rtol=0)


def test_surfaces_change_the_cube_keeps_its_colour_and_a_clip_keeps_its_draw():
    x = _clips()
    g = torch.Generator().manual_seed(0)
    y = random_appearance(x, g)
    assert y.shape == x.shape and float(y.min()) >= 0.0 and float(y.max()) <= 1.0
    cube = cube_mask(x).bool().expand_as(x)
    # the cube's hue is kept: only the light factor scales it
    ratio = y[cube] / x[cube]
    assert float(ratio.min()) >= LIGHT_RANGE[0] - 1e-5 and float(ratio.max()) <= \
        LIGHT_RANGE[1] + 1e-5
    # the table changed, and every frame of a clip (per view) got the same appearance
    table = y[:, :, :, :, 6, 6]                                  # [B, T, V, 3]
    assert float((table - x[:, :, :, :, 6, 6]).abs().max()) > 0.05
    torch.testing.assert_close(table, table[:, :1].expand_as(table))
    assert float((table[0, 0, 0] - table[1, 0, 0]).abs().max()) > 1e-3   # clips differ
    again = random_appearance(x, torch.Generator().manual_seed(0))
    assert torch.equal(y, again)                                           # seeded


def test_cube_mask_finds_red_only():
    px = torch.tensor([[0.85, 0.08, 0.08], [0.8, 0.65, 0.45], [0.5, 0.5, 0.5],
                       [0.9, 0.9, 0.9]]).T.reshape(3, 4, 1)
    assert cube_mask(px).flatten().tolist() == [1.0, 0.0, 0.0, 0.0]
    assert imagenet_normalize(px).shape == px.shape


def test_train_wm_with_appearance_and_invariance_logs_the_term(tmp_path):
    from jepa_ros.training.train_wm import train, TrainWMConfig
    from jepa_ros.utils.config import ConfigError
    for i in range(4):
        write_episode(episode_path(tmp_path / 'eps', i),
                      synthetic_episode(i, steps=10, image_size=32))
    cfg = TrainWMConfig(data=str(tmp_path / 'eps'), out=str(tmp_path / 'wm'), image_size=32,
                        enc_dim=32, enc_depth=1, enc_heads=2, latent_dim=16, pred_dim=32,
                        pred_depth=1, pred_heads=2, batch_size=4, steps=4, log_every=2,
                        eval_every=2, checkpoint_every=4, warmup_steps=1,
                        sigreg_projections=16, val_fraction=0.0, device='cpu', threads=1,
                        augment='appearance', invariance_weight=1.0)
    summary = train(cfg, log=lambda *_: None)
    assert summary['step'] == 4 and summary['invariance'] > 0
    header = (tmp_path / 'wm' / 'curves.csv').read_text().splitlines()[0].split(',')
    assert 'invariance' in header
    with pytest.raises(ConfigError, match='needs augment appearance'):
        TrainWMConfig(invariance_weight=1.0).validate()
    with pytest.raises(ConfigError, match='augment must be'):
        TrainWMConfig(augment='colour').validate()
