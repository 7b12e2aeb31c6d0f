# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Settings of the simulated arm, shared by the Python API, the CLI and the ROS node."""

from dataclasses import dataclass
from typing import Optional, Tuple

from jepa_ros.utils.config import ConfigError, require_finite

PANDA_ARM_JOINTS = tuple(f'panda_joint{i}' for i in range(1, 8))
PANDA_FINGER_JOINTS = ('panda_finger_joint1', 'panda_finger_joint2')
# Gripper pointing straight down above the table centre, elbow up (EE at about (0.45, 0, 0.30)).
PANDA_HOME_QPOS = (0.0, -0.2925, 0.0, -2.3837, 0.0, 0.5211, 0.0)
# Scene appearance regimes (see jepa_ros/sim/variation.py): the nominal scene, randomised play
# data, and a held-out colour family / lighting range for testing robustness.
VARIATION_REGIMES = ('none', 'train', 'unseen')


@dataclass
class SimConfig:
    """
    Scene, control and rendering settings of :class:`jepa_ros.sim.SimArm`.

    Poses are in the arm base frame (REP-103: x forward, y left, z up). The name fields let
    users bring their own MJCF model (see ``jepa_ros/sim/model.py`` for what it must contain).
    """

    mjcf_path: Optional[str] = None          # None: the embedded Panda scene
    image_size: int = 128                    # rendered images are image_size x image_size
    camera: str = 'front'                    # default camera for observations
    control_dt: float = 0.1                  # seconds of physics per step()
    max_step_translation: float = 0.05       # |dx|, |dy|, |dz| per step [m]
    max_step_rotation: float = 0.25          # |droll|, |dpitch|, |dyaw| per step [rad]
    max_joint_velocity: float = 2.0          # joint targets never move faster [rad/s]
    workspace_low: Tuple[float, ...] = (0.25, -0.35, 0.03)
    workspace_high: Tuple[float, ...] = (0.75, 0.35, 0.55)
    cube_spawn_low: Tuple[float, ...] = (0.40, -0.15)
    cube_spawn_high: Tuple[float, ...] = (0.60, 0.15)
    home_qpos: Tuple[float, ...] = PANDA_HOME_QPOS
    gravity_compensation: bool = True
    ik_damping: float = 0.05
    ik_max_iters: int = 100
    ik_pos_tolerance: float = 0.002          # success threshold [m]
    ik_rot_tolerance: float = 0.02           # success threshold [rad]
    # Names in the MJCF model.
    base_body: str = 'panda_link0'
    ee_site: str = 'ee_site'
    arm_joints: Tuple[str, ...] = PANDA_ARM_JOINTS
    finger_joints: Tuple[str, ...] = PANDA_FINGER_JOINTS
    cube_body: str = 'cube'                  # '' when the model has no cube
    side_camera: str = 'side'                # '' when the model has no second camera
    variation: str = 'none'                  # scene appearance per reset: none, train, unseen

    def validate(self):
        """Raise ConfigError naming the first bad field."""
        if not 16 <= self.image_size <= 1024:
            raise ConfigError(f'SimConfig.image_size must be in 16..1024, got {self.image_size}')
        for name in ('control_dt', 'max_step_translation', 'max_step_rotation',
                     'max_joint_velocity', 'ik_damping', 'ik_pos_tolerance', 'ik_rot_tolerance'):
            value = getattr(self, name)
            require_finite(f'SimConfig.{name}', value)
            if value <= 0:
                raise ConfigError(f'SimConfig.{name} must be > 0, got {value}')
        if self.ik_max_iters < 1:
            raise ConfigError(f'SimConfig.ik_max_iters must be >= 1, got {self.ik_max_iters}')
        for name, size in (('workspace_low', 3), ('workspace_high', 3),
                           ('cube_spawn_low', 2), ('cube_spawn_high', 2)):
            value = getattr(self, name)
            if len(value) != size:
                raise ConfigError(f'SimConfig.{name} needs {size} numbers, got {list(value)}')
            require_finite(f'SimConfig.{name}', *value)
        if any(lo >= hi for lo, hi in zip(self.workspace_low, self.workspace_high)):
            raise ConfigError('SimConfig.workspace_low must be below workspace_high on every axis;'
                              f' got {list(self.workspace_low)} / {list(self.workspace_high)}')
        if any(lo > hi for lo, hi in zip(self.cube_spawn_low, self.cube_spawn_high)):
            raise ConfigError('SimConfig.cube_spawn_low must not exceed cube_spawn_high')
        if len(self.home_qpos) != len(self.arm_joints):
            raise ConfigError(f'SimConfig.home_qpos has {len(self.home_qpos)} values but '
                              f'arm_joints names {len(self.arm_joints)} joints')
        require_finite('SimConfig.home_qpos', *self.home_qpos)
        if not self.arm_joints:
            raise ConfigError('SimConfig.arm_joints must name at least one joint')
        for name in ('camera', 'base_body', 'ee_site'):
            if not getattr(self, name):
                raise ConfigError(f'SimConfig.{name} must not be empty')
        if self.variation not in VARIATION_REGIMES:
            raise ConfigError(f'SimConfig.variation must be one of {", ".join(VARIATION_REGIMES)};'
                              f' got {self.variation!r}')
