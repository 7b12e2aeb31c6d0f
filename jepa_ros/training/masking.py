# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Space-time masks for the V-JEPA objective.

Tokens are ordered time-major over a (T', H', W') grid, as the encoder emits them. A mask is a
pair of index tensors per sample: ``context`` (what the context encoder sees) and ``target``
(what the predictor must fill in). Blocks are spatial rectangles that extend through time
("tubes", as in V-JEPA), so a masked region cannot be copied from another frame; an optional
"future" mask hides the last temporal slices so the model must predict how the scene moves.
"""

import dataclasses
import math
from typing import Tuple

import torch


@dataclasses.dataclass
class MaskConfig:
    """Multi-block mask recipe: V-JEPA's short-range (many small) plus long-range (few large)."""

    short_blocks: int = 8
    short_scale: float = 0.15
    long_blocks: int = 2
    long_scale: float = 0.7
    aspect_min: float = 0.75
    aspect_max: float = 1.5
    # Probability of also masking the last ``future_slices`` temporal slices (temporal objective).
    future_prob: float = 0.5
    future_slices: int = 1
    # Probability of using the long-range recipe instead of the short-range one for a sample.
    long_prob: float = 0.5
    min_context: int = 4

    def validate(self):
        """Raise ValueError on impossible settings."""
        for name in ('short_scale', 'long_scale', 'future_prob', 'long_prob'):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f'MaskConfig.{name} must be in [0, 1], got {v}')
        if self.aspect_min <= 0 or self.aspect_max < self.aspect_min:
            raise ValueError('MaskConfig needs 0 < aspect_min <= aspect_max')
        return self


def _block(grid_h, grid_w, scale, aspect_min, aspect_max, gen):
    area = max(1.0, scale * grid_h * grid_w)
    log_a = math.log(aspect_min), math.log(aspect_max)
    ar = math.exp(log_a[0] + (log_a[1] - log_a[0]) * torch.rand(1, generator=gen).item())
    h = int(round(math.sqrt(area * ar)))
    w = int(round(math.sqrt(area / ar)))
    h, w = max(1, min(h, grid_h)), max(1, min(w, grid_w))
    top = int(torch.randint(0, grid_h - h + 1, (1,), generator=gen))
    left = int(torch.randint(0, grid_w - w + 1, (1,), generator=gen))
    return top, left, h, w


def sample_mask(grid: Tuple[int, int, int], cfg: MaskConfig, gen: torch.Generator):
    """
    Return a bool tensor (T', H', W'), True where a token is masked (a prediction target).

    At least ``cfg.min_context`` tokens stay visible and at least one is masked.
    """
    t, gh, gw = grid
    mask = torch.zeros(t, gh, gw, dtype=torch.bool)
    use_long = torch.rand(1, generator=gen).item() < cfg.long_prob
    if use_long:
        n, scale = cfg.long_blocks, cfg.long_scale
    else:
        n, scale = cfg.short_blocks, cfg.short_scale
    for _ in range(max(0, n)):
        top, left, h, w = _block(gh, gw, scale, cfg.aspect_min, cfg.aspect_max, gen)
        mask[:, top:top + h, left:left + w] = True
    if t > 1 and cfg.future_slices > 0 and torch.rand(1, generator=gen).item() < cfg.future_prob:
        mask[-min(cfg.future_slices, t - 1):] = True
    flat = mask.view(-1)
    total = flat.numel()
    min_ctx = min(cfg.min_context, total - 1)
    visible = (~flat).nonzero().flatten()
    if len(visible) < min_ctx:
        # Too much was hidden: reveal random masked tokens until enough context remains.
        hidden = flat.nonzero().flatten()
        reveal = hidden[torch.randperm(len(hidden), generator=gen)[:min_ctx - len(visible)]]
        flat[reveal] = False
    if not flat.any():
        flat[int(torch.randint(0, total, (1,), generator=gen))] = True
    return mask


def sample_batch_masks(batch_size: int, grid: Tuple[int, int, int], cfg: MaskConfig,
                       gen: torch.Generator):
    """
    Return (context_idx, target_idx), LongTensors [B, Kc] and [B, Kt], one mask per sample.

    Samples hide different numbers of tokens; as V-JEPA's collator does, each sample keeps a
    random subset so every row has the batch minimum, which lets the encoder run batched.
    """
    ctx, tgt = [], []
    for _ in range(batch_size):
        flat = sample_mask(grid, cfg, gen).view(-1)
        c = (~flat).nonzero().flatten()
        m = flat.nonzero().flatten()
        ctx.append(c[torch.randperm(len(c), generator=gen)])
        tgt.append(m[torch.randperm(len(m), generator=gen)])
    kc = min(len(c) for c in ctx)
    kt = min(len(m) for m in tgt)
    context = torch.stack([c[:kc].sort().values for c in ctx])
    target = torch.stack([m[:kt].sort().values for m in tgt])
    return context, target


def gather_tokens(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Select tokens ``idx`` [B, K] from ``x`` [B, L, D] -> [B, K, D]."""
    return torch.gather(x, 1, idx.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
