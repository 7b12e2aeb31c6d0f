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


def _sign_vector(head_dim, dtype, device):
    """Return [-1, +1, -1, +1, ...]: the sign of the partner dim in the pairwise rotation."""
    sign = torch.ones(head_dim, dtype=dtype, device=device)
    sign[0::2] = -1.0
    return sign


def _swap_pairs(x):
    """Return ``x`` with the dims of every pair ``(2i, 2i+1)`` exchanged (one copy)."""
    return x.unflatten(-1, (-1, 2)).flip(-1).flatten(-2)


def rope_signed_tables(cos, sin, dtype=None):
    """
    Return ``(cos, signed_sin)`` ready for :func:`apply_rope_signed`, cast to ``dtype``.

    ``signed_sin`` is ``sin`` with its even dims negated, so a rotation is two fused passes
    (``x * cos + swap_pairs(x) * signed_sin``) instead of a negate, a stack and three passes.
    """
    dtype = cos.dtype if dtype is None else dtype
    signed = sin * _sign_vector(sin.shape[-1], sin.dtype, sin.device)
    return cos.to(dtype), signed.to(dtype)


def apply_rope_signed(x, cos, signed_sin, out=None):
    """Rotate ``x`` pairwise with tables from :func:`rope_signed_tables` (optionally into out)."""
    return torch.addcmul(x * cos, _swap_pairs(x), signed_sin, out=out)


def apply_rope(x, cos, sin):
    """Rotate ``x`` [..., N, head_dim] pairwise ``(2i, 2i+1)`` by the tables [N, head_dim]."""
    cos, signed = rope_signed_tables(cos, sin, x.dtype)
    return apply_rope_signed(x, cos, signed)


def apply_rope_halves(x, cos, signed_sin, out=None):
    """
    Rotate ``x`` whose pairs sit at ``(j, j + head_dim / 2)`` (see Attention.split_rope_pairs).

    Tables are the interleaved ones permuted the same way. Two contiguous half-width updates
    replace the pair swap: about 1.6x faster than :func:`apply_rope_signed` on CPU.
    """
    h = x.shape[-1] // 2
    out = torch.mul(x, cos, out=out)
    out[..., :h].addcmul_(x[..., h:], signed_sin[..., :h])
    out[..., h:].addcmul_(x[..., :h], signed_sin[..., h:])
    return out


def halves_permutation(head_dim, device=None):
    """Return the head-dim order that moves pair ``(2i, 2i+1)`` to ``(i, i + head_dim / 2)``."""
    return torch.cat([torch.arange(0, head_dim, 2, device=device),
                      torch.arange(1, head_dim, 2, device=device)])


def _token_major(table):
    """
    Reshape a rotary table broadcastable to [B, H, N, hd] to broadcast against [B, N, H, hd].

    Attention keeps q/k token-major (as the qkv projection lays them out), which saves the
    permute copies; the tables follow.
    """
    t = table.reshape((1,) * (4 - table.dim()) + tuple(table.shape))
    return t.transpose(1, 2)


class RopeTables:
    """
    Rotary tables of one token layout, prepared once per dtype and pair layout.

    Attention needs the tables token-major, cast to the activations' dtype, with the sign
    folded into sin, and (for ``Attention.split_rope_pairs``) permuted: done here once per
    (dtype, layout) instead of in every layer at every call. Pass it as ``cos`` (``sin`` None).
    """

    def __init__(self, cos, sin):
        self.cos, self.sin = cos, sin
        self._ready = {}

    def prepared(self, dtype, halves=False):
        """Return (cos, signed_sin) token-major tables for ``dtype`` and the pair layout."""
        key = (dtype, bool(halves))
        if key not in self._ready:
            cos, signed = rope_signed_tables(_token_major(self.cos), _token_major(self.sin),
                                             dtype)
            if halves:
                perm = halves_permutation(cos.shape[-1], cos.device)
                cos, signed = cos[..., perm], signed[..., perm]
            self._ready[key] = (cos.contiguous(), signed.contiguous())
        return self._ready[key]


