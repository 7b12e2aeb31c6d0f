# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Episode format: round trip, validation, atomic writes, corrupt-file skipping, clip sampling."""

import os
import subprocess
import sys

from jepa_ros.data import (actions_from_states, ClipDataset, CorruptEpisodeWarning, Episode,
                           episode_path, EpisodeError, list_episodes, make_episode,
                           next_episode_index, read_episode, split_episodes, write_episode)
from jepa_ros.data.synthetic import synthetic_episode
import numpy as np
import pytest


def test_round_trip_keeps_every_array_and_metadata(tmp_path):
    ep = synthetic_episode(3, steps=10, image_size=24)
    path = write_episode(episode_path(tmp_path, 0), ep)
    back = read_episode(path)
    np.testing.assert_array_equal(back.frames, ep.frames)
    np.testing.assert_allclose(back.states, ep.states)
    np.testing.assert_allclose(back.actions, ep.actions)
    np.testing.assert_allclose(back.timestamps, ep.timestamps)
    assert back.metadata['camera']['name'] == 'synthetic'
    assert back.metadata['num_steps'] == 10 and back.metadata['format_version'] == 1
    # Files get ordinary permissions despite the temp-file dance.
    assert oct(os.stat(path).st_mode & 0o044) == oct(0o044 & ~_umask())


def _umask():
    m = os.umask(0)
    os.umask(m)
    return m


def test_actions_are_state_deltas_with_wrapped_angles():
    states = np.zeros((3, 7))
    states[:, 0] = [0.0, 0.1, 0.3]
    states[:, 5] = [3.1, -3.1, -3.0]     # crosses +-pi
    a = actions_from_states(states)
    np.testing.assert_allclose(a[:, 0], [0.1, 0.2], atol=1e-6)
    np.testing.assert_allclose(a[:, 5], [2 * np.pi - 6.2, 0.1], atol=1e-5)


@pytest.mark.parametrize('bad, message', [
    ({'states': np.zeros((5, 6))}, 'states must be'),
    ({'actions': np.zeros((5, 7))}, 'actions must be'),
    ({'timestamps': np.zeros(5)}, 'increase'),
    ({'frames': np.zeros((5, 8, 8)).astype(np.uint8)}, 'uint8'),
])
def test_validation_names_the_problem(bad, message):
    good = {'frames': np.zeros((5, 8, 8, 3), np.uint8), 'states': np.zeros((5, 7)),
            'timestamps': np.arange(5) * 0.1}
    good.update(bad)
    with pytest.raises(EpisodeError, match=message):
        make_episode(**good)
    states = np.zeros((5, 7))
    states[2, 1] = np.nan
    with pytest.raises(EpisodeError, match='NaN'):
        make_episode(np.zeros((5, 8, 8, 3), np.uint8), states)


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    ep = synthetic_episode(0, steps=6, image_size=16)

    def broken(fh, **arrays):
        fh.write(b'PK\x03\x04 half an archive')
        raise OSError('disk full')

    monkeypatch.setattr(np, 'savez_compressed', broken)
    with pytest.raises(OSError, match='disk full'):
        write_episode(episode_path(tmp_path, 0), ep)
    assert list(tmp_path.iterdir()) == []


def test_writer_killed_before_rename_leaves_no_episode(tmp_path):
    # A real process is SIGKILLed after writing all bytes, just before the rename.
    code = (
        'import os, signal\n'
        'from jepa_ros.data import write_episode, episode_path\n'
        'from jepa_ros.data.synthetic import synthetic_episode\n'
        'os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)\n'
        f'write_episode(episode_path({str(tmp_path)!r}, 1), synthetic_episode(1, 6, 16))\n')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, timeout=60)
    assert proc.returncode == -9, proc.stderr.decode()
    leftovers = list(tmp_path.iterdir())
    assert leftovers and all(p.name.startswith('.') for p in leftovers)
    assert list_episodes(tmp_path) == []
    assert next_episode_index(tmp_path) == 0


def test_corrupt_files_are_skipped_with_a_warning(tmp_path):
    for i in range(3):
        write_episode(episode_path(tmp_path, i), synthetic_episode(i, steps=8, image_size=16))
    # Truncate one (as a non-atomic copy would) and flip bytes in another.
    p1 = episode_path(tmp_path, 1)
    p1.write_bytes(p1.read_bytes()[:300])
    p2 = episode_path(tmp_path, 2)
    raw = bytearray(p2.read_bytes())
    mid = len(raw) // 2
    raw[mid:mid + 64] = bytes(64)
    p2.write_bytes(bytes(raw))
    for p in (p1, p2):
        with pytest.raises(EpisodeError, match=p.name):
            read_episode(p)
    with pytest.warns(CorruptEpisodeWarning) as record:
        data = ClipDataset(tmp_path, clip_len=4)
    assert len(data.episodes) == 1
    assert len(record) == 2
    assert {r.message.args[0].split(':')[1].strip().split('/')[-1] for r in record} == {
        p1.name, p2.name}


def test_clip_sampling_strides_and_sums_actions(tmp_path):
    ep = synthetic_episode(5, steps=12, image_size=16)
    write_episode(episode_path(tmp_path, 0), ep)
    data = ClipDataset(tmp_path, clip_len=3, frame_stride=2, image_size=32)
    assert len(data) == 12 - 5 + 1
    clip = data[2]
    assert clip['frames'].shape == (3, 32, 32, 3)
    np.testing.assert_allclose(clip['states'], ep.states[[2, 4, 6]])
    np.testing.assert_allclose(clip['actions'][:, :3],
                               (ep.states[[4, 6]] - ep.states[[2, 4]])[:, :3], atol=1e-5)
    batch = data.sample(np.random.default_rng(0), 5)
    assert batch['frames'].shape == (5, 3, 32, 32, 3) and batch['actions'].shape == (5, 2, 7)
    again = data.sample(np.random.default_rng(0), 5)
    np.testing.assert_array_equal(batch['states'], again['states'])
    with pytest.warns(CorruptEpisodeWarning, match='12 steps < 20'):
        with pytest.raises(EpisodeError, match='no usable episode'):
            ClipDataset(tmp_path, clip_len=20)
    float_frames = Episode(np.zeros((5, 8, 8, 3), np.float32), np.zeros((5, 7)),
                           np.zeros((4, 7)), np.arange(5.0))
    with pytest.raises(EpisodeError, match='uint8'):
        float_frames.validate()


def test_split_is_deterministic_and_disjoint():
    paths = [f'e{i}' for i in range(20)]
    tr, va = split_episodes(paths, 0.2, seed=1)
    assert len(va) == 4 and not set(tr) & set(va) and len(tr) + len(va) == 20
    assert (tr, va) == split_episodes(paths, 0.2, seed=1)
    assert split_episodes(paths[:1], 0.5) == (paths[:1], [])
