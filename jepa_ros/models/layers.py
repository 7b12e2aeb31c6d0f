# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Transformer building blocks shared by the encoder and the predictor.

Rotary position embedding follows the official V-JEPA 2 layout, quirks included, because the
released weights were trained with it:

- each head is split into three equal even segments of ``2 * ((head_dim // 3) // 2)`` dims for
  time, height and width; the dims left over are not rotated;
- inside a segment of ``d`` dims the frequencies are ``10000 ** (-j / (d / 2))`` for
  ``j < d / 2``, and they are *tiled* (``[f0..f(d/2-1), f0..f(d/2-1)]``) over the segment while
  the rotation pairs neighbouring dims ``(2i, 2i+1)``, so the two dims of a pair turn at different
  rates (upstream keeps this for compatibility);
- conditioning tokens of the AC predictor (action, state, extrinsics) rotate only the time segment.
"""

import torch
from torch import nn
import torch.nn.functional as F


def rope_segment_dim(head_dim):
    """Return the number of dims rotated per axis (time, height, width)."""
    return 2 * ((head_dim // 3) // 2)


def _segment_angles(pos, seg):
    """Return the angles [N, seg] of one segment for float positions ``pos`` [N]."""
    half = seg // 2
    omega = 1.0 / (10000.0 ** (torch.arange(half, dtype=torch.float32, device=pos.device) / half))
    angles = pos[:, None] * omega[None, :]
    return torch.cat([angles, angles], dim=-1)


def rope_tables(head_dim, t_pos, h_pos=None, w_pos=None):
    """
    Return (cos, sin) tables [N, head_dim] in float32 for tokens at the given positions.

    ``t_pos``, ``h_pos`` and ``w_pos`` are float tensors [N]; ``h_pos`` / ``w_pos`` None means the
    token carries time only (the predictor's conditioning tokens): its height and width segments
    stay unrotated.
    """
    seg = rope_segment_dim(head_dim)
    n = t_pos.shape[0]
    zeros = torch.zeros(n, seg, dtype=torch.float32, device=t_pos.device)
    parts = [_segment_angles(t_pos, seg) if seg else zeros]
    for pos in (h_pos, w_pos):
        parts.append(_segment_angles(pos, seg) if (pos is not None and seg) else zeros)
    rest = head_dim - 3 * seg
    parts.append(torch.zeros(n, rest, dtype=torch.float32, device=t_pos.device))
    angles = torch.cat(parts, dim=-1)
    return angles.cos(), angles.sin()


def grid_positions(steps, grid_h, grid_w, device, t0=0):
    """Return float (t, h, w) positions [steps * grid_h * grid_w] in (t, h, w) raster order."""
    t = torch.arange(t0, t0 + steps, dtype=torch.float32, device=device)
    h = torch.arange(grid_h, dtype=torch.float32, device=device)
    w = torch.arange(grid_w, dtype=torch.float32, device=device)
    tt, hh, ww = torch.meshgrid(t, h, w, indexing='ij')
    return tt.reshape(-1), hh.reshape(-1), ww.reshape(-1)


def apply_rope(x, cos, sin):
    """Rotate ``x`` [..., N, head_dim] pairwise ``(2i, 2i+1)`` by the tables [N, head_dim]."""
    pairs = x.unflatten(-1, (-1, 2))
    swapped = torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).flatten(-2)
    return x * cos.to(x.dtype) + swapped * sin.to(x.dtype)


class Attention(nn.Module):
    """Multi-head self-attention with rotary embedding and an optional key/value prefix."""

    def __init__(self, dim, num_heads, qkv_bias=True):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, cos, sin, attn_mask=None, past=None):
        """
        Attend from ``x`` [B, N, C] to ``past`` keys/values (if any) and to ``x`` itself.

        Returns the output [B, N, C] and the (rotated) keys and values [B, H, L, hd] seen.
        """
        b, n, c = x.shape
        qkv = self.qkv(x).view(b, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        q = apply_rope(q, cos, sin)
        k = apply_rope(k, cos, sin)
        if past is not None:
            pk, pv = past
            if pk.shape[0] != b:
                pk, pv = pk.expand(b, -1, -1, -1), pv.expand(b, -1, -1, -1)
            k = torch.cat([pk.to(k.dtype), k], dim=2)
            v = torch.cat([pv.to(v.dtype), v], dim=2)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        y = y.transpose(1, 2).reshape(b, n, c)
        return self.proj(y), (k, v)


class MLP(nn.Module):
    """Two-layer GELU MLP."""

    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        """Apply the MLP."""
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block (LayerNorm -> attention, LayerNorm -> MLP, residuals)."""

    def __init__(self, dim, num_heads, mlp_hidden, qkv_bias=True, eps=1e-6):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, num_heads, qkv_bias=qkv_bias)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = MLP(dim, mlp_hidden)

    def forward(self, x, cos, sin, attn_mask=None, past=None):
        """Return the block output and the keys/values its attention saw."""
        y, kv = self.attn(self.norm1(x), cos, sin, attn_mask=attn_mask, past=past)
        x = x + y
        x = x + self.mlp(self.norm2(x))
        return x, kv


def init_weights(module, std=0.02):
    """Initialise like upstream: truncated-normal linear/conv weights, zero biases, unit norms."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv3d)):
            nn.init.trunc_normal_(m.weight, std=std, a=-2 * std, b=2 * std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def rescale_blocks(blocks):
    """Scale residual output projections by 1/sqrt(2 * layer), as upstream does at init."""
    with torch.no_grad():
        for i, blk in enumerate(blocks, start=1):
            blk.attn.proj.weight.div_((2.0 * i) ** 0.5)
            blk.mlp.fc2.weight.div_((2.0 * i) ** 0.5)