def _onednn_linear_available():
    try:
        return bool(torch.backends.mkldnn.is_available() and
                    torch.ops.mkldnn._is_mkldnn_bf16_supported() and
                    hasattr(torch.ops.mkldnn, '_linear_pointwise'))
    except (AttributeError, RuntimeError):
        return False


_ONEDNN_LINEAR = _onednn_linear_available()


def fused_linear(x, linear, gelu=False):
    """
    Return ``linear(x)``, followed by an exact (erf) GELU when ``gelu`` is set.

    ``x`` is cast to the weight's dtype first (e.g. a float32 residual stream into bf16
    weights, see ``ACPredictor.keep_fp32_stream``).

    For bf16 inputs and weights on a CPU, outside autograd, the matmul runs in oneDNN with the
    bias fused into it (AMX where present), and the GELU runs in place: measured 1.4x faster than
    ``F.linear`` (which copies the bias into the output first) on the planner's shapes. oneDNN's
    own fused GELU was slower than the separate in-place pass, so it is not used.
    """
    w = linear.weight
    if x.dtype != w.dtype and x.is_floating_point():
        x = x.to(w.dtype)  # a float32 residual stream feeding low-precision weights
    no_grad = not (torch.is_grad_enabled() and (x.requires_grad or w.requires_grad))
    if (_ONEDNN_LINEAR and no_grad and x.dtype == torch.bfloat16 and
            w.dtype == torch.bfloat16 and x.device.type == 'cpu'):
        y = torch.ops.mkldnn._linear_pointwise(x, w, linear.bias, 'none', [], '')
    else:
        y = linear(x)
    if not gelu:
        return y
    return torch.ops.aten.gelu_(y) if no_grad else F.gelu(y)


class KVBuffer:
    """
    Pre-allocated keys and values of one attention layer, appended in place.

    Storage is token-major, [B, capacity, heads, head_dim], so appending a step writes one
    contiguous slab per row and attention reads a prefix view: no per-step concatenation copy.
    The storage is allocated on the first append (dtype of the new keys, e.g. bf16 under
    autocast); ``prefix`` (keys, values [B or 1, heads, L, head_dim]) is copied in then.
    """

    def __init__(self, batch_size, capacity, prefix=None):
        self.batch_size = int(batch_size)
        self.capacity = int(capacity)
        self.keys = None
        self.values = None
        self.length = 0
        self._prefix = prefix
        if prefix is not None and prefix[0].shape[2] > self.capacity:
            raise ValueError(f'a prefix of {prefix[0].shape[2]} tokens does not fit a buffer of '
                             f'{self.capacity} tokens')

    def reserve(self, n, like):
        """Return writable (keys, values) slots [B, n, heads, head_dim] for n new tokens."""
        b, _, heads, hd = like.shape
        if b != self.batch_size:
            raise ValueError(f'a batch of {b} cannot append to a key/value buffer of batch '
                             f'{self.batch_size}')
        if self.keys is None:
            shape = (self.batch_size, self.capacity, heads, hd)
            self.keys = torch.empty(shape, dtype=like.dtype, device=like.device)
            self.values = torch.empty(shape, dtype=like.dtype, device=like.device)
            if self._prefix is not None:
                pk, pv = self._prefix
                length = pk.shape[2]
                self.keys[:, :length].copy_(pk.transpose(1, 2))
                self.values[:, :length].copy_(pv.transpose(1, 2))
                self.length = length
            self._prefix = None
        if self.length + n > self.capacity:
            raise ValueError(f'key/value buffer overflow: {self.length} + {n} tokens exceed its '
                             f'capacity of {self.capacity}; allocate the cache for more steps')
        start = self.length
        self.length += n
        return self.keys[:, start:self.length], self.values[:, start:self.length]

    def filled(self):
        """Return views [B, heads, length, head_dim] of the keys and values written so far."""
        return (self.keys[:, :self.length].transpose(1, 2),
                self.values[:, :self.length].transpose(1, 2))


