# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Energy landscape around a chosen action (why is the minimum not where I expect it).

Evaluates the world model's energy over a grid of two action axes (e.g. dx, dy) of one step of a
plan, the other axes and steps held at the plan's values, and draws it as a heat map with the
chosen action and the grid minimum marked. The grid deliberately ignores the safety limits: it
shows what the model believes, not what the robot would be allowed to do. Pass the planner's
``config`` so the map shows the energy the planner minimises (token weighting, horizon).
"""

import dataclasses
from typing import Optional, Tuple

from jepa_ros.planning.config import AXIS_NAMES, PlannerConfig
from jepa_ros.planning.energies import candidate_energy, planning_weights
from jepa_ros.planning.geometry import roll_states
from jepa_ros.planning.world_model import run_rollout
import numpy as np
import torch


@dataclasses.dataclass
class Landscape:
    """Energies [len(ys), len(xs)] over action values ``xs`` (axis 0) by ``ys`` (axis 1)."""

    energies: np.ndarray
    xs: np.ndarray
    ys: np.ndarray
    axes: Tuple[int, int]
    step: int
    chosen: Tuple[float, float]
    chosen_energy: float
    minimum: Tuple[float, float]
    minimum_energy: float

    def to_dict(self) -> dict:
        """Return plain lists and floats (JSON-friendly)."""
        return {
            'energies': self.energies.tolist(), 'xs': self.xs.tolist(), 'ys': self.ys.tolist(),
            'axes': [AXIS_NAMES[a] for a in self.axes], 'step': self.step,
            'chosen': list(self.chosen), 'chosen_energy': self.chosen_energy,
            'minimum': list(self.minimum), 'minimum_energy': self.minimum_energy,
        }


@torch.no_grad()
def energy_landscape(world_model, image, state, goal, actions, axes=(0, 1), span: float = 0.05,
                     resolution: int = 21, kind: str = 'l1', step: int = 0, history=None,
                     batch: int = 256, weighting: str = 'none', weight_floor: float = 0.2,
                     energy_horizon: str = 'last',
                     config: Optional[PlannerConfig] = None) -> Landscape:
    """
    Return the energy over a ``resolution`` x ``resolution`` grid around ``actions[step]``.

    ``image``/``goal``: uint8 images or pre-encoded float tokens; ``actions``: the chosen plan
    (H, 7) or a single action (7,); ``axes``: two indices into the 7-D action; ``span``: half
    width of the grid on both axes, in the axes' units. ``kind``, ``weighting``,
    ``weight_floor`` and ``energy_horizon`` mean what PlannerConfig's ``energy``,
    ``energy_weighting``, ``energy_weight_floor`` and ``energy_horizon`` mean; a ``config``
    replaces all four with its own values.
    """
    if config is not None:
        kind, weighting = config.energy, config.energy_weighting
        weight_floor, energy_horizon = config.energy_weight_floor, config.energy_horizon
    if energy_horizon not in ('last', 'all'):
        raise ValueError(f"energy_horizon must be 'last' or 'all', got {energy_horizon!r}")
    if len(axes) != 2 or axes[0] == axes[1] or not all(0 <= a < 7 for a in axes):
        raise ValueError(f'axes must be two different indices in 0..6 '
                         f'({", ".join(AXIS_NAMES)}), got {axes}')
    if resolution < 2:
        raise ValueError('resolution must be >= 2')
    device = torch.device(getattr(world_model, 'device', 'cpu'))
    plan = torch.as_tensor(np.asarray(actions, dtype=np.float32).reshape(-1, 7), device=device)
    if not 0 <= step < plan.shape[0]:
        raise ValueError(f'step {step} is outside the plan of {plan.shape[0]} steps')
    z = _tokens(world_model, image, device)
    z_goal = _tokens(world_model, goal, device)
    s = torch.as_tensor(np.asarray(state, dtype=np.float32).reshape(7), device=device)
    ax, ay = axes
    cx, cy = float(plan[step, ax]), float(plan[step, ay])
    xs = np.linspace(cx - span, cx + span, resolution)
    ys = np.linspace(cy - span, cy + span, resolution)
    gy, gx = np.meshgrid(ys, xs, indexing='ij')
    grid = plan.unsqueeze(0).repeat(resolution * resolution, 1, 1)
    grid[:, step, ax] = torch.as_tensor(gx.reshape(-1), dtype=torch.float32, device=device)
    grid[:, step, ay] = torch.as_tensor(gy.reshape(-1), dtype=torch.float32, device=device)
    grid = torch.cat([plan.unsqueeze(0), grid], dim=0)  # row 0: the chosen plan itself
    weights = planning_weights(weighting, z, z_goal, weight_floor)
    ctx = world_model.start(z, s, history)
    out = []
    for i in range(0, grid.shape[0], batch):
        a = grid[i:i + batch]
        states = roll_states(s, a)[:, :-1]
        pred = run_rollout(world_model, ctx, a, states, return_all=energy_horizon == 'all')
        out.append(candidate_energy(pred, z_goal, kind, weights).cpu())
    e = torch.cat(out).numpy().astype(np.float64)
    chosen_e, e = float(e[0]), e[1:].reshape(resolution, resolution)
    masked = np.where(np.isfinite(e), e, np.inf)
    iy, ix = np.unravel_index(int(np.argmin(masked)), e.shape)
    return Landscape(energies=e, xs=xs, ys=ys, axes=(ax, ay), step=step, chosen=(cx, cy),
                     chosen_energy=chosen_e, minimum=(float(xs[ix]), float(ys[iy])),
                     minimum_energy=float(masked[iy, ix]))


def save_landscape_png(landscape: Landscape, path, title: Optional[str] = None):
    """Write the landscape as a heat map (chosen action: white x, grid minimum: red star)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    ls = landscape
    fig, axis = plt.subplots(figsize=(5.5, 4.5), dpi=100)
    extent = (ls.xs[0], ls.xs[-1], ls.ys[0], ls.ys[-1])
    im = axis.imshow(ls.energies, origin='lower', extent=extent, aspect='auto', cmap='viridis')
    fig.colorbar(im, ax=axis, label='energy')
    axis.plot(*ls.chosen, marker='x', color='white', markersize=12, mew=2.5, linestyle='none',
              label=f'chosen ({ls.chosen_energy:.4f})')
    axis.plot(*ls.minimum, marker='*', color='red', markersize=14, linestyle='none',
              label=f'grid minimum ({ls.minimum_energy:.4f})')
    axis.set_xlabel(AXIS_NAMES[ls.axes[0]])
    axis.set_ylabel(AXIS_NAMES[ls.axes[1]])
    axis.set_title(title or f'energy landscape, step {ls.step}')
    axis.legend(loc='upper right', fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _tokens(world_model, x, device):
    if torch.is_tensor(x) and x.is_floating_point() and x.dim() in (2, 3):
        return (x if x.dim() == 3 else x.unsqueeze(0)).to(device, torch.float32)
    return world_model.encode(x)
