# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Robot episodes on disk (format in FORMAT.md), clip datasets, play collection and bag import.

Pure numpy; no ROS imports. ``collect`` and ``import_bag`` are also ``jepa-ros`` subcommands.
"""

from jepa_ros.data.dataset import ClipDataset, CorruptEpisodeWarning, load_episodes
from jepa_ros.data.episode import (actions_from_states, atomic_write_bytes, Episode,
                                   episode_path, EpisodeError, list_episodes, make_episode,
                                   next_episode_index, read_episode, split_episodes,
                                   write_episode)

__all__ = [
    'ClipDataset', 'CorruptEpisodeWarning', 'Episode', 'EpisodeError', 'actions_from_states',
    'atomic_write_bytes', 'episode_path', 'list_episodes', 'load_episodes', 'make_episode',
    'next_episode_index', 'read_episode', 'split_episodes', 'write_episode',
]
