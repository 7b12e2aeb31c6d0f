# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Random scene appearance for training clips: new surface colours and light, the same motion.

Models trained on the nominal scene fail on an unseen one (README: reach 2/20 against 18/20).
Randomised play data alone did not help either, because a scene that differs between episodes
but not within a clip is free to predict, so SIGReg's spread went to appearance. These
transforms draw one appearance per clip and view and keep it for every frame. They rotate the
hue and rescale the saturation of everything but the red cube, and scale the light. Two draws
of the same clip give the pair that an invariance term pulls together (``train-wm
--invariance-weight``).
"""

import math

import torch

# The sim's 'train' regime, not 'unseen' (jepa_ros/sim/variation.py), so that --variation
# unseen stays a test on colours and light levels never trained on. Hue shifts turn the nominal
# table (hue ~35 degrees) into train's two surface bands, 25..65 and 185..240 degrees.
HUE_SHIFTS_DEG = ((-10.0, 30.0), (150.0, 205.0))
LIGHT_RANGE = (0.7, 1.3)          # factor on every pixel: train's light-level range
SATURATION_RANGE = (0.6, 1.4)     # factor on the surfaces' distance from grey


def cube_mask(x: torch.Tensor) -> torch.Tensor:
    """Return 1 where a pixel is the cube's saturated red; images [..., 3, H, W] in 0..1."""
    r, g, b = x.unbind(dim=-3)
    red = (r > 0.3) & (r - torch.maximum(g, b) > 0.25 * r + 0.05)
    return red.unsqueeze(-3).to(x.dtype)


def hue_rotation(theta: torch.Tensor) -> torch.Tensor:
    """Return [N, 3, 3] matrices that turn RGB about the grey axis by ``theta`` [N] radians."""
    c, s = torch.cos(theta), torch.sin(theta)
    k = 1.0 / 3.0
    q = math.sqrt(k)
    eye = torch.eye(3, dtype=theta.dtype, device=theta.device)
    grey = torch.full((3, 3), k, dtype=theta.dtype, device=theta.device)
    cross = torch.tensor([[0.0, -q, q], [q, 0.0, -q], [-q, q, 0.0]], dtype=theta.dtype,
                         device=theta.device)
    return (c[:, None, None] * (eye - grey) + grey + s[:, None, None] * cross)


def random_appearance(x: torch.Tensor, generator: torch.Generator = None) -> torch.Tensor:
    """
    Return clips [B, T, V, 3, H, W] (0..1) under one random appearance per clip and view.

    Surfaces get a hue shift and a saturation factor, the cube keeps its colour, and the
    whole frame gets a light factor, all within the sim's 'train' ranges; frames of a clip
    share their view's draw.
    """
    b, t, v = x.shape[:3]
    n = b * v
    dev, dt = x.device, x.dtype

    def uniform(lo, hi):
        return lo + (hi - lo) * torch.rand(n, generator=generator, device=dev, dtype=dt)

    widths = torch.tensor([hi - lo for lo, hi in HUE_SHIFTS_DEG], device=dev, dtype=dt)
    band = torch.multinomial(widths / widths.sum(), n, replacement=True, generator=generator)
    lo = torch.tensor([b[0] for b in HUE_SHIFTS_DEG], device=dev, dtype=dt)[band]
    shift = lo + widths[band] * torch.rand(n, generator=generator, device=dev, dtype=dt)
    rot = hue_rotation(torch.deg2rad(shift))                             # [n, 3, 3]
    sat = uniform(*SATURATION_RANGE).view(n, 1, 1, 1)
    light = uniform(*LIGHT_RANGE).view(n, 1, 1, 1)
    frames = x.permute(0, 2, 1, 3, 4, 5).reshape(n, t, 3, *x.shape[-2:])   # [n, T, 3, H, W]
    turned = torch.einsum('nij,ntjhw->ntihw', rot, frames)
    grey = turned.mean(dim=2, keepdim=True)
    surfaces = grey + sat[:, None] * (turned - grey)
    keep = cube_mask(frames)
    out = (keep * frames + (1 - keep) * surfaces) * light[:, None]
    out = out.clamp_(0.0, 1.0).view(b, v, t, 3, *x.shape[-2:]).permute(0, 2, 1, 3, 4, 5)
    return out.contiguous()
