# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Clips of raw frames (every view), actions and states, for training an encoder end to end.

The AC trainer caches frozen-encoder tokens; an end-to-end model must see pixels at every step,
so this keeps the uint8 frames in RAM (400 episodes x 41 frames x 2 views at 64 px: ~400 MB)
and cuts clips of ``clip_len`` frames with the ``clip_len - 1`` actions between them.
"""

from typing import List, Sequence

from jepa_ros.training.common import imagenet_normalize
from jepa_ros.training.normalization import normalize
import numpy as np
import torch


class FrameClips:
    """Index of every clip start; ``get`` returns normalised tensors for a list of clips."""

    def __init__(self, episodes, views: Sequence[int], clip_len: int, frame_stride: int = 1,
                 use_states: bool = True):
        self.episodes = list(episodes)
        self.use_states = bool(use_states)  # False: states come back with size 0
        self.views = list(views)
        self.clip_len = int(clip_len)
        self.stride = int(frame_stride)
        span = (self.clip_len - 1) * self.stride
        self.frames = [np.stack([ep.views()[v] for v in self.views], axis=1)  # [T, V, H, W, 3]
                       for ep in self.episodes]
        self.index: List[tuple] = [(e, t) for e, ep in enumerate(self.episodes)
                                   for t in range(ep.num_steps - span)]
        if not self.index:
            raise ValueError(f'no episode is long enough for clips of {self.clip_len} frames '
                             f'(stride {self.stride})')

    def __len__(self):
        return len(self.index)

    def fixed(self, n: int, seed: int = 0) -> np.ndarray:
        """Return ``n`` clip indices drawn once (a validation set that stays the same)."""
        rng = np.random.default_rng(seed)
        return rng.choice(len(self.index), size=min(int(n), len(self.index)), replace=False)

    def sample(self, rng, batch: int, norm, device, raw: bool = False):
        """Return a random batch (see ``get``)."""
        return self.get(rng.integers(0, len(self.index), size=batch), norm, device, raw)

    def get(self, idx, norm, device, raw: bool = False):
        """
        Return ``(images [B, T, V, 3, H, W], actions [B, T-1, A], states [B, T-1, S])``.

        Images are ImageNet-normalised floats (``raw``: 0..1, for augmentation first);
        actions (the sum of the strided steps) and states are normalised with ``norm``; states
        are those before each action.
        """
        imgs, acts, sts = [], [], []
        for i in idx:
            e, t = self.index[int(i)]
            ep = self.episodes[e]
            ts = t + self.stride * np.arange(self.clip_len)
            imgs.append(self.frames[e][ts])
            cums = np.concatenate([np.zeros((1, ep.actions.shape[1])),
                                   np.cumsum(ep.actions, axis=0)])
            acts.append(cums[ts[1:]] - cums[ts[:-1]])
            st = ep.states[ts[:-1]]
            sts.append(st if self.use_states else st[:, :0])
        x = torch.from_numpy(np.stack(imgs)).to(device)
        x = x.permute(0, 1, 2, 5, 3, 4).float().div_(255.0)
        a = normalize(np.stack(acts), norm['action_mean'], norm['action_std'])
        s = normalize(np.stack(sts), norm['state_mean'], norm['state_std'])
        return (x if raw else imagenet_normalize(x),
                torch.as_tensor(a, dtype=torch.float32, device=device),
                torch.as_tensor(s, dtype=torch.float32, device=device))
