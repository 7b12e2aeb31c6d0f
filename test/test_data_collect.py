# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""``jepa-ros collect``: play episodes from the simulated arm."""

import argparse

from jepa_ros.data import list_episodes, read_episode
from jepa_ros.data.collect import add_arguments, collect, CollectConfig, run
from jepa_ros.utils.config import ConfigError
import numpy as np
import pytest

pytest.importorskip('mujoco')


def test_collect_writes_valid_play_episodes(tmp_path):
    cfg = CollectConfig(out=str(tmp_path), episodes=3, steps=12, render_size=64, save_size=32,
                        seed=1)
    summary = collect(cfg, progress=False)
    paths = list_episodes(tmp_path)
    assert len(paths) == 3 and summary['transitions'] == 33
    eps = [read_episode(p) for p in paths]
    for ep in eps:
        assert ep.frames.shape == (12, 32, 32, 3)
        np.testing.assert_allclose(ep.actions[:, :3], np.diff(ep.states[:, :3], axis=0),
                                   atol=1e-6)
        assert ep.metadata['camera']['name'] == 'front'
        assert len(ep.metadata['camera']['intrinsics']) == 4
        assert ep.metadata['robot']['control_dt'] == pytest.approx(0.1)
        np.testing.assert_allclose(np.diff(ep.timestamps), 0.1, atol=1e-6)
    # The arm really moves (centimetres per step) and frames change with it.
    steps_cm = np.concatenate([np.linalg.norm(e.actions[:, :3], axis=1) for e in eps]) * 100
    assert 0.5 < np.median(steps_cm) < 5.0
    assert any(np.abs(np.diff(e.frames.astype(int), axis=0)).mean() > 0.5 for e in eps)
    # Random cube starts.
    starts = {tuple(np.round(e.metadata['cube_start'], 4)) for e in eps}
    assert len(starts) == 3
    # Appending continues the numbering; the same seed reproduces an episode.
    collect(CollectConfig(out=str(tmp_path), episodes=1, steps=12, render_size=64,
                          save_size=32, seed=1), progress=False)
    assert list_episodes(tmp_path)[-1].name == 'episode_000003.npz'


def test_contact_play_touches_and_lifts_the_cube_more_often(tmp_path):
    base = {'episodes': 10, 'steps': 40, 'render_size': 64, 'save_size': 32, 'seed': 3}
    plain = collect(CollectConfig(out=str(tmp_path / 'plain'), **base), progress=False)
    contact = collect(CollectConfig(out=str(tmp_path / 'contact'), contact_prob=1.0, **base),
                      progress=False)
    assert contact['cube_lifted_fraction'] > plain['cube_lifted_fraction']
    assert contact['cube_moved_fraction'] >= plain['cube_moved_fraction']
    ep = read_episode(list_episodes(tmp_path / 'contact')[0])
    assert ep.metadata['cube_lift_m'] >= 0.0


def test_collect_cli_and_config_errors(tmp_path, capsys):
    parser = add_arguments(argparse.ArgumentParser())
    args = parser.parse_args(['--out', str(tmp_path), '--episodes', '1', '--steps', '5',
                              '--render-size', '32', '--save-size', '32'])
    assert run(args) == 0
    assert 'collected 1 episodes' in capsys.readouterr().out
    with pytest.raises(ConfigError, match='save_size'):
        CollectConfig(save_size=256, render_size=128).validate()
