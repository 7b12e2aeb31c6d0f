# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Planning energies: how far predicted tokens are from the goal's tokens.

Both sides are layer-normed over the feature dimension (no affine), as in V-JEPA 2-AC, so the
energy compares the shape of the representation rather than its scale.
"""

import torch
import torch.nn.functional as F

_CHUNK_ELEMENTS = 1 << 18  # floats per chunk in ``energy`` (1 MiB: fits a CPU core's L2)


def layer_norm_tokens(z: torch.Tensor) -> torch.Tensor:
    """Return ``z`` layer-normed over its last dimension without affine parameters."""
    return F.layer_norm(z, (z.shape[-1],))


def energy(pred: torch.Tensor, goal: torch.Tensor, kind: str = 'l1') -> torch.Tensor:
    """
    Return one energy per candidate.

    ``pred`` is [S, N, D] and ``goal`` is [N, D], [1, N, D] or [S, N, D]; the result is [S],
    computed in float32. ``l1`` is the mean absolute difference (the official objective), ``l2``
    the root-mean-square difference (same units as l1), ``cosine`` one minus the mean per-token
    cosine similarity.
    """
    if goal.dim() == 2:
        goal = goal.unsqueeze(0)
    if pred.shape[-2:] != goal.shape[-2:]:
        raise ValueError(f'predicted tokens {tuple(pred.shape)} and goal tokens '
                         f'{tuple(goal.shape)} differ in [N, D]; encode the goal with the same '
                         'encoder and image size as the observations')
    if kind not in ('l1', 'l2', 'cosine'):
        raise ValueError(f"unknown energy {kind!r}; use 'l1', 'l2' or 'cosine'")
    pred = pred.float()
    goal = goal.float().to(pred.device)
    n = pred.shape[0]
    out = torch.empty(n, dtype=torch.float32, device=pred.device)
    # A few candidates at a time: the difference stays in cache instead of making three passes
    # over a [S, N, D] temporary (measured 4-5x faster on CPU for S=400, 256x192 tokens).
    step = n if pred.device.type != 'cpu' else max(1, _CHUNK_ELEMENTS // max(1, pred[0].numel()))
    for i in range(0, n, step):
        p = pred[i:i + step]
        g = goal if goal.shape[0] == 1 else goal[i:i + step]
        if kind == 'cosine':
            out[i:i + step] = 1.0 - F.cosine_similarity(p, g.expand_as(p), dim=-1).mean(dim=1)
            continue
        d = (p - g).flatten(1)
        if d.requires_grad:  # keep autograd usable (no in-place ops)
            d = d.abs() if kind == 'l1' else d.square()
        else:
            d = d.abs_() if kind == 'l1' else d.square_()
        e = d.mean(dim=1)
        out[i:i + step] = e if kind == 'l1' else e.sqrt()
    return out
