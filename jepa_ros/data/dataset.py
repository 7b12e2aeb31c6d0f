# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Clip sampling over a folder of episodes.

Episodes are validated and held in memory (uint8 frames): on a 2-core machine, decoding once and
sampling from RAM is far faster than a worker pool. A file that fails validation is skipped with
a warning naming it, so one corrupt recording never stops a training run.
"""

import dataclasses
import logging
from pathlib import Path
from typing import Dict, List, Optional, Sequence
import warnings

from jepa_ros.data.episode import Episode, EpisodeError, list_episodes, read_episode
import numpy as np

LOG = logging.getLogger(__name__)


class CorruptEpisodeWarning(UserWarning):
    """An episode file could not be read or validated and was skipped."""


def resize_frames(frames: np.ndarray, size: int) -> np.ndarray:
    """Resize (T, H, W, 3) uint8 frames to ``size`` x ``size`` (area filter when shrinking)."""
    if frames.shape[1] == size and frames.shape[2] == size:
        return frames
    import cv2
    interp = cv2.INTER_AREA if frames.shape[1] > size else cv2.INTER_LINEAR
    return np.stack([cv2.resize(f, (size, size), interpolation=interp) for f in frames])


def load_episodes(paths: Sequence, image_size: Optional[int] = None, min_steps: int = 2,
                  warn: bool = True) -> List[Episode]:
    """
    Read every episode in ``paths``; skip unreadable or too-short ones with a warning.

    ``image_size`` resizes frames once at load time so training never pays for it again.
    """
    episodes = []
    for p in paths:
        try:
            ep = read_episode(p)
        except EpisodeError as exc:
            if warn:
                warnings.warn(f'skipping corrupt episode: {exc}', CorruptEpisodeWarning,
                              stacklevel=2)
            LOG.warning('skipping corrupt episode: %s', exc)
            continue
        if ep.num_steps < min_steps:
            if warn:
                warnings.warn(f'skipping {p}: {ep.num_steps} steps < {min_steps} needed',
                              CorruptEpisodeWarning, stacklevel=2)
            continue
        if image_size:
            ep.frames = resize_frames(ep.frames, int(image_size))
            ep.extra_frames = [resize_frames(f, int(image_size)) for f in ep.extra_frames]
        ep.metadata['path'] = str(p)
        episodes.append(ep)
    return episodes


def split_views(episodes) -> List:
    """Return single-view episodes: one per camera view of each (multi-view) episode."""
    out = []
    for ep in episodes:
        for frames in ep.views():
            out.append(dataclasses.replace(ep, frames=frames, extra_frames=[]))
    return out


class ClipDataset:
    """
    Fixed-length clips (``clip_len`` frames, every ``frame_stride``-th frame) from episodes.

    ``__getitem__`` indexes every valid clip start (usable as a torch Dataset); ``sample`` draws
    a random batch from a numpy Generator whose state the trainers checkpoint, so a resumed run
    sees the same batches it would have seen.
    """

    def __init__(self, source, clip_len: int = 4, frame_stride: int = 1,
                 image_size: Optional[int] = None, paths: Optional[Sequence] = None):
        if clip_len < 1 or frame_stride < 1:
            raise ValueError('clip_len and frame_stride must be >= 1')
        self.clip_len = int(clip_len)
        self.frame_stride = int(frame_stride)
        span = (self.clip_len - 1) * self.frame_stride + 1
        if isinstance(source, (str, Path)) or paths is not None:
            files = list(paths) if paths is not None else list_episodes(source)
            self.episodes = load_episodes(files, image_size, min_steps=max(2, span))
            where = str(source)
        else:
            self.episodes = [e for e in source if e.num_steps >= span]
            where = 'the given episodes'
        if not self.episodes:
            raise EpisodeError(f'no usable episode with >= {span} steps in {where}')
        sizes = {e.image_size for e in self.episodes}
        if len(sizes) != 1:
            raise EpisodeError(f'episodes have different image sizes {sorted(sizes)}; '
                               'pass image_size to resize them to one')
        self.span = span
        starts = [np.arange(e.num_steps - span + 1) for e in self.episodes]
        self._index = np.concatenate([np.stack([np.full(len(s), i), s], 1)
                                      for i, s in enumerate(starts)]).astype(np.int64)

    def __len__(self) -> int:
        return len(self._index)

    @property
    def num_frames(self) -> int:
        """Return the total number of frames held."""
        return int(sum(e.num_steps for e in self.episodes))

    @property
    def image_size(self):
        """Return (height, width) of the frames."""
        return self.episodes[0].image_size

    def clip(self, ep_index: int, start: int) -> Dict[str, np.ndarray]:
        """
        Return one clip as numpy arrays.

        ``frames`` (T, H, W, 3) uint8, ``states`` (T, 7), ``actions`` (T-1, 7) (the summed
        per-step actions between the strided frames, so they stay state deltas).
        """
        ep = self.episodes[ep_index]
        idx = start + np.arange(self.clip_len) * self.frame_stride
        acts = np.add.reduceat(ep.actions[start:idx[-1]], np.arange(0, idx[-1] - start,
                                                                    self.frame_stride),
                               axis=0) if self.clip_len > 1 else np.zeros((0, 7), np.float32)
        return {'frames': ep.frames[idx], 'states': ep.states[idx].astype(np.float32),
                'actions': acts.astype(np.float32), 'timestamps': ep.timestamps[idx]}

    def __getitem__(self, i: int) -> Dict[str, np.ndarray]:
        e, s = self._index[int(i)]
        return self.clip(int(e), int(s))

    def sample(self, rng: np.random.Generator, batch_size: int) -> Dict[str, np.ndarray]:
        """Draw ``batch_size`` clips uniformly over all clip starts and stack them."""
        picks = rng.integers(0, len(self._index), size=int(batch_size))
        clips = [self[i] for i in picks]
        return {k: np.stack([c[k] for c in clips]) for k in clips[0]}

    def all_states_actions(self):
        """Return every (state, action) row of the held episodes, for normalisation."""
        states = np.concatenate([e.states for e in self.episodes]).astype(np.float64)
        actions = np.concatenate([e.actions for e in self.episodes]).astype(np.float64)
        return states, actions
