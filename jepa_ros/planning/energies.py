# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Planning energies: how far predicted tokens are from the goal's tokens.

Both sides are layer-normed over the feature dimension (no affine), as in V-JEPA 2-AC, so the
energy compares the shape of the representation rather than its scale.
"""

import torch
import torch.nn.functional as F


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
    pred = pred.float()
    goal = goal.float().to(pred.device)
    if kind == 'l1':
        return (pred - goal).abs().flatten(1).mean(dim=1)
    if kind == 'l2':
        return (pred - goal).pow(2).flatten(1).mean(dim=1).sqrt()
    if kind == 'cosine':
        cos = F.cosine_similarity(pred, goal.expand_as(pred), dim=-1)
        return 1.0 - cos.mean(dim=1)
    raise ValueError(f"unknown energy {kind!r}; use 'l1', 'l2' or 'cosine'")
