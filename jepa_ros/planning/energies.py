# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Planning energies: how far predicted tokens are from the goal's tokens.

Both sides are layer-normed over the feature dimension (no affine), as in V-JEPA 2-AC, so the
energy compares the shape of the representation rather than its scale. Two optional levers
(``PlannerConfig.energy_weighting`` / ``energy_horizon``) reshape the energy; both default to
the official one (plain mean over tokens, last imagined step only).
"""

from typing import Optional

import torch
import torch.nn.functional as F

_CHUNK_ELEMENTS = 1 << 18  # floats per chunk in ``energy`` (1 MiB: fits a CPU core's L2)
KINDS = ('l1', 'l2', 'cosine')
WEIGHTINGS = ('none', 'changed')
HORIZONS = ('last', 'all')


def layer_norm_tokens(z: torch.Tensor) -> torch.Tensor:
    """Return ``z`` layer-normed over its last dimension without affine parameters."""
    return F.layer_norm(z, (z.shape[-1],))


def token_weights(z_cur: torch.Tensor, z_goal: torch.Tensor, floor: float = 0.2) -> torch.Tensor:
    """
    Return per-token weights [N] that emphasise the tokens the goal asks to change.

    Most tokens are static background; the predictor's errors on them add noise that flattens the
    energy landscape. ``w_n = mean_d |z_goal - z_cur|`` normalised to mean 1, then mixed with a
    uniform ``floor`` (``floor + (1 - floor) * w``, still mean 1; floor 1 gives plain weights)
    so no token is ignored. ``z_cur``/``z_goal``: [N, D] or [1, N, D]. When the two are equal
    or not finite there is nothing to emphasise and the weights are uniform.
    """
    if not 0.0 <= float(floor) <= 1.0:
        raise ValueError(f'floor must be in [0, 1], got {floor}')
    z_cur = z_cur.reshape(-1, z_cur.shape[-2], z_cur.shape[-1])
    z_goal = z_goal.reshape(-1, z_goal.shape[-2], z_goal.shape[-1])
    if z_cur.shape[0] != 1 or z_goal.shape[0] != 1 or z_cur.shape != z_goal.shape:
        raise ValueError(f'token_weights needs one frame of each, [N, D] or [1, N, D], with the '
                         f'same shape; got {tuple(z_cur.shape)} and {tuple(z_goal.shape)}')
    d = (z_goal[0].float() - z_cur[0].float().to(z_goal.device)).abs().mean(dim=-1)
    mean = d.mean()
    if not bool(torch.isfinite(d).all()) or float(mean) <= 0.0:
        return torch.ones_like(d)
    return float(floor) + (1.0 - float(floor)) * (d / mean)


def planning_weights(weighting: str, z_cur: torch.Tensor, z_goal: torch.Tensor,
                     floor: float = 0.2) -> Optional[torch.Tensor]:
    """Return the token weights of ``weighting`` ('none': None, the plain mean over tokens)."""
    if weighting == 'none':
        return None
    if weighting == 'changed':
        return token_weights(z_cur, z_goal, floor)
    raise ValueError(f'unknown energy weighting {weighting!r}; use one of {WEIGHTINGS}')


def energy(pred: torch.Tensor, goal: torch.Tensor, kind: str = 'l1',
           weights: Optional[torch.Tensor] = None) -> torch.Tensor:
    """
    Return one energy per candidate.

    ``pred`` is [S, N, D] and ``goal`` is [N, D], [1, N, D] or [S, N, D]; the result is [S],
    computed in float32. ``l1`` is the mean absolute difference (the official objective), ``l2``
    the root-mean-square difference (same units as l1), ``cosine`` one minus the mean per-token
    cosine similarity. ``weights`` [N] (non-negative) turns the mean over tokens into a weighted
    mean of the per-token distance (l2: of the per-token mean square, then the root); all-ones
    weights give the unweighted energy.
    """
    if goal.dim() == 2:
        goal = goal.unsqueeze(0)
    if pred.shape[-2:] != goal.shape[-2:]:
        raise ValueError(f'predicted tokens {tuple(pred.shape)} and goal tokens '
                         f'{tuple(goal.shape)} differ in [N, D]; encode the goal with the same '
                         'encoder and image size as the observations')
    if kind not in KINDS:
        raise ValueError(f"unknown energy {kind!r}; use 'l1', 'l2' or 'cosine'")
    pred = pred.float()
    goal = goal.float().to(pred.device)
    N, D = pred.shape[-2], pred.shape[-1]
    w_tok = w_flat = None
    if weights is not None:
        w = weights.reshape(-1).float().to(pred.device)
        if w.numel() != N:
            raise ValueError(f'weights must have one value per token ({N}), got '
                             f'{tuple(weights.shape)}')
        if not bool(torch.isfinite(w).all()) or bool((w < 0).any()) or float(w.sum()) <= 0:
            raise ValueError('weights must be finite, non-negative and not all zero')
        w_tok = w / w.sum()  # weighted mean over tokens = dot product with w_tok
        # Per-element weights for the flattened [N*D] difference: one matrix-vector product
        # does the per-token mean and the weighted token mean in the same pass.
        w_flat = (w_tok / D).repeat_interleave(D)
    n = pred.shape[0]
    out = torch.empty(n, dtype=torch.float32, device=pred.device)
    # A few candidates at a time: the difference stays in cache instead of making three passes
    # over a [S, N, D] temporary (measured 4-5x faster on CPU for S=400, 256x192 tokens).
    step = n if pred.device.type != 'cpu' else max(1, _CHUNK_ELEMENTS // max(1, pred[0].numel()))
    for i in range(0, n, step):
        p = pred[i:i + step]
        g = goal if goal.shape[0] == 1 else goal[i:i + step]
        if kind == 'cosine':
            cos = F.cosine_similarity(p, g.expand_as(p), dim=-1)
            if w_tok is None:
                out[i:i + step] = 1.0 - cos.mean(dim=1)
            else:
                out[i:i + step] = (1.0 - cos) @ w_tok
            continue
        d = (p - g).flatten(1)
        if d.requires_grad:  # keep autograd usable (no in-place ops)
            d = d.abs() if kind == 'l1' else d.square()
        else:
            d = d.abs_() if kind == 'l1' else d.square_()
        e = d.mean(dim=1) if w_flat is None else d @ w_flat
        out[i:i + step] = e if kind == 'l1' else e.sqrt()
    return out


def sequence_energy(preds: torch.Tensor, goal: torch.Tensor, kind: str = 'l1',
                    weights: Optional[torch.Tensor] = None) -> torch.Tensor:
    """
    Return one energy per candidate: the mean over its imagined steps of each step's energy.

    ``preds`` is [S, H, N, D] (``rollout(..., return_all=True)``), ``goal`` as in ``energy``
    ([S, N, D] goals apply to every step of their candidate). Rewards sequences that get close
    early; for H = 1 it equals ``energy`` of the single step.
    """
    if preds.dim() != 4:
        raise ValueError(f'sequence_energy needs predictions [S, H, N, D], got '
                         f'{tuple(preds.shape)}')
    S, H = preds.shape[0], preds.shape[1]
    if goal.dim() == 3 and goal.shape[0] == S and S > 1:
        goal = goal.repeat_interleave(H, dim=0)
    e = energy(preds.reshape(S * H, *preds.shape[2:]), goal, kind, weights)
    return e.view(S, H).mean(dim=1)


def candidate_energy(pred: torch.Tensor, goal: torch.Tensor, kind: str = 'l1',
                     weights: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Return ``energy`` for final tokens [S, N, D], ``sequence_energy`` for [S, H, N, D]."""
    if pred.dim() == 4:
        return sequence_energy(pred, goal, kind, weights)
    return energy(pred, goal, kind, weights)