class Attention(nn.Module):
    """Multi-head self-attention with rotary embedding and an optional key/value prefix."""

    def __init__(self, dim, num_heads, qkv_bias=True):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.rope_halves = False

    @torch.no_grad()
    def split_rope_pairs(self):
        """
        Reorder the q/k projection rows so rotary pairs sit at ``(j, j + head_dim / 2)``.

        Attention scores are unchanged (q and k get the same permutation and v none), and the
        rotation gets cheaper. The keys this module returns and caches are then in the permuted
        order: use it on an inference copy (the planner's), not on weights you save or train.
        """
        if self.rope_halves:
            return self
        hd, heads = self.head_dim, self.num_heads
        perm = halves_permutation(hd, self.qkv.weight.device)
        rows = torch.arange(3 * heads * hd, device=perm.device).view(3, heads, hd)
        rows[:2] = rows[:2, :, perm]
        rows = rows.reshape(-1)
        self.qkv.weight.copy_(self.qkv.weight[rows])
        if self.qkv.bias is not None:
            self.qkv.bias.copy_(self.qkv.bias[rows])
        self.rope_halves = True
        return self

    def forward(self, x, cos, sin, attn_mask=None, past=None):
        """
        Attend from ``x`` [B, N, C] to ``past`` keys/values (if any) and to ``x`` itself.

        ``cos``/``sin`` are the rotary tables, or ``cos`` a :class:`RopeTables` (``sin``
        None). ``past`` is None, a (keys, values) pair [B or 1, H, L, hd] (concatenated with
        the new ones) or a :class:`KVBuffer` (the new keys/values are written into it in place).
        Returns the output [B, N, C] and the (rotated) keys and values [B, H, L, hd] seen.
        """
        b, n, c = x.shape
        qkv = fused_linear(x, self.qkv).view(b, n, 3, self.num_heads, self.head_dim)
        q_in, k_in, v = qkv.unbind(2)  # token-major [B, N, H, hd] views
        if not isinstance(cos, RopeTables):
            cos = RopeTables(cos, sin)
        cos, signed = cos.prepared(qkv.dtype, self.rope_halves)
        rope = apply_rope_halves if self.rope_halves else apply_rope_signed
        q = rope(q_in, cos, signed)
        if isinstance(past, KVBuffer):
            k_slot, v_slot = past.reserve(n, k_in)
            rope(k_in, cos, signed, out=k_slot)
            v_slot.copy_(v)
            k, v = past.filled()
        else:
            k = rope(k_in, cos, signed).transpose(1, 2)
            v = v.transpose(1, 2)
            if past is not None:
                pk, pv = past
                if pk.shape[0] != b:
                    pk, pv = pk.expand(b, -1, -1, -1), pv.expand(b, -1, -1, -1)
                k = torch.cat([pk.to(k.dtype), k], dim=2)
                v = torch.cat([pv.to(v.dtype), v], dim=2)
        y = F.scaled_dot_product_attention(q.transpose(1, 2), k, v, attn_mask=attn_mask)
        y = y.transpose(1, 2).reshape(b, n, c)
        return fused_linear(y, self.proj), (k, v)


class MLP(nn.Module):
    """Two-layer GELU MLP."""

    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        """Apply the MLP (fused matmul + GELU where possible, see fused_linear)."""
        if isinstance(self.act, nn.GELU) and self.act.approximate == 'none':
            h = fused_linear(x, self.fc1, gelu=True)
        else:
            h = self.act(self.fc1(x))
        return fused_linear(h, self.fc2)


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
        y = self.mlp(self.norm2(x))
        if (torch.is_grad_enabled() and (x.requires_grad or y.requires_grad)) or \
                torch.promote_types(x.dtype, y.dtype) != x.dtype:
            return x + y, kv
        return x.add_(y), kv  # x is our own tensor here: add the MLP branch in place


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
