# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
A hand-made world model whose optimum is known in closed form.

The latent of a state is an affine map of the end-effector position and gripper closedness,
layer-normed per token: ``z(p) = LN(W p + b)``. With generic W and b, ``LN(W p + b) = LN(W g + b)``
only for ``p = g``, so the energy to the goal ``z(g)`` has its unique minimum where the imagined
end-effector reaches ``g``. Used by tests and benchmarks to check the optimisers without a
neural network.
"""

from jepa_ros.planning.energies import layer_norm_tokens
from jepa_ros.planning.geometry import roll_state
from jepa_ros.planning.profiler import Profiler
from jepa_ros.planning.world_model import WorldModel
import numpy as np
import torch


class LinearToyWorldModel(WorldModel):
    """
    Latent = layer-normed affine map of (x, y, z, gripper); rollout integrates the actions.

    ``encode`` accepts a state-like vector (7,) or [B, 7] standing in for an image (the toy has
    no camera); ``nan_if`` is an optional function of the candidate actions [S, H, 7] returning a
    bool mask [S] of candidates whose prediction becomes NaN (to test NaN handling).
    """

    def __init__(self, tokens: int = 8, dim: int = 16, seed: int = 0, device='cpu',
                 gripper_weight: float = 1.0, nan_if=None):
        g = torch.Generator().manual_seed(seed)
        self.device = torch.device(device)
        self.W = torch.randn(4, tokens * dim, generator=g).to(self.device) * 10.0
        self.W[3] *= gripper_weight
        self.b = torch.randn(tokens * dim, generator=g).to(self.device)
        self.tokens, self.dim = tokens, dim
        self.nan_if = nan_if
        self.profiler = Profiler()
        self.rollouts = 0

    def latent(self, state) -> torch.Tensor:
        """Return layer-normed tokens [B, N, D] for states (7,) or [B, 7]."""
        s = torch.as_tensor(np.asarray(state, dtype=np.float32) if not torch.is_tensor(state)
                            else state, dtype=torch.float32, device=self.device)
        s = s.reshape(-1, 7)
        p = torch.cat([s[:, :3], s[:, 6:7]], dim=1)
        z = (p @ self.W + self.b).view(-1, self.tokens, self.dim)
        return layer_norm_tokens(z)

    def encode(self, images) -> torch.Tensor:
        """Return the latent of a state vector standing in for an image."""
        with self.profiler.section('encode'):
            return self.latent(images)

    def start(self, z, state, history=None):
        """Return the current latent (the toy needs nothing else)."""
        return {'z': z}

    def rollout(self, context, actions, states, return_all: bool = False):
        """Return the latent after the last action ([S, N, D]) or after each ([S, H, N, D])."""
        with self.profiler.section('predictor'):
            self.rollouts += 1
            if return_all:  # state after action t: states[:, t] moved by actions[:, t]
                S, H = actions.shape[0], actions.shape[1]
                after = roll_state(states.reshape(S * H, 7), actions.reshape(S * H, 7))
                z = self.latent(after).view(S, H, self.tokens, self.dim)
            else:
                z = self.latent(roll_state(states[:, -1], actions[:, -1]))
            if self.nan_if is not None:
                mask = self.nan_if(actions).to(self.device)
                mask = mask.view(-1, *([1] * (z.dim() - 1)))
                z = torch.where(mask, torch.full_like(z, float('nan')), z)
            return z
