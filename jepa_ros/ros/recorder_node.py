# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Record teleoperated play data from ROS topics into jepa_ros episodes (``jepa_ros.data`` format).

Subscribes to ``camera/image_raw`` (sensor_msgs/Image, sensor-data QoS), ``ee_pose``
(geometry_msgs/PoseStamped, base frame) and the gripper: ``joint_states`` (a finger joint mapped
to 0 open .. 1 closed) or ``gripper_command`` (std_msgs/Float64). While recording, a fixed-rate
timer samples the latest of each into one step; a step is skipped (and logged) when a stream is
older than ``max_input_age_s``. Actions are derived from consecutive states by
``jepa_ros.data.make_episode``, as for simulated play data.

Services: ``~/start`` and ``~/stop`` (std_srvs/Trigger; stop writes the episode) and
``~/record`` (std_srvs/SetBool). Episodes are written atomically (``write_episode``); on Ctrl-C
the episode being recorded is written before the node exits.
"""

from dataclasses import dataclass
import math
from pathlib import Path
import sys
import threading
import time

from geometry_msgs.msg import PoseStamped
from jepa_ros.control.commands import fit_image
from jepa_ros.data.episode import (episode_path, EpisodeError, make_episode,
                                   next_episode_index, write_episode)
from jepa_ros.ros.image_conversion import image_to_numpy
from jepa_ros.ros.params import declare_config
from jepa_ros.ros.planner_msgs import base_frame_pose_state, joint_position
from jepa_ros.ros.qos import command_qos, sensor_qos, state_qos
from jepa_ros.ros.spin import honor_sigint, shutdown_executor
from jepa_ros.utils.config import ConfigError, to_dict
import numpy as np
import rclpy
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Float64
from std_srvs.srv import SetBool, Trigger

NODE_NAME = 'recorder_node'
GRIPPER_SOURCES = ('joint_states', 'gripper_command', 'none')


@dataclass
class RecorderConfig:
    """Where and how episodes are recorded."""

    out_dir: str = 'data/recorded'
    rate_hz: float = 10.0                  # steps per second (the episode's control_dt = 1/rate)
    image_size: int = 64                   # stored frames are image_size^2 (0: camera size)
    image_resize: str = 'crop'             # crop: centre square then resize; stretch
    base_frame: str = 'panda_link0'
    gripper_source: str = 'joint_states'   # joint_states, gripper_command or none (always 0)
    gripper_joint: str = 'panda_finger_joint1'
    gripper_open_position: float = 0.04
    gripper_closed_position: float = 0.0
    max_input_age_s: float = 0.5           # a step needs every stream at most this old
    max_steps: int = 0                     # > 0: write and start a new episode after this many
    record_on_start: bool = False
    compress: bool = True
    robot_name: str = 'panda'

    def validate(self):
        """Raise ConfigError naming the first bad field."""
        if not self.out_dir:
            raise ConfigError('RecorderConfig.out_dir must not be empty')
        for name in ('rate_hz', 'max_input_age_s'):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise ConfigError(f'RecorderConfig.{name} must be a positive number, got {value}')
        if self.image_size != 0 and not 16 <= self.image_size <= 1024:
            raise ConfigError(f'RecorderConfig.image_size must be 0 or 16..1024, got '
                              f'{self.image_size}')
        if self.image_resize not in ('crop', 'stretch'):
            raise ConfigError(f'RecorderConfig.image_resize must be crop or stretch, got '
                              f'{self.image_resize!r}')
        if self.gripper_source not in GRIPPER_SOURCES:
            raise ConfigError(f'RecorderConfig.gripper_source must be one of {GRIPPER_SOURCES}, '
                              f'got {self.gripper_source!r}')
        if self.gripper_open_position == self.gripper_closed_position:
            raise ConfigError('RecorderConfig.gripper_open_position and gripper_closed_position '
                              'must differ')
        if self.max_steps < 0 or self.max_steps == 1:
            raise ConfigError('RecorderConfig.max_steps must be 0 (no limit) or >= 2')
        return self


def recorder_params_yaml() -> str:
    """Return config/recorder.yaml's body: the RecorderConfig defaults, block style."""
    import yaml
    return yaml.safe_dump({NODE_NAME: {'ros__parameters': to_dict(RecorderConfig())}},
                          sort_keys=False, default_flow_style=False, width=99)


