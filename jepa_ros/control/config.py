# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Configuration of the closed MPC loop (shared by the planner node and the CLI)."""

from dataclasses import dataclass
from typing import Tuple

from jepa_ros.utils.config import ConfigError, require_finite

COMMAND_MODES = ('twist', 'pose', 'joint_trajectory')
RESIZE_MODES = ('crop', 'stretch')
PANDA_ARM_JOINTS = tuple(f'panda_joint{i}' for i in range(1, 8))
DEFAULT_IMAGE_TOPIC = 'camera/image_raw'


@dataclass
class MPCNodeConfig:
    """What the planner node needs beyond the planner itself: model, rates, goals, safety."""

    # -- model
    checkpoint: str = 'default'          # own model name/dir, or an official V-JEPA 2-AC .pt
    world_model: str = ''                # 'module:function' factory (tests, custom models)
    device: str = 'auto'                 # auto, cpu, cuda, cuda:N
    dtype: str = 'auto'   # auto: fp32 until bf16 is proven for a model (models.resolve_precision)
    torch_threads: int = 0               # 0: one thread on CPU, torch's default on CUDA
    warmup: bool = True                  # plan once at configure time (first call is slow)
    # Official V-JEPA 2 checkpoints carry no normalisation or image size: these apply to them.
    official_img_size: int = 256
    # Planner settings by device (jepa_ros.control.profiles): auto, cpu, cuda or none; any
    # planner.* parameter you set beats the profile.
    planner_profile: str = 'auto'
    # -- loop
    rate_hz: float = 5.0
    command_mode: str = 'twist'
    base_frame: str = 'panda_link0'
    # A frame older than this when a command would go out (after planning) gives a hold. The
    # cpu-profile plan takes ~0.2 s alone on 2 cores and up to ~0.6 s beside other load.
    image_timeout_s: float = 1.0
    pose_timeout_s: float = 0.5
    hold_log_period_s: float = 2.0       # throttle of the "holding still because ..." log
    image_resize: str = 'crop'           # crop: centre square then resize; stretch: resize only
    # -- cameras: one topic per view of a multi-view model (empty: camera/image_raw alone)
    image_topics: Tuple[str, ...] = ()
    image_sync_slop: float = 0.05        # s: stamps of one observation's views must agree
    autostart: bool = True
    # -- goals
    goal_image_path: str = ''
    subgoal_image_paths: Tuple[str, ...] = ()
    # One flag per goal file (sub-goals, then goal_image_path): true where the image shows the
    # object in the hand (pick-and-place's carry). The sub-goal before it is then left once
    # the gripper's fingers hold something (gripper_joint stopped short of the command) and
    # the gripper stays shut meanwhile; empty: sub-goals switch on energy and budget only.
    subgoal_needs_hold: Tuple[bool, ...] = ()
    # -- gripper state from joint_states (finger position -> 0 open .. 1 closed)
    gripper_joint: str = 'panda_finger_joint1'
    gripper_open_position: float = 0.04
    gripper_closed_position: float = 0.0
    publish_gripper: bool = True
    # -- command limits (on top of the planner's per-step limits)
    max_linear_speed: float = 0.5        # m/s
    max_angular_speed: float = 1.0       # rad/s
    # -- joint_trajectory mode: IK on the embedded Panda (or ik_mjcf_path)
    trajectory_joints: Tuple[str, ...] = PANDA_ARM_JOINTS
    ik_mjcf_path: str = ''
    # -- visualisation
    publish_landscape: bool = False
    landscape_every_n: int = 10

    def validate(self):
        """Raise ConfigError naming the first bad field."""
        require_finite('rate_hz', self.rate_hz)
        if not 0.1 <= self.rate_hz <= 100.0:
            raise ConfigError(f'rate_hz must be within 0.1..100 Hz, got {self.rate_hz}')
        if self.command_mode not in COMMAND_MODES:
            raise ConfigError(
                f'command_mode must be one of {COMMAND_MODES}, got {self.command_mode!r}')
        if self.image_resize not in RESIZE_MODES:
            raise ConfigError(f'image_resize must be one of {RESIZE_MODES}, got '
                              f'{self.image_resize!r}')
        from jepa_ros.control.profiles import PROFILE_CHOICES
        if self.planner_profile not in PROFILE_CHOICES:
            raise ConfigError(f'planner_profile must be one of {", ".join(PROFILE_CHOICES)}, '
                              f'got {self.planner_profile!r}')
        from jepa_ros.models.runtime import PLANNING_PRECISIONS
        if self.dtype != 'auto' and self.dtype not in PLANNING_PRECISIONS:
            raise ConfigError(f'dtype must be auto or one of {", ".join(PLANNING_PRECISIONS)} '
                              f'(int8: compact models on a CPU), got {self.dtype!r}')
        dev = self.device
        if not (dev in ('auto', 'cpu', 'cuda') or (dev.startswith('cuda:')
                                                   and dev[5:].isdigit())):
            raise ConfigError(f'device must be auto, cpu, cuda or cuda:N, got {dev!r}')
        if not self.checkpoint and not self.world_model:
            raise ConfigError('checkpoint is empty: give a model directory, a model name, '
                              '"default" or an official V-JEPA 2-AC .pt file')
        if self.world_model and ':' not in self.world_model:
            raise ConfigError(f'world_model must look like "package.module:function", got '
                              f'{self.world_model!r}')
        if self.torch_threads < 0:
            raise ConfigError(f'torch_threads must be >= 0 (0: automatic), got '
                              f'{self.torch_threads}')
        if self.official_img_size < 16:
            raise ConfigError(f'official_img_size must be >= 16, got {self.official_img_size}')
        for name in ('image_timeout_s', 'pose_timeout_s', 'hold_log_period_s',
                     'max_linear_speed', 'max_angular_speed'):
            value = getattr(self, name)
            require_finite(name, value)
            if value <= 0:
                raise ConfigError(f'{name} must be > 0, got {value}')
        require_finite('image_sync_slop', self.image_sync_slop)
        if self.image_sync_slop < 0:
            raise ConfigError(f'image_sync_slop must be >= 0, got {self.image_sync_slop}')
        if any(not t for t in self.image_topics):
            raise ConfigError(f'image_topics must not contain empty names, got '
                              f'{list(self.image_topics)}')
        if len(set(self.image_topics)) != len(self.image_topics):
            raise ConfigError(f'image_topics names a topic twice: {list(self.image_topics)}')
        require_finite('gripper_open_position', self.gripper_open_position)
        require_finite('gripper_closed_position', self.gripper_closed_position)
        if self.gripper_open_position == self.gripper_closed_position:
            raise ConfigError('gripper_open_position and gripper_closed_position must differ')
        n_goals = len(self.subgoal_image_paths) + bool(self.goal_image_path)
        if self.subgoal_needs_hold and len(self.subgoal_needs_hold) != n_goals:
            raise ConfigError(f'subgoal_needs_hold has {len(self.subgoal_needs_hold)} flags for '
                              f'{n_goals} goal images (subgoal_image_paths + goal_image_path)')
        if self.subgoal_needs_hold and self.subgoal_needs_hold[0]:
            raise ConfigError('subgoal_needs_hold: the first goal image cannot need an object '
                              'in hand (nothing before it grasps one)')
        if self.landscape_every_n < 1:
            raise ConfigError('landscape_every_n must be >= 1')
        if self.command_mode == 'joint_trajectory' and not self.trajectory_joints:
            raise ConfigError('trajectory_joints must name the arm joints for '
                              'command_mode joint_trajectory')
        if not self.base_frame:
            raise ConfigError('base_frame must not be empty')
        return self

    @property
    def camera_topics(self) -> Tuple[str, ...]:
        """Image topics in view order: ``image_topics``, or ``camera/image_raw`` alone."""
        return tuple(self.image_topics) or (DEFAULT_IMAGE_TOPIC,)

    @property
    def period_s(self):
        """Control period in seconds."""
        return 1.0 / self.rate_hz

    def gripper_from_position(self, position: float) -> float:
        """Map a finger joint position to 0 open .. 1 closed (clipped)."""
        span = self.gripper_closed_position - self.gripper_open_position
        value = (float(position) - self.gripper_open_position) / span
        return min(1.0, max(0.0, value))
