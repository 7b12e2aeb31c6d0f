# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
A readout from a compact model's latents to the end-effector position it sees.

The latent energy points the right way only within about 12 cm of the goal (README, reach
landscape): every reach failure of the shipped model started more than 19 cm away and stalled
on a ridge. The probe reads a goal image as an end-effector position, which the planner can
compare with its own rolled-forward positions at any distance (``PlannerConfig.
goal_state_weight``). It is self-supervised like the world model: fitted on the play data's
recorded states with the model's encoder frozen (``jepa-ros fit-probe``), no labels.

It lives next to the model as ``state_probe.safetensors`` (weights plus its sizes, input and
output scaling in the file's metadata), so a folder without one loads as before.
"""

import json
import os
from pathlib import Path
from typing import Optional, Tuple

from jepa_ros.models.config import CheckpointError
import torch
from torch import nn

PROBE_FILE = 'state_probe.safetensors'
PROBE_FORMAT = 'jepa_ros.state_probe'
PROBE_VERSION = 1
OUTPUTS = ('x', 'y', 'z')   # metres, the arm base frame (the states' first three values)


class StateProbe(nn.Module):
    """Latents [B, N, L] (or [B, N*L]) -> end-effector positions [B, 3] in metres."""

    def __init__(self, in_dim: int, hidden: int = 256, out_dim: int = len(OUTPUTS)):
        super().__init__()
        self.in_dim, self.hidden, self.out_dim = int(in_dim), int(hidden), int(out_dim)
        self.register_buffer('z_mean', torch.zeros(self.in_dim))
        self.register_buffer('z_std', torch.ones(self.in_dim))
        self.register_buffer('y_mean', torch.zeros(self.out_dim))
        self.register_buffer('y_std', torch.ones(self.out_dim))
        self.mlp = nn.Sequential(nn.Linear(self.in_dim, self.hidden), nn.GELU(),
                                 nn.Linear(self.hidden, self.hidden), nn.GELU(),
                                 nn.Linear(self.hidden, self.out_dim))

    def set_scaling(self, z: torch.Tensor, y: torch.Tensor):
        """Fit the input and output standardisation to training latents and targets."""
        self.z_mean.copy_(z.mean(0))
        self.z_std.copy_(z.std(0).clamp_min(1e-6))
        self.y_mean.copy_(y.mean(0))
        self.y_std.copy_(y.std(0).clamp_min(1e-6))

    def normalized(self, z: torch.Tensor) -> torch.Tensor:
        """Return the standardised-output prediction (the training target's scale)."""
        z = z.reshape(z.shape[0], -1)
        if z.shape[1] != self.in_dim:
            raise ValueError(f'the state probe reads {self.in_dim} latent values per frame, '
                             f'got {z.shape[1]}')
        return self.mlp((z - self.z_mean) / self.z_std)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.normalized(z) * self.y_std + self.y_mean


def save_probe(directory, probe: StateProbe, report: Optional[dict] = None) -> Path:
    """Write ``probe`` into a model folder atomically; ``report`` (fit figures) goes along."""
    from jepa_ros.data.episode import atomic_write_bytes
    from safetensors.torch import save
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in probe.state_dict().items()}
    meta = {'format': PROBE_FORMAT, 'version': str(PROBE_VERSION), 'in_dim': str(probe.in_dim),
            'hidden': str(probe.hidden), 'outputs': ','.join(OUTPUTS[:probe.out_dim]),
            'report': json.dumps(report or {})}
    blob = save(tensors, metadata=meta)
    path = Path(os.fspath(directory)).expanduser() / PROBE_FILE
    return atomic_write_bytes(path, lambda fh: fh.write(blob))


def load_probe(directory, in_dim: Optional[int] = None) -> Optional[Tuple[StateProbe, dict]]:
    """
    Return ``(probe, report)`` from a model folder, or None when it has no probe.

    A probe file that is corrupt, of another format or sized for other latents
    (``in_dim``) raises CheckpointError naming the file and what to do.
    """
    from safetensors import safe_open, SafetensorError
    path = Path(os.fspath(directory)).expanduser() / PROBE_FILE
    if not path.is_file():
        return None
    fix = f'refit it with `jepa-ros fit-probe --model {directory}` or delete it'
    try:
        with safe_open(str(path), framework='pt') as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f'cannot read {path} (truncated or corrupt?): {exc}; {fix}') \
            from exc
    if meta.get('format') != PROBE_FORMAT or meta.get('version') != str(PROBE_VERSION):
        raise CheckpointError(f'{path} is not a jepa_ros state probe (format '
                              f'{meta.get("format")!r}, version {meta.get("version")!r}); {fix}')
    try:
        probe = StateProbe(int(meta['in_dim']), int(meta['hidden']),
                           len(meta['outputs'].split(',')))
        probe.load_state_dict(tensors, strict=True)
        report = json.loads(meta.get('report') or '{}')
    except (KeyError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f'{path}: bad state probe ({exc}); {fix}') from exc
    if in_dim is not None and probe.in_dim != int(in_dim):
        raise CheckpointError(f'{path} reads {probe.in_dim} latent values per frame but the '
                              f'model makes {in_dim}; {fix}')
    return probe.eval().requires_grad_(False), report
