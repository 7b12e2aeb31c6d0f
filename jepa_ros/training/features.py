# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Frozen-encoder features of every frame, computed once and sampled as clips.

The AC predictor trains on a frozen encoder, so encoding each frame once (instead of once per
batch) removes the encoder from the training loop entirely, which is most of the cost on a CPU.
"""

from pathlib import Path
from typing import List, Optional

from jepa_ros.training.common import frames_to_video
from jepa_ros.training.losses import layer_norm_tokens
import numpy as np
import torch


def load_encoder(spec: str, image_size: int, device='cpu'):
    """
    Return a frozen encoder from ``spec``.

    ``spec`` is a jepa_ros model folder (e.g. ``runs/pretrain/model``), an official V-JEPA 2
    ``.pt`` file, or ``preset:NAME`` for a randomly initialised encoder of that preset (a
    baseline the probe found not much worse than a collapsed pretrained one).
    """
    from jepa_ros.models import encoder_preset, load_model, load_vjepa2, VJEPA2Encoder
    if spec.startswith('preset:'):
        torch.manual_seed(0)
        enc = VJEPA2Encoder(encoder_preset(spec.split(':', 1)[1], img_size=image_size))
    elif spec.endswith('.pt') or spec.endswith('.pth'):
        enc, _ = load_vjepa2(spec, img_size=image_size, device=device)
    else:
        if not Path(spec).exists():
            raise FileNotFoundError(f'encoder {spec!r} not found: pass a model folder from '
                                    '`jepa-ros pretrain` (OUT/model), an official .pt, or '
                                    'preset:tiny')
        enc, _, _ = load_model(spec, device=device)
        if enc is None:
            raise ValueError(f'{spec} holds no encoder')
    return enc.to(device).eval().requires_grad_(False)


@torch.no_grad()
def encode_episode_frames(encoder, frames: np.ndarray, device='cpu', batch_size: int = 64,
                          dtype=torch.float16) -> torch.Tensor:
    """Encode uint8 frames (T, H, W, 3) one by one -> layer-normed tokens [T, N, D]."""
    out = []
    for i in range(0, len(frames), batch_size):
        video = frames_to_video(frames[None, i:i + batch_size], device)[0]   # [3, t, H, W]
        z = encoder.encode_image(video.permute(1, 0, 2, 3))
        out.append(layer_norm_tokens(z.float()).to('cpu', dtype))
    return torch.cat(out)


class FeatureClips:
    """
    Clips of (tokens, actions, states) over precomputed per-frame tokens.

    ``tokens[e]`` [T_e, N, D] for episode ``e`` of ``episodes``; a clip is ``clip_len`` frames
    ``frame_stride`` apart, with the summed actions between them.
    """

    def __init__(self, episodes, tokens: List[torch.Tensor], clip_len: int,
                 frame_stride: int = 1):
        self.episodes = episodes
        self.tokens = tokens
        self.clip_len = clip_len
        self.stride = frame_stride
        span = (clip_len - 1) * frame_stride + 1
        idx = [(e, s) for e, ep in enumerate(episodes) for s in range(ep.num_steps - span + 1)]
        if not idx:
            raise ValueError(f'no episode is long enough for clips of {span} frames')
        self.index = np.asarray(idx, dtype=np.int64)

    def __len__(self):
        return len(self.index)

    def get(self, picks, norm=None, device='cpu'):
        """Return tokens [B, T*N, D] float32, actions [B, T-1, 7], states [B, T, 7]."""
        zs, acts, sts = [], [], []
        for e, s in self.index[picks]:
            ep = self.episodes[e]
            idx = s + np.arange(self.clip_len) * self.stride
            zs.append(self.tokens[e][idx].reshape(-1, self.tokens[e].shape[-1]))
            a = np.add.reduceat(ep.actions[s:idx[-1]], np.arange(0, idx[-1] - s, self.stride), 0)
            acts.append(a)
            sts.append(ep.states[idx])
        z = torch.stack(zs).to(device, torch.float32)
        a = torch.as_tensor(np.stack(acts), dtype=torch.float32, device=device)
        s = torch.as_tensor(np.stack(sts), dtype=torch.float32, device=device)
        if norm is not None:
            from jepa_ros.training.normalization import normalize
            a = normalize(a, norm['action_mean'], norm['action_std'])
            s = normalize(s, norm['state_mean'], norm['state_std'])
        return z, a, s

    def sample(self, rng: np.random.Generator, batch_size: int, norm=None, device='cpu'):
        """Draw a random batch (see ``get``)."""
        return self.get(rng.integers(0, len(self.index), size=batch_size), norm, device)

    def fixed(self, count: int, seed: int = 0) -> Optional[np.ndarray]:
        """Return a reproducible set of clip indices (for validation)."""
        rng = np.random.default_rng(seed)
        return rng.choice(len(self.index), size=min(count, len(self.index)), replace=False)