class EpisodeBuffer:
    """Steps of the episode being recorded; ``flush`` writes them as one episode file."""

    def __init__(self, cfg: RecorderConfig, metadata: dict):
        self.cfg = cfg
        self.metadata = metadata
        self.clear()

    def clear(self):
        """Drop the buffered steps."""
        self.frames, self.states, self.times = [], [], []

    def __len__(self):
        return len(self.states)

    def add(self, frame, state, t):
        """Append one step (frame uint8 (H, W, 3), state (7,), t seconds)."""
        if self.times and t <= self.times[-1]:
            return False
        self.frames.append(frame)
        self.states.append(np.asarray(state, dtype=np.float64))
        self.times.append(float(t))
        return True

    def flush(self):
        """Write the buffered steps as the next episode; return its path (None if < 2 steps)."""
        if len(self) < 2:
            self.clear()
            return None
        times = np.asarray(self.times) - self.times[0]
        meta = dict(self.metadata, num_recorded_steps=len(self))
        episode = make_episode(np.stack(self.frames), np.stack(self.states), timestamps=times,
                               metadata=meta, control_dt=1.0 / self.cfg.rate_hz)
        out = Path(self.cfg.out_dir).expanduser()
        out.mkdir(parents=True, exist_ok=True)
        path = write_episode(episode_path(out, next_episode_index(out)), episode,
                             compress=self.cfg.compress)
        self.clear()
        return path


