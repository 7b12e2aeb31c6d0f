# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
The V-JEPA pretraining predictor: fills masked space-time tokens in latent space.

A narrow transformer reads the context encoder's tokens plus one learned mask token per target
position (each tagged with a fixed 3-D sin-cos position code of its (t, h, w) cell) and regresses
the target encoder's features at the masked positions. It is only used for pretraining; the
action-conditioned predictor is a separate model.
"""

import math
from typing import Tuple

from jepa_ros.training.masking import gather_tokens
import torch
from torch import nn


def sincos_3d(grid: Tuple[int, int, int], dim: int) -> torch.Tensor:
    """Return fixed sin-cos position codes [T*H*W, dim] for a (T, H, W) grid, time-major."""
    t, h, w = grid
    parts = [dim // 3 // 2 * 2] * 3
    parts[0] += dim - sum(parts)
    coords = torch.stack(torch.meshgrid(torch.arange(t), torch.arange(h), torch.arange(w),
                                        indexing='ij'), -1).reshape(-1, 3).float()
    out = []
    for axis, d in enumerate(parts):
        half = d // 2
        freq = torch.exp(-math.log(10000.0) * torch.arange(half).float() / max(1, half))
        ang = coords[:, axis:axis + 1] * freq[None]
        code = torch.cat([ang.sin(), ang.cos()], 1)
        if code.shape[1] < d:
            code = torch.cat([code, torch.zeros(code.shape[0], d - code.shape[1])], 1)
        out.append(code)
    return torch.cat(out, 1)


class MaskPredictor(nn.Module):
    """Predict target-encoder tokens at ``target_idx`` from context tokens at ``context_idx``."""

    def __init__(self, embed_dim: int, grid: Tuple[int, int, int], pred_dim: int = 128,
                 depth: int = 4, num_heads: int = 4, mlp_ratio: float = 4.0):
        super().__init__()
        if pred_dim % num_heads:
            raise ValueError(f'pred_dim {pred_dim} must be divisible by num_heads {num_heads}')
        self.grid = tuple(int(g) for g in grid)
        self.embed = nn.Linear(embed_dim, pred_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, pred_dim))
        nn.init.trunc_normal_(self.mask_token, std=0.02)
        self.register_buffer('pos', sincos_3d(self.grid, pred_dim), persistent=False)
        layer = nn.TransformerEncoderLayer(pred_dim, num_heads, int(pred_dim * mlp_ratio),
                                           dropout=0.0, activation='gelu', batch_first=True,
                                           norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(pred_dim)
        self.proj = nn.Linear(pred_dim, embed_dim)

    def forward(self, z_ctx: torch.Tensor, context_idx: torch.Tensor,
                target_idx: torch.Tensor) -> torch.Tensor:
        """Return predictions [B, Kt, D] for the target positions."""
        b = z_ctx.shape[0]
        pos = self.pos.unsqueeze(0).expand(b, -1, -1)
        x = self.embed(z_ctx) + gather_tokens(pos, context_idx)
        m = self.mask_token.expand(b, target_idx.shape[1], -1) + gather_tokens(pos, target_idx)
        x = self.blocks(torch.cat([x, m], 1))
        return self.proj(self.norm(x[:, z_ctx.shape[1]:]))
