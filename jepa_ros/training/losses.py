# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Losses and collapse diagnostics for JEPA pretraining and action-conditioned training."""

from typing import Dict

import torch
import torch.nn.functional as F


def layer_norm_tokens(z: torch.Tensor) -> torch.Tensor:
    """Layer-norm over the feature dimension without affine (the V-JEPA 2-AC convention)."""
    return F.layer_norm(z, (z.shape[-1],))


def jepa_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 between predicted and (already layer-normed, detached) target tokens."""
    if pred.shape != target.shape:
        raise ValueError(f'prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ')
    return (pred - target.detach()).abs().mean()


def variance_hinge(z: torch.Tensor, gamma: float = 1.0, eps: float = 1e-4) -> torch.Tensor:
    """
    Penalise features that do not vary across samples (VICReg-style anti-collapse term).

    ``z`` [B, L, D]: the std over the batch of each (token position, dimension) must reach
    ``gamma``; this is exactly the image-dependent spread that collapsed in the first probe.
    """
    if z.shape[0] < 2:
        return z.new_zeros(())
    std = torch.sqrt(z.float().var(dim=0, unbiased=True) + eps)
    return F.relu(gamma - std).mean()


def masked_variance_hinge(z: torch.Tensor, idx: torch.Tensor, num_tokens: int,
                          gamma: float = 0.2, eps: float = 1e-4) -> torch.Tensor:
    """
    Variance hinge at fixed token positions when each sample shows different positions.

    ``z`` [B, K, D] are the context tokens at positions ``idx`` [B, K] out of ``num_tokens``.
    For every position seen by at least two samples, the std over those samples of each
    dimension must reach ``gamma``: features that ignore the image (the collapse of the first
    probe, where this spread fell from 0.2 to 0.03) are pushed apart.
    """
    b, _, d = z.shape
    z = z.float()
    full = z.new_zeros(b, num_tokens, d).scatter(1, idx.unsqueeze(-1).expand(-1, -1, d), z)
    seen = z.new_zeros(b, num_tokens).scatter(1, idx, 1.0)
    count = seen.sum(0)
    valid = count >= 2
    if not bool(valid.any()):
        return z.new_zeros(())
    mean = full.sum(0) / count.clamp_min(1).unsqueeze(-1)
    var = (((full - mean) ** 2) * seen.unsqueeze(-1)).sum(0) / (count - 1).clamp_min(1)[:, None]
    std = torch.sqrt(var[valid] + eps)
    return F.relu(gamma - std).mean()


def ac_losses(predictor, z: torch.Tensor, actions: torch.Tensor, states: torch.Tensor,
              tokens_per_step: int, rollout_steps: int = 2):
    """
    V-JEPA 2-AC losses on layer-normed frame tokens.

    ``z`` [B, T*N, D] tokens of T frames (layer-normed), ``actions`` [B, T-1, 7] and ``states``
    [B, T, 7] normalised. Teacher forcing: from the true tokens of steps 0..T-2 predict steps
    1..T-1. Rollout: from step 0 alone, feed the predictor its own outputs for ``rollout_steps``
    steps and compare with the true tokens. Both are L1. Returns (teacher, rollout) losses.
    """
    n = tokens_per_step
    steps = z.shape[1] // n
    if steps < 2:
        raise ValueError('AC training needs clips of at least 2 frames')
    if actions.shape[1] != steps - 1 or states.shape[1] != steps:
        raise ValueError(f'expected {steps - 1} actions and {steps} states, got '
                         f'{actions.shape[1]} and {states.shape[1]}')
    ctx = z[:, :(steps - 1) * n]
    out = predictor(ctx, actions, states[:, :steps - 1])
    teacher = (out - z[:, n:]).abs().mean()
    k = max(0, min(int(rollout_steps), steps - 1))
    if k == 0:
        return teacher, teacher.new_zeros(())
    seq = z[:, :n]
    preds = []
    for i in range(k):
        nxt = predictor(seq, actions[:, :i + 1], states[:, :i + 1])[:, -n:]
        preds.append(nxt)
        seq = torch.cat([seq, nxt], 1)
    rollout = (torch.cat(preds, 1) - z[:, n:(k + 1) * n]).abs().mean()
    return teacher, rollout


@torch.no_grad()
def collapse_diagnostics(z: torch.Tensor, max_rows: int = 2048) -> Dict[str, float]:
    """
    Return statistics that reveal representation collapse in features ``z`` [B, L, D].

    ``feat_std``: mean over dimensions of the std over all tokens; ``image_spread``: mean std
    over the batch at a fixed token position (0 when every image maps to the same features);
    ``eff_rank``: exp of the entropy of the normalised singular values of the centred tokens
    (1 = collapsed to a line, up to D).
    """
    z = z.detach().float()
    flat = z.reshape(-1, z.shape[-1])
    if flat.shape[0] > max_rows:
        flat = flat[torch.linspace(0, flat.shape[0] - 1, max_rows).long()]
    feat_std = flat.std(dim=0).mean().item() if flat.shape[0] > 1 else 0.0
    spread = z.std(dim=0).mean().item() if z.shape[0] > 1 else 0.0
    centred = flat - flat.mean(0, keepdim=True)
    s = torch.linalg.svdvals(centred)
    p = s / s.sum().clamp_min(1e-12)
    ent = -(p * torch.log(p.clamp_min(1e-12))).sum()
    return {'feat_std': feat_std, 'image_spread': spread, 'eff_rank': float(torch.exp(ent))}