class RecorderNode(Node):
    """Topic recorder; see the module docstring."""

    def __init__(self, **kwargs):
        """Declare parameters (ConfigError names a bad one), subscriptions and services."""
        super().__init__(NODE_NAME, **kwargs)
        self.cfg = cfg = declare_config(self, RecorderConfig)
        self._lock = threading.Lock()
        self._image = self._state6 = None
        self._image_t = self._pose_t = self._gripper_t = -math.inf
        self._gripper = 0.0
        self._camera_meta = {}
        self.recording = False
        self._t0 = None
        self._last_skip_log = -math.inf
        self.written = []
        inputs = MutuallyExclusiveCallbackGroup()
        self.buffer = EpisodeBuffer(cfg, {
            'source': 'jepa_ros recorder_node',
            'camera': {'name': 'camera', 'topic': self.resolve_topic_name('camera/image_raw')},
            'robot': {'name': cfg.robot_name, 'frame': cfg.base_frame,
                      'control_dt': 1.0 / cfg.rate_hz,
                      'pose_topic': self.resolve_topic_name('ee_pose'),
                      'gripper_source': cfg.gripper_source,
                      'state': 'x y z roll pitch yaw gripper', 'action': 'state delta'},
        })
        self.create_subscription(Image, 'camera/image_raw', self._on_image, sensor_qos(2),
                                 callback_group=inputs)
        self.create_subscription(PoseStamped, 'ee_pose', self._on_pose, state_qos(),
                                 callback_group=inputs)
        if cfg.gripper_source == 'joint_states':
            self.create_subscription(JointState, 'joint_states', self._on_joint_states,
                                     state_qos(), callback_group=inputs)
        elif cfg.gripper_source == 'gripper_command':
            self.create_subscription(Float64, 'gripper_command', self._on_gripper_command,
                                     command_qos(), callback_group=inputs)
        services = MutuallyExclusiveCallbackGroup()
        self.create_service(Trigger, '~/start', self._on_start, callback_group=services)
        self.create_service(Trigger, '~/stop', self._on_stop, callback_group=services)
        self.create_service(SetBool, '~/record', self._on_record, callback_group=services)
        self.timer = self.create_timer(1.0 / cfg.rate_hz, self._on_timer,
                                       callback_group=services)
        if cfg.record_on_start:
            self.start_recording()
        self.get_logger().info(f'recorder ready: {cfg.rate_hz:g} Hz into {cfg.out_dir} '
                               f'(call ~/start and ~/stop)')

    # ------------------------------------------------------------------ inputs
    def _on_image(self, msg):
        try:
            img = image_to_numpy(msg, 'rgb8')
            if self.cfg.image_size:
                img = fit_image(img, self.cfg.image_size, self.cfg.image_resize)
            else:
                img = np.array(img)
        except ValueError as exc:
            self.get_logger().warn(f'camera frame dropped: {exc}', throttle_duration_sec=5.0)
            return
        with self._lock:
            self._image, self._image_t = img, time.monotonic()
            if not self._camera_meta:
                self._camera_meta = {'width': int(img.shape[1]), 'height': int(img.shape[0]),
                                     'source_size': [int(msg.height), int(msg.width)],
                                     'frame_id': msg.header.frame_id}

    def _on_pose(self, msg):
        try:
            state6 = base_frame_pose_state(msg, self.cfg.base_frame)
        except ValueError as exc:
            self.get_logger().warn(f'ee_pose dropped: {exc}', throttle_duration_sec=5.0)
            return
        with self._lock:
            self._state6, self._pose_t = state6, time.monotonic()

    def _set_gripper(self, value):
        with self._lock:
            self._gripper = min(1.0, max(0.0, float(value)))
            self._gripper_t = time.monotonic()

    def _on_joint_states(self, msg):
        q = joint_position(msg, self.cfg.gripper_joint)
        if q is not None:
            span = self.cfg.gripper_closed_position - self.cfg.gripper_open_position
            self._set_gripper((q - self.cfg.gripper_open_position) / span)

    def _on_gripper_command(self, msg):
        if math.isfinite(msg.data):
            self._set_gripper(msg.data)

    # ------------------------------------------------------------------ recording
    def start_recording(self):
        """Start a new episode (a running one is written first)."""
        path = self.flush() if self.recording else None
        with self._lock:
            self.recording = True
            self._t0 = time.monotonic()
        self.get_logger().info('recording started')
        return path

    def flush(self):
        """Write the buffered steps as an episode (if >= 2); return the path or None."""
        with self._lock:
            self.buffer.metadata['camera'].update(self._camera_meta)
            try:
                path = self.buffer.flush()
            except (EpisodeError, OSError) as exc:
                self.get_logger().error(f'episode NOT written: {exc}')
                return None
        if path is not None:
            self.written.append(path)
            self.get_logger().info(f'episode written: {path}')
        return path

    def stop_recording(self):
        """Stop and write the episode; return its path (None when it had < 2 steps)."""
        with self._lock:
            was = self.recording
            self.recording = False
        path = self.flush() if was else None
        if was and path is None:
            self.get_logger().warn('recording stopped with fewer than 2 steps: nothing written')
        return path

    def _on_start(self, request, response):
        self.start_recording()
        response.success, response.message = True, 'recording'
        return response

    def _on_stop(self, request, response):
        if not self.recording:
            response.success, response.message = False, 'not recording'
            return response
        path = self.stop_recording()
        response.success = path is not None
        response.message = str(path) if path else 'fewer than 2 steps recorded: nothing written'
        return response

    def _on_record(self, request, response):
        if request.data:
            return self._on_start(request, response)
        return self._on_stop(request, response)

    def _on_timer(self):
        now = time.monotonic()
        with self._lock:
            if not self.recording:
                return
            ages = {'camera': now - self._image_t, 'ee_pose': now - self._pose_t}
            if self.cfg.gripper_source != 'none':
                ages['gripper'] = now - self._gripper_t
            stale = {k: a for k, a in ages.items() if a > self.cfg.max_input_age_s}
            if not stale:
                state = np.concatenate([self._state6, [self._gripper]])
                self.buffer.add(self._image, state, now - self._t0)
            full = self.cfg.max_steps and len(self.buffer) >= self.cfg.max_steps
        if stale and now - self._last_skip_log > 2.0:
            self._last_skip_log = now
            text = ', '.join(f'{k} {"never received" if math.isinf(a) else f"{a:.2f} s old"}'
                             for k, a in stale.items())
            self.get_logger().warn(f'step skipped: {text}')
        if full:
            self.flush()


def main(args=None):
    """Record until Ctrl-C, then write the current episode; bad parameters exit with status 2."""
    honor_sigint()
    rclpy.init(args=args)
    node = None
    executor = None
    code = 0
    try:
        node = RecorderNode()
        # Single-threaded: under rclpy Jazzy's MultiThreadedExecutor the 5 Hz recording timer was
        # measured firing late and in bursts (8 ticks in 2.7 s); callbacks here are all short.
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        executor.spin()
    except ConfigError as exc:
        print(f'{NODE_NAME}: bad configuration: {exc}', file=sys.stderr)
        code = 2
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:  # noqa: B902
        if rclpy.ok():
            raise
        # Ctrl-C invalidated the context inside a callback: a normal stop (the finally flushes).
    finally:
        shutdown_executor(executor)
        if node is not None:
            node.stop_recording()  # nothing recorded is lost on Ctrl-C
            node.destroy_node()
        rclpy.try_shutdown()
    return code


if __name__ == '__main__':
    sys.exit(main())
