# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
The compact world-model family: a JEPA trained end to end, a few numbers per frame and view.

Encoder: a small ViT over 8x8 patches whose K learned summary tokens (K=1: a CLS token) go
through a projector with BatchNorm1d (not LayerNorm: a per-sample norm would stop the
anti-collapse regulariser from shaping the batch) to ``latent_dim`` numbers each. Every camera
view goes through the same encoder; a frame is V*K latent tokens.

Predictor: a transformer over a short history of frames, causal in time (a frame's tokens see
their own and earlier frames), conditioned on each frame's action and end-effector state through
AdaLN-zero (every block starts as the identity, the readout at zero, so a fresh predictor
copies the last frame). ``forward`` returns, for every frame t, the predicted latents of frame
t+1. Facts from LeWorldModel (arXiv 2603.19312): CLS + BatchNorm projector, AdaLN-zero,
next-embedding MSE plus SIGReg, no EMA target and no stop-gradient; sizes here are ours, for
2 CPU cores.
"""

import dataclasses

from jepa_ros.models.config import CheckpointError
import torch
from torch import nn
import torch.nn.functional as F

FAMILY = 'compact'


@dataclasses.dataclass
class CompactConfig:
    """Architecture of a compact world model (stored in its config.json)."""

    img_size: int = 64
    patch_size: int = 8
    enc_dim: int = 128
    enc_depth: int = 4
    enc_heads: int = 4
    latent_dim: int = 64
    latent_tokens: int = 1       # summary tokens per view (1: CLS only)
    num_views: int = 1
    action_dim: int = 7
    state_dim: int = 7           # 0: conditioned on actions alone (an env's action box)
    pred_dim: int = 128
    pred_depth: int = 4
    pred_heads: int = 4
    max_frames: int = 8          # frames the predictor's time embedding covers
    mlp_ratio: float = 4.0

    def validate(self):
        """Raise CheckpointError for an architecture that cannot be built."""
        for name in ('img_size', 'patch_size', 'enc_dim', 'enc_depth', 'enc_heads',
                     'latent_dim', 'latent_tokens', 'num_views', 'action_dim',
                     'pred_dim', 'pred_depth', 'pred_heads', 'max_frames'):
            if int(getattr(self, name)) <= 0:
                raise CheckpointError(f'CompactConfig.{name} must be positive')
        if int(self.state_dim) < 0:
            raise CheckpointError('CompactConfig.state_dim must be >= 0 (0: no state input)')
        if self.img_size % self.patch_size:
            raise CheckpointError(f'CompactConfig: img_size {self.img_size} is not a multiple '
                                  f'of patch_size {self.patch_size}')
        for dim, heads in (('enc_dim', 'enc_heads'), ('pred_dim', 'pred_heads')):
            if getattr(self, dim) % getattr(self, heads):
                raise CheckpointError(f'CompactConfig.{dim} must be a multiple of {heads}')
        return self

    @property
    def tokens_per_frame(self) -> int:
        """Return the latent tokens of one observation (all views)."""
        return self.num_views * self.latent_tokens


class _Block(nn.Module):
    """
    Pre-norm transformer block; optional AdaLN-zero modulation and an attention mask.

    ``mod`` (the block's shift/scale/gate, from ``modulation``) is computed once per frame and
    broadcast over the frame's tokens by the caller. ``past`` (keys, values of earlier tokens)
    lets a rollout add one frame at a time: the new tokens attend to the cache and to each
    other, which is exactly what the causal mask allows them in a full pass.
    """

    def __init__(self, dim, heads, mlp_ratio, adaptive):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=not adaptive)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=not adaptive)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        self.ada = None
        if adaptive:  # shift, scale, gate for attention and MLP, from the condition
            self.ada = nn.Linear(dim, 6 * dim)
            nn.init.zeros_(self.ada.weight)
            nn.init.zeros_(self.ada.bias)

    def modulation(self, cond):
        """Return the six modulation tensors for conditions ``cond`` [..., dim]."""
        return self.ada(cond).chunk(6, dim=-1)

    def _attn(self, x, mask, past=None):
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.proj(y.transpose(1, 2).reshape(b, n, d)), (k, v)

    def forward(self, x, mod=None, mask=None, past=None):
        """Return the block's output and the keys/values of every token seen (for a cache)."""
        if self.ada is None:
            y, kv = self._attn(self.norm1(x), mask, past)
            x = x + y
            return x + self.mlp(self.norm2(x)), kv
        sh1, sc1, g1, sh2, sc2, g2 = mod
        y, kv = self._attn(self.norm1(x) * (1 + sc1) + sh1, mask, past)
        x = x + g1 * y
        return x + g2 * self.mlp(self.norm2(x) * (1 + sc2) + sh2), kv


class CompactEncoder(nn.Module):
    """Images [B, 3, H, W] (ImageNet-normalised) -> latents [B, K, latent_dim]."""

    def __init__(self, cfg: CompactConfig):
        super().__init__()
        self.config = cfg
        n = (cfg.img_size // cfg.patch_size) ** 2
        self.patch = nn.Conv2d(3, cfg.enc_dim, cfg.patch_size, cfg.patch_size)
        self.pos = nn.Parameter(torch.randn(1, n, cfg.enc_dim) * 0.02)
        self.summary = nn.Parameter(torch.randn(1, cfg.latent_tokens, cfg.enc_dim) * 0.02)
        self.blocks = nn.ModuleList(_Block(cfg.enc_dim, cfg.enc_heads, cfg.mlp_ratio, False)
                                    for _ in range(cfg.enc_depth))
        self.norm = nn.LayerNorm(cfg.enc_dim)
        hidden = 2 * cfg.enc_dim
        self.proj_in = nn.Linear(cfg.enc_dim, hidden)
        self.proj_bn = nn.BatchNorm1d(hidden)
        self.proj_out = nn.Linear(hidden, cfg.latent_dim)

    def forward(self, x):
        if x.shape[-1] != self.config.img_size or x.shape[-2] != self.config.img_size:
            raise ValueError(f'the compact encoder takes {self.config.img_size} px images, got '
                             f'{tuple(x.shape[-2:])}')
        p = self.patch(x).flatten(2).transpose(1, 2) + self.pos
        k = self.config.latent_tokens
        h = torch.cat([self.summary.expand(p.shape[0], -1, -1), p], dim=1)
        for blk in self.blocks:
            h, _ = blk(h)
        s = self.norm(h[:, :k]).reshape(-1, self.config.enc_dim)
        s = F.gelu(self.proj_bn(self.proj_in(s)))
        return self.proj_out(s).view(x.shape[0], k, self.config.latent_dim)


class CompactPredictor(nn.Module):
    """
    Latents [B, T, N, L], actions [B, T, A], states [B, T, S] -> next latents [B, T, N, L].

    Output t predicts frame t+1 from frames <= t and the actions/states <= t (``actions[:, t]``
    moves ``states[:, t]`` to the next state); the residual readout adds to frame t's latents.
    """

    def __init__(self, cfg: CompactConfig):
        super().__init__()
        self.config = cfg
        d, n = cfg.pred_dim, cfg.tokens_per_frame
        self.inp = nn.Linear(cfg.latent_dim, d)
        self.slot = nn.Parameter(torch.randn(1, 1, n, d) * 0.02)       # view / summary slot
        self.time = nn.Parameter(torch.randn(1, cfg.max_frames, 1, d) * 0.02)
        self.cond = nn.Sequential(nn.Linear(cfg.action_dim + cfg.state_dim, d), nn.SiLU(),
                                  nn.Linear(d, d))
        self.blocks = nn.ModuleList(_Block(d, cfg.pred_heads, cfg.mlp_ratio, True)
                                    for _ in range(cfg.pred_depth))
        self.norm = nn.LayerNorm(d)
        self.out = nn.Linear(d, cfg.latent_dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def _check(self, t, n):
        if t > self.config.max_frames:
            raise ValueError(f'the predictor covers at most {self.config.max_frames} frames, '
                             f'got {t}')
        if n != self.config.tokens_per_frame:
            raise ValueError(f'expected {self.config.tokens_per_frame} latent tokens per frame, '
                             f'got {n}')

    def _mods(self, actions, states, n):
        """
        Per-block modulations for frames [B, T], repeated for their n tokens: [B, T*n, d].

        ``n`` 1 leaves them at [B, T, d]: one frame's modulation then broadcasts over its
        tokens without a copy (the rollout step).
        """
        c = self.cond(torch.cat([actions, states], dim=-1))            # [B, T, d]
        mods = [blk.modulation(c) for blk in self.blocks]
        if n == 1:
            return mods
        return [[m.repeat_interleave(n, dim=1) for m in mod] for mod in mods]

    def forward(self, z, actions, states):
        """Predict frame t+1 for every frame t of ``z`` [B, T, N, L] in one causal pass."""
        b, t, n, _ = z.shape
        self._check(t, n)
        x = (self.inp(z) + self.slot + self.time[:, :t]).reshape(b, t * n, -1)
        frame = torch.arange(t, device=z.device).repeat_interleave(n)
        mask = frame[None, :] <= frame[:, None]          # query frame >= key frame
        for blk, mod in zip(self.blocks, self._mods(actions, states, n)):
            x, _ = blk(x, mod, mask)
        return z + self.out(self.norm(x)).view(b, t, n, -1)

    def step(self, z, action, state, cache=None):
        """
        Add one frame ``z`` [B, N, L] after the frames in ``cache``; return (next, cache).

        ``action`` / ``state`` [B, A] / [B, S] belong to that frame. ``cache`` (None for the
        first frame) holds every block's keys and values and the frame count; the result equals
        ``forward`` on all frames so far, last frame only.
        """
        b, n, _ = z.shape
        t = 0 if cache is None else cache['frames']
        self._check(t + 1, n)
        x = self.inp(z) + self.slot[:, 0] + self.time[:, t]
        mods = self._mods(action[:, None], state[:, None], 1)   # [B, 1, d]: broadcast
        kvs = []
        for i, (blk, mod) in enumerate(zip(self.blocks, mods)):
            x, kv = blk(x, mod, None, None if cache is None else cache['kv'][i])
            kvs.append(kv)
        return z + self.out(self.norm(x)), {'frames': t + 1, 'kv': kvs}


class CompactWorldModelNet(nn.Module):
    """Encoder and predictor of one compact world model, saved and loaded together."""

    def __init__(self, cfg: CompactConfig):
        super().__init__()
        self.config = cfg.validate()
        self.encoder = CompactEncoder(cfg)
        self.predictor = CompactPredictor(cfg)

    def encode(self, images):
        """Images [B, V, 3, H, W] -> latents [B, V * K, L] (views in order, K per view)."""
        b, v = images.shape[:2]
        if v != self.config.num_views:
            raise ValueError(f'the model takes {self.config.num_views} view(s), got {v}')
        z = self.encoder(images.flatten(0, 1))
        return z.view(b, v * self.config.latent_tokens, self.config.latent_dim)

    def rollout(self, z, actions, states, steps: int, predictor=None):
        """
        Imagine ``steps`` frames after the context ``z`` [B, T0, N, L]; return [B, steps, N, L].

        ``actions`` / ``states`` [B, T0 + steps - 1, *] cover the context frames and the
        imagined ones (the planner rolls the states forward). One frame at a time over a
        key/value cache, so each imagined step costs one frame's tokens; the context frames
        are put in the cache once. ``predictor`` runs the steps in place of ``self.predictor``
        (an int8 copy of it, CompactWorldModel's 'int8' precision).
        """
        step = (predictor or self.predictor).step
        t0 = z.shape[1]
        if t0 + steps - 1 > self.config.max_frames:
            raise ValueError(f'{t0} context frames + {steps} imagined exceed the '
                             f'{self.config.max_frames} frames the predictor covers')
        cache = None
        for t in range(t0 - 1):
            _, cache = step(z[:, t], actions[:, t], states[:, t], cache)
        frame, out = z[:, t0 - 1], []
        for i in range(steps):
            k = t0 - 1 + i
            frame, cache = step(frame, actions[:, k], states[:, k], cache)
            out.append(frame)
        return torch.stack(out, dim=1)
