# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Configuration of the closed MPC loop (shared by the planner node and the CLI)."""

from dataclasses import dataclass
from typing import Tuple

from jepa_ros.utils.config import ConfigError, require_finite

COMMAND_MODES = ('twist', 'pose', 'joint_trajectory')


@dataclass
class MPCNodeConfig:
    """What the planner node needs beyond the planner itself: model, rates, goals, safety."""

    checkpoint: str = 'default'
    device: str = 'auto'
    dtype: str = 'fp32'
    rate_hz: float = 5.0
    command_mode: str = 'twist'
    base_frame: str = 'panda_link0'
    image_timeout_s: float = 0.5
    pose_timeout_s: float = 0.5
    goal_image_path: str = ''
    subgoal_image_paths: Tuple[str, ...] = ()
    publish_landscape: bool = False
    landscape_every_n: int = 10
    autostart: bool = True
    # Official V-JEPA 2 checkpoints carry no normalisation or image size: these apply to them.
    official_img_size: int = 256

    def validate(self):
        """Raise ConfigError naming the first bad field."""
        require_finite('rate_hz', self.rate_hz)
        if not 0.1 <= self.rate_hz <= 100.0:
            raise ConfigError(f'rate_hz must be within 0.1..100 Hz, got {self.rate_hz}')
        if self.command_mode not in COMMAND_MODES:
            raise ConfigError(
                f'command_mode must be one of {COMMAND_MODES}, got {self.command_mode!r}')
        if self.dtype not in ('fp32', 'bf16', 'fp16'):
            raise ConfigError(f'dtype must be fp32, bf16 or fp16, got {self.dtype!r}')
        dev = self.device
        if not (dev in ('auto', 'cpu', 'cuda') or (dev.startswith('cuda:')
                                                   and dev[5:].isdigit())):
            raise ConfigError(f'device must be auto, cpu, cuda or cuda:N, got {dev!r}')
        for name in ('image_timeout_s', 'pose_timeout_s'):
            value = getattr(self, name)
            require_finite(name, value)
            if value <= 0:
                raise ConfigError(f'{name} must be > 0, got {value}')
        if self.landscape_every_n < 1:
            raise ConfigError('landscape_every_n must be >= 1')
        return self

    @property
    def period_s(self):
        """Control period in seconds."""
        return 1.0 / self.rate_hz
