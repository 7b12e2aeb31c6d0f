# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
The goal-position term of the planning energy (``PlannerConfig.goal_state_weight``).

A compact model with a state probe (``jepa_ros.models.state_probe``) reads the goal image as an
end-effector position. Each candidate's rolled-forward position after its last action is
compared with it, with a dead zone: outside it the term pulls the arm towards the goal where the
latent energy has ridges (far goals), inside it the latent energy alone decides, so the probe's
own error (about 1 cm median) never sets where the arm stops.
"""

import torch


def goal_state_energy(s_t: torch.Tensor, actions: torch.Tensor, goal_pos: torch.Tensor,
                      weight: float, deadzone: float) -> torch.Tensor:
    """
    Return ``weight * max(0, |p_H - goal_pos| - deadzone)`` per candidate [S].

    ``s_t`` [7] is the current end-effector state, ``actions`` [S, H, 7] the candidates,
    ``goal_pos`` [3] metres; differentiable in ``actions`` (a smoothed norm, finite at 0).
    Positions add along a sequence (``geometry.roll_state``), so ``p_H`` is the current
    position plus the summed translations, without rolling the rotations.
    """
    pos = s_t[:3].to(actions) + actions[..., :3].sum(dim=1)
    d = ((pos - goal_pos.to(pos)).square().sum(dim=-1) + 1e-12).sqrt()
    return float(weight) * (d - float(deadzone)).clamp_min(0.0)
