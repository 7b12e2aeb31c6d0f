# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
V-JEPA 2-AC action-conditioned predictor, with an incremental (key/value cached) mode.

Every time step contributes ``[action, state, (extrinsics,) patch_1..patch_N]`` tokens; attention
is block-causal over steps (a step sees itself and the past), so the output at step t, which
predicts the patches of step t+1, never depends on later actions. That same property lets a
planner compute the known context once (``prefill``) and then pay only for each new imagined step
(``step``), for a whole batch of candidate action sequences at once.

Parameter names follow the official checkpoints (``predictor_embed``, ``action_encoder``,
``state_encoder``, ``extrinsics_encoder``, ``predictor_blocks``, ``predictor_norm``,
``predictor_proj``).
"""

from dataclasses import dataclass, field
from typing import List, Optional

from jepa_ros.models.config import PredictorConfig
from jepa_ros.models.layers import Block, fused_linear, grid_positions, init_weights
from jepa_ros.models.layers import KVBuffer, rescale_blocks, rope_tables, RopeTables
import torch
from torch import nn


@dataclass
class PredictorCache:
    """
    Keys and values of every predictor layer for the steps computed so far.

    Immutable in practice: ``step`` returns a new cache, so one prefix can feed many rollouts.
    ``keys[i]`` / ``values[i]`` are [B or 1, heads, steps * tokens_per_step, head_dim], or None
    while no step is cached.

    ``max_steps`` > 0 pre-allocates room for that many steps (prefix included) and appends each
    new step in place instead of concatenating (see ``ACPredictor.empty_cache``); stepping twice
    from the same cache still works (the second branch copies its prefix into fresh storage).
    """

    keys: List[Optional[torch.Tensor]]
    values: List[Optional[torch.Tensor]]
    steps: int
    batch_size: int
    max_steps: int = 0
    buffers: Optional[List[KVBuffer]] = field(default=None, repr=False, compare=False)

    def expand(self, batch_size: int) -> 'PredictorCache':
        """Broadcast a batch-1 cache to ``batch_size`` candidates (a view, no copy)."""
        if batch_size == self.batch_size:
            return self
        if self.batch_size != 1:
            raise ValueError(f'cannot expand a cache of batch {self.batch_size} to {batch_size}; '
                             'only a batch-1 cache can be broadcast')

        def grow(t):
            return None if t is None else t.expand(batch_size, -1, -1, -1)
        return PredictorCache([grow(k) for k in self.keys], [grow(v) for v in self.values],
                              self.steps, batch_size, self.max_steps)

    def select(self, index) -> 'PredictorCache':
        """Keep the batch rows ``index`` (a LongTensor or list), e.g. the best candidates."""
        index = torch.as_tensor(index, dtype=torch.long)

        def pick(t):
            if t is None:
                return None
            if t.shape[0] == 1:
                return t.expand(len(index), -1, -1, -1)
            return t.index_select(0, index.to(t.device))
        return PredictorCache([pick(k) for k in self.keys], [pick(v) for v in self.values],
                              self.steps, len(index), self.max_steps)

    def with_capacity(self, max_steps: int) -> 'PredictorCache':
        """
        Return this cache set to append in place up to ``max_steps`` steps (prefix included).

        The prefix is copied once into the new storage at the next step (0: concatenate).
        """
        if max_steps and max_steps < self.steps:
            raise ValueError(f'max_steps={max_steps} is less than the {self.steps} steps '
                             'already cached')
        return PredictorCache(list(self.keys), list(self.values), self.steps, self.batch_size,
                              int(max_steps))


class ACPredictor(nn.Module):
    """
    V-JEPA 2-AC predictor: ``pred(z [B,T*N,D], actions [B,T,7], states [B,T,7]) -> [B,T*N,D]``.

    The output at step t predicts the encoder tokens of step t+1. Batch-1 inputs broadcast
    against larger batches (one context, many candidate action sequences).
    """

    def __init__(self, config: PredictorConfig = None):
        super().__init__()
        config = config or PredictorConfig()
        config.validate()
        self.config = config
        e = config.embed_dim
        self.predictor_embed = nn.Linear(config.encoder_dim, e)
        self.action_encoder = nn.Linear(config.action_dim, e)
        self.state_encoder = nn.Linear(config.state_dim, e)
        # Present in every official checkpoint, used only when config.use_extrinsics is set.
        self.extrinsics_encoder = nn.Linear(config.extrinsics_dim, e)
        self.predictor_blocks = nn.ModuleList([
            Block(e, config.num_heads, config.mlp_hidden_dim, qkv_bias=config.qkv_bias,
                  eps=config.norm_eps)
            for _ in range(config.depth)])
        if config.num_views > 1:
            # Tells the views apart (their rotary positions are the same grid).
            self.view_embed = nn.Parameter(torch.zeros(config.num_views, e))
        self.predictor_norm = nn.LayerNorm(e, eps=config.norm_eps)
        self.predictor_proj = nn.Linear(e, config.encoder_dim)
        self._rope_cache = {}
        self.keep_fp32_stream = False
        init_weights(self)
        if config.num_views > 1:
            nn.init.trunc_normal_(self.view_embed, std=0.02)
        rescale_blocks(self.predictor_blocks)
        if config.residual:
            # start as the identity on the tokens: the copy-last-frame prediction
            nn.init.zeros_(self.predictor_proj.weight)
            nn.init.zeros_(self.predictor_proj.bias)

    @property
    def stream_dtype(self):
        """
        Return the dtype of the residual stream between blocks.

        The weights' dtype, or float32 when ``keep_fp32_stream`` is set on a low-precision copy:
        every matmul then still runs in the weights' dtype (its input is cast), but the
        residual sums, and the LayerNorms reading them, keep float32 accuracy.
        """
        if self.keep_fp32_stream:
            return torch.float32
        return self.predictor_embed.weight.dtype

    @property
    def tokens_per_frame(self):
        """Patch tokens per step (N)."""
        return self.config.tokens_per_frame

    # -- helpers -------------------------------------------------------------------------------
    def _rope(self, t0, steps, device):
        """
        Return the rotary tables of steps t0 .. t0 + steps - 1 (``RopeTables``).

        Built once per (t0, steps, device), and prepared once per dtype and pair layout, then
        shared by every layer and every call (a planner's rollouts repeat the same steps).
        """
        key = (t0, steps, device)
        if key not in self._rope_cache:
            if len(self._rope_cache) > 64:
                self._rope_cache.clear()
            cfg = self.config
            g = cfg.grid_size
            hd = cfg.embed_dim // cfg.num_heads
            c = cfg.cond_tokens
            t_cond = torch.arange(t0, t0 + steps, dtype=torch.float32, device=device)
            t_cond = t_cond.repeat_interleave(c)
            cos_c, sin_c = rope_tables(hd, t_cond)
            tp, hp, wp = grid_positions(steps, g, g, device, t0=t0)
            cos_p, sin_p = rope_tables(hd, tp, hp, wp)
            n = g * g
            v = cfg.num_views
            if v > 1:  # every view repeats the same grid positions (view-major per step)
                cos_p = cos_p.view(steps, 1, n, hd).expand(steps, v, n, hd)
                sin_p = sin_p.view(steps, 1, n, hd).expand(steps, v, n, hd)
                n = v * n
            cos = torch.cat([cos_c.view(steps, c, hd), cos_p.reshape(steps, n, hd)], 1)
            sin = torch.cat([sin_c.view(steps, c, hd), sin_p.reshape(steps, n, hd)], 1)
            self._rope_cache[key] = RopeTables(cos.reshape(-1, hd), sin.reshape(-1, hd))
        return self._rope_cache[key]

    def _mask(self, steps, past_len, device):
        """Return the block-causal boolean mask (True = may attend) or None when not needed."""
        if steps == 1:
            return None
        per = self.config.cond_tokens + self.config.tokens_per_frame
        sid = torch.arange(steps, device=device).repeat_interleave(per)
        mask = sid[:, None] >= sid[None, :]
        if past_len:
            mask = torch.cat([mask.new_ones(mask.shape[0], past_len), mask], dim=1)
        return mask

    def _check_inputs(self, z, actions, states, extrinsics, steps=None):
        """Validate shapes and broadcast batch-1 inputs; return them as [B, T, ...] tensors."""
        cfg = self.config
        n = cfg.tokens_per_frame
        if z.dim() != 3 or z.shape[-1] != cfg.encoder_dim:
            raise ValueError(f'z must be [B, T*N, {cfg.encoder_dim}], got {tuple(z.shape)}')
        if z.shape[1] % n:
            raise ValueError(f'z has {z.shape[1]} tokens, not a multiple of N={n} tokens per '
                             f'frame ({cfg.num_views} view(s) of {cfg.img_size} px / patch '
                             f'{cfg.patch_size}); the predictor grid and view count must match '
                             'the encoder input size and the number of cameras')
        t = z.shape[1] // n
        if steps is not None and t != steps:
            raise ValueError(f'z holds {t} frames of {n} tokens, expected {steps}')
        named = [('actions', actions, cfg.action_dim), ('states', states, cfg.state_dim)]
        if cfg.use_extrinsics:
            if extrinsics is None:
                raise ValueError('this predictor uses an extrinsics token: pass extrinsics '
                                 f'[B, T, {cfg.extrinsics_dim}]')
            named.append(('extrinsics', extrinsics, cfg.extrinsics_dim))
        elif extrinsics is not None:
            raise ValueError('extrinsics given but the predictor was built without an extrinsics '
                             'token (PredictorConfig.use_extrinsics=False)')
        for name, x, dim in named:
            if x.dim() != 3 or x.shape[1] != t or x.shape[2] != dim:
                raise ValueError(f'{name} must be [B, {t}, {dim}] to match z ({t} frames), '
                                 f'got {tuple(x.shape)}')
        tensors = [z] + [x for _, x, _ in named]
        b = max(x.shape[0] for x in tensors)
        for x in tensors:
            if x.shape[0] not in (1, b):
                raise ValueError(f'batch sizes {[y.shape[0] for y in tensors]} do not broadcast')
        dtype = self.stream_dtype  # e.g. float64 actions from numpy
        out = [x.to(dtype).expand(b, *x.shape[1:]) for x in tensors[1:]]
        # z keeps its own batch: a frame shared by all candidates (batch 1, or broadcast with
        # a zero batch stride) is embedded once, see _tokens.
        if z.shape[0] > 1 and z.stride(0) == 0:
            z = z[:1]
        z = z.to(dtype).reshape(z.shape[0], t, n, cfg.encoder_dim)
        return z, out[0], out[1], (out[2] if cfg.use_extrinsics else None), b, t

    def _tokens(self, z, actions, states, extrinsics):
        """Embed and interleave per step: [B, T, C + N, E] -> flattened [B, T * (C + N), E]."""
        b = actions.shape[0]
        parts = [fused_linear(actions, self.action_encoder).unsqueeze(2),
                 fused_linear(states, self.state_encoder).unsqueeze(2)]
        if extrinsics is not None:
            parts.append(fused_linear(extrinsics, self.extrinsics_encoder).unsqueeze(2))
        x = fused_linear(z, self.predictor_embed).to(self.stream_dtype)
        if self.config.num_views > 1:
            t, n = x.shape[1], self.config.tokens_per_view
            x = (x.view(x.shape[0], t, self.config.num_views, n, -1)
                 + self.view_embed.to(x.dtype)[:, None, :]).flatten(2, 3)
        parts.append(x.expand(b, *x.shape[1:]))
        x = torch.cat([p.to(x.dtype) for p in parts], dim=2)
        return x.flatten(1, 2)

    def _run(self, x, t0, steps, past=None, past_len=0, collect=True):
        """
        Run the blocks over ``steps`` new steps starting at step ``t0``.

        ``past`` holds one entry per layer (None, a (keys, values) pair or a KVBuffer) covering
        ``past_len`` tokens. Returns x and, when ``collect`` is set, every layer's keys/values
        (past included).
        """
        rope = self._rope(t0, steps, x.device)
        mask = self._mask(steps, past_len, x.device)
        kvs = []
        for i, blk in enumerate(self.predictor_blocks):
            x, kv = blk(x, rope, None, attn_mask=mask, past=None if past is None else past[i])
            if collect:
                kvs.append(kv)
        return x, kvs

    def _readout(self, x, b, steps, z):
        """
        Keep the patch tokens, normalise and project back to the encoder width.

        With ``config.residual`` the projection is a change added to the input tokens ``z``
        ([B or 1, steps, N, D]).
        """
        c = self.config.cond_tokens
        x = x.view(b, steps, c + self.config.tokens_per_frame, -1)[:, :, c:, :].flatten(1, 2)
        if self.predictor_proj.weight.dtype == torch.float32:
            x = x.float()  # a float32 readout (see keep_fp32_stream)
        out = fused_linear(self.predictor_norm(x), self.predictor_proj)
        if self.config.residual:
            out = out + z.expand(b, -1, -1, -1).flatten(1, 2).to(out.dtype)
        return out

    # -- public API ----------------------------------------------------------------------------
    def forward(self, z, actions, states, extrinsics=None):
        """Predict [B, T*N, D]; the output at step t is the prediction for step t+1."""
        z, actions, states, extrinsics, b, t = self._check_inputs(z, actions, states, extrinsics)
        x = self._tokens(z, actions, states, extrinsics)
        x, _ = self._run(x, 0, t, collect=False)
        return self._readout(x, b, t, z)

    def empty_cache(self, batch_size: int = 1, max_steps: int = 0) -> PredictorCache:
        """
        Return a cache with no step computed yet.

        ``max_steps`` > 0 pre-allocates keys/values for that many steps at the first step and
        appends later steps in place (a rollout of H steps then never copies its past); going
        beyond it raises ValueError. 0 concatenates at every step (no limit).
        """
        if max_steps < 0:
            raise ValueError(f'max_steps must be >= 0, got {max_steps}')
        depth = self.config.depth
        return PredictorCache([None] * depth, [None] * depth, 0, int(batch_size),
                              int(max_steps))

    def _past(self, cache: PredictorCache, b: int, t: int):
        """Return the per-layer past for appending t steps to ``cache`` and its buffers."""
        per = self.config.cond_tokens + self.config.tokens_per_frame
        if cache.max_steps and cache.steps + t > cache.max_steps:
            raise ValueError(f'the cache was allocated for {cache.max_steps} steps and holds '
                             f'{cache.steps}; {t} more do not fit. Create it with '
                             'empty_cache(batch, max_steps=...) or with_capacity(...) large '
                             'enough, or max_steps=0 to grow without limit')
        if not cache.max_steps:
            return (list(zip(cache.keys, cache.values)) if cache.steps else None), None
        bufs = cache.buffers
        if (bufs is None or bufs[0].length != cache.steps * per or bufs[0].batch_size != b):
            # No storage yet, or another step already appended to it (a branch): start fresh
            # storage holding this cache's prefix.
            bufs = [KVBuffer(b, cache.max_steps * per,
                             prefix=(k, v) if cache.steps else None)
                    for k, v in zip(cache.keys, cache.values)]
        return bufs, bufs

    def prefill(self, z, actions, states, extrinsics=None, cache=None,
                return_output=False):
        """
        Compute known steps once and return their cache (and the outputs if asked).

        ``z`` [B, T*N, D], ``actions`` / ``states`` [B, T, 7]; ``cache`` continues an existing one.
        """
        if cache is None:
            cache = self.empty_cache(1)
        z, actions, states, extrinsics, b, t = self._check_inputs(z, actions, states, extrinsics)
        b, cache = self._common_batch(b, cache)
        x = self._tokens(z, actions, states, extrinsics).expand(b, -1, -1)
        past, bufs = self._past(cache, b, t)
        per = self.config.cond_tokens + self.config.tokens_per_frame
        x, kvs = self._run(x, cache.steps, t, past, past_len=cache.steps * per)
        new = PredictorCache([k for k, _ in kvs], [v for _, v in kvs], cache.steps + t, b,
                             cache.max_steps, bufs)
        if return_output:
            return self._readout(x, b, t, z), new
        return new

    def step(self, z_t, a_t, s_t, cache: PredictorCache, extrinsics=None):
        """
        Append one step and return (prediction of the next step's tokens [B, N, D], new cache).

        ``z_t`` [B, N, D], ``a_t`` / ``s_t`` [B, 7] (``extrinsics`` [B, 6] if used). Batch-1
        inputs or caches broadcast to the largest batch.
        """
        if a_t.dim() != 2 or s_t.dim() != 2:
            raise ValueError(f'a_t and s_t must be [B, dim], got {tuple(a_t.shape)} and '
                             f'{tuple(s_t.shape)}')
        e = None if extrinsics is None else extrinsics.unsqueeze(1)
        out, cache = self.prefill(z_t, a_t.unsqueeze(1), s_t.unsqueeze(1), extrinsics=e,
                                  cache=cache, return_output=True)
        return out, cache

    @staticmethod
    def _common_batch(b, cache):
        if cache.batch_size == b:
            return b, cache
        if cache.batch_size == 1:
            return b, cache.expand(b)
        if b == 1:
            return cache.batch_size, cache
        raise ValueError(f'inputs of batch {b} do not match a cache of batch {cache.batch_size}')
