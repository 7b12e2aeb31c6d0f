# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
V-JEPA 2 video encoder: tubelet patch embedding, 3-D RoPE transformer, final LayerNorm.

Parameter names follow the official checkpoints (``patch_embed.proj``, ``blocks.i.*``, ``norm``)
so official weights load one-to-one.
"""

from jepa_ros.models.config import EncoderConfig
from jepa_ros.models.layers import Block, grid_positions, init_weights, rescale_blocks
from jepa_ros.models.layers import rope_tables
from torch import nn
import torch.nn.functional as F


class PatchEmbed3D(nn.Module):
    """Cut a video into ``tubelet x patch x patch`` cubes and project each to a token."""

    def __init__(self, patch_size, tubelet_size, in_chans, embed_dim):
        super().__init__()
        self.patch_size = patch_size
        self.tubelet_size = tubelet_size
        k = (tubelet_size, patch_size, patch_size)
        self.proj = nn.Conv3d(in_chans, embed_dim, kernel_size=k, stride=k)

    def forward(self, x):
        """Return tokens [B, T'*H'*W', D] in (t, h, w) raster order for a video [B,C,T,H,W]."""
        b, c, t, h, w = x.shape
        p, tt = self.patch_size, self.tubelet_size
        # A non-overlapping Conv3d is a matmul over flattened cubes; this is faster on CPU.
        x = x.reshape(b, c, t // tt, tt, h // p, p, w // p, p)
        x = x.permute(0, 2, 4, 6, 1, 3, 5, 7).reshape(b, (t // tt) * (h // p) * (w // p), -1)
        return F.linear(x, self.proj.weight.flatten(1), self.proj.bias)


class VJEPA2Encoder(nn.Module):
    """
    V-JEPA 2 encoder: ``encoder(video [B,3,T,H,W]) -> [B, (T // tubelet) * N, D]``.

    Any image size that is a multiple of the patch size works (RoPE has no fixed grid). Inputs are
    expected ImageNet-normalised, as for the official models.
    """

    def __init__(self, config: EncoderConfig = None):
        super().__init__()
        config = config or EncoderConfig()
        config.validate()
        self.config = config
        self.patch_embed = PatchEmbed3D(config.patch_size, config.tubelet_size, config.in_chans,
                                        config.embed_dim)
        self.blocks = nn.ModuleList([
            Block(config.embed_dim, config.num_heads, config.mlp_hidden_dim,
                  qkv_bias=config.qkv_bias, eps=config.norm_eps)
            for _ in range(config.depth)])
        self.norm = nn.LayerNorm(config.embed_dim, eps=config.norm_eps)
        self._rope_cache = {}
        init_weights(self)
        rescale_blocks(self.blocks)

    @property
    def embed_dim(self):
        """Token width D."""
        return self.config.embed_dim

    def num_patches(self, img_size=None):
        """Return the tokens per frame (N) for an image size (int or (H, W); default nominal)."""
        img_size = self.config.img_size if img_size is None else img_size
        h, w = (img_size, img_size) if isinstance(img_size, int) else img_size
        return (h // self.config.patch_size) * (w // self.config.patch_size)

    def _rope(self, t, h, w, device):
        key = (t, h, w, device)
        if key not in self._rope_cache:
            if len(self._rope_cache) > 16:
                self._rope_cache.clear()
            tp, hp, wp = grid_positions(t, h, w, device)
            self._rope_cache[key] = rope_tables(self.config.embed_dim // self.config.num_heads,
                                                tp, hp, wp)
        return self._rope_cache[key]

    def forward(self, video):
        """Encode a video [B, C, T, H, W] (or an image [B, C, H, W], see encode_image)."""
        if video.dim() == 4:
            return self.encode_image(video)
        if video.dim() != 5:
            raise ValueError(f'expected a video [B, C, T, H, W], got shape {tuple(video.shape)}')
        if not video.is_floating_point():
            raise ValueError(f'expected a float, ImageNet-normalised video, got {video.dtype}')
        video = video.to(self.patch_embed.proj.weight.dtype)
        b, c, t, h, w = video.shape
        cfg = self.config
        if c != cfg.in_chans:
            raise ValueError(f'expected {cfg.in_chans} channels, got {c} (shape [B, C, T, H, W])')
        if t % cfg.tubelet_size or t == 0:
            raise ValueError(f'{t} frames is not a positive multiple of the tubelet size '
                             f'{cfg.tubelet_size}; repeat frames to fill the last tubelet')
        if h % cfg.patch_size or w % cfg.patch_size:
            raise ValueError(f'image size {h}x{w} is not a multiple of the patch size '
                             f'{cfg.patch_size}')
        x = self.patch_embed(video)
        cos, sin = self._rope(t // cfg.tubelet_size, h // cfg.patch_size, w // cfg.patch_size,
                              x.device)
        for blk in self.blocks:
            x, _ = blk(x, cos, sin)
        return self.norm(x)

    def encode_image(self, img):
        """Encode images [B, C, H, W] -> [B, N, D] as one tubelet of repeated frames."""
        if img.dim() != 4:
            raise ValueError(f'expected images [B, C, H, W], got shape {tuple(img.shape)}')
        video = img.unsqueeze(2).expand(-1, -1, self.config.tubelet_size, -1, -1)
        return self.forward(video)

    def encode_frames(self, frames):
        """
        Encode every frame of a clip [B, C, T, H, W] on its own -> [B, T * N, D].

        This is how V-JEPA 2-AC builds its per-step latents (each frame repeated to a tubelet).
        """
        b, c, t, h, w = frames.shape
        flat = frames.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
        z = self.encode_image(flat)
        return z.reshape(b, t * z.shape[1], z.shape[2])
