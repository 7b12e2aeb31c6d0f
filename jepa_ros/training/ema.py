# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Exponential moving average of weights (the JEPA target encoder) and the schedules it uses."""

import math

import torch


@torch.no_grad()
def ema_update(target: torch.nn.Module, online: torch.nn.Module, momentum: float):
    """
    Move ``target`` towards ``online``: t = m * t + (1 - m) * o, for parameters and buffers.

    The target never receives gradients; only this update changes it.
    """
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f'EMA momentum must be in [0, 1], got {momentum}')
    tp = dict(target.named_parameters())
    for name, p in online.named_parameters():
        if name not in tp:
            raise KeyError(f'EMA target has no parameter {name!r}; models differ')
        tp[name].mul_(momentum).add_(p.detach(), alpha=1.0 - momentum)
    tb = dict(target.named_buffers())
    for name, b in online.named_buffers():
        if name in tb:
            tb[name].copy_(b)


def ema_momentum(step: int, total_steps: int, start: float, end: float) -> float:
    """Linearly ramp the EMA momentum from ``start`` to ``end`` over training (as V-JEPA)."""
    if total_steps <= 1:
        return end
    f = min(1.0, max(0.0, step / (total_steps - 1)))
    return start + (end - start) * f


def lr_at(step: int, total_steps: int, base_lr: float, warmup_steps: int,
          final_lr_ratio: float = 0.05) -> float:
    """Return the learning rate: linear warm-up, then cosine decay to ``final_lr_ratio``."""
    if warmup_steps > 0 and step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    rest = max(1, total_steps - warmup_steps)
    f = min(1.0, (step - warmup_steps) / rest)
    cosine = 0.5 * (1.0 + math.cos(math.pi * f))
    return base_lr * (final_lr_ratio + (1.0 - final_lr_ratio) * cosine)
