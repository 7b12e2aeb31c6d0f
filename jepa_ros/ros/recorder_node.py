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

Further cameras (``extra_image_topics``) make multi-view episodes: every step then stores one
frame per camera, the set whose header stamps lie within ``image_sync_slop`` of each other (the
planner node's rule, :class:`jepa_ros.control.image_sync.ViewSync`); a step without such a set is
skipped and counted, never recorded with mismatched views. The camera names (``view_names``, or
derived from the topics) go to ``metadata['views']``.

Services: ``~/start`` and ``~/stop`` (std_srvs/Trigger; stop writes the episode) and
``~/record`` (std_srvs/SetBool). Episodes are written atomically (``write_episode``); on Ctrl-C
or SIGTERM the episode being recorded is written before the node exits. Against a hard kill,
every ``chunk_steps`` steps also go to disk as chunks (``jepa_ros.data.recording``): at most
that many steps are lost, and the next start (or ``jepa-ros recover OUT``) turns the chunks into
an episode marked ``recovered``.
"""

from dataclasses import dataclass
import math
from pathlib import Path
import sys
import threading
import time
from typing import Tuple

from geometry_msgs.msg import PoseStamped
from jepa_ros.control.commands import check_image_shape, fit_image
from jepa_ros.control.image_sync import camera_names, ViewSync
from jepa_ros.data.episode import episode_path, EpisodeError, make_episode, write_episode
from jepa_ros.data.recording import ChunkWriter, next_free_index, recover_recordings
from jepa_ros.ros.image_conversion import image_to_numpy
from jepa_ros.ros.node_main import run_node
from jepa_ros.ros.params import declare_config, refuse_unknown_parameters
from jepa_ros.ros.planner_msgs import base_frame_pose_state, joint_position, nonfinite_joints
from jepa_ros.ros.qos import command_qos, sensor_qos, state_qos
from jepa_ros.utils.config import ConfigError, to_dict
import numpy as np
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.executors import SingleThreadedExecutor
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
    # Crash safety: every chunk_steps steps also go to disk (OUT/.recording_NNNNNN/), so a
    # killed recorder loses at most that many; recovered at the next start. 0: memory only.
    chunk_steps: int = 10
    record_on_start: bool = False
    compress: bool = True
    robot_name: str = 'panda'
    # Further cameras, one image topic each (e.g. [camera_side/image_raw]): multi-view episodes.
    extra_image_topics: Tuple[str, ...] = ()
    # Camera names of all views, the main camera first ('' = from the topics: camera, side).
    view_names: Tuple[str, ...] = ()
    image_sync_slop: float = 0.05          # s: header stamps of one step's views must agree

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
        if self.chunk_steps < 0:
            raise ConfigError(f'RecorderConfig.chunk_steps must be >= 0, got {self.chunk_steps}')
        if self.max_steps < 0 or self.max_steps == 1:
            raise ConfigError('RecorderConfig.max_steps must be 0 (no limit) or >= 2')
        if not math.isfinite(self.image_sync_slop) or self.image_sync_slop < 0:
            raise ConfigError(f'RecorderConfig.image_sync_slop must be a number >= 0, got '
                              f'{self.image_sync_slop}')
        topics = list(self.extra_image_topics)
        if any(not t for t in topics) or len(set(topics)) != len(topics):
            raise ConfigError(f'RecorderConfig.extra_image_topics must be distinct, non-empty '
                              f'topic names, got {topics}')
        if self.view_names:
            try:
                camera_names(['camera/image_raw'] + topics, self.view_names)
            except ConfigError as exc:
                raise ConfigError(f'RecorderConfig.{exc}') from None
        return self


def recorder_params_yaml() -> str:
    """
    Return config/recorder.yaml's body: the RecorderConfig defaults, block style.

    Empty lists become '' as declare_config expects (an empty YAML list has no ROS type).
    """
    import yaml
    params = {k: ('' if isinstance(v, list) and not v else v)
              for k, v in to_dict(RecorderConfig()).items()}
    return yaml.safe_dump({NODE_NAME: {'ros__parameters': params}}, sort_keys=False,
                          default_flow_style=False, width=99)


class EpisodeBuffer:
    """
    Steps of the episode being recorded; ``flush`` writes them as one episode file.

    ``num_views`` > 1: each step holds that many camera frames (the first camera's first).
    Every ``cfg.chunk_steps`` new steps also go to disk as an atomic chunk
    (:class:`jepa_ros.data.recording.ChunkWriter`), so a killed recorder loses at most that many
    steps; ``chunk_steps`` 0 keeps everything in memory until ``flush``.
    """

    def __init__(self, cfg: RecorderConfig, metadata: dict, num_views: int = 1):
        self.cfg = cfg
        self.metadata = metadata
        self.num_views = int(num_views)
        self.chunks = None
        self.clear()

    def clear(self):
        """Drop the buffered steps, their chunks on disk and the skip count."""
        if self.chunks is not None:
            self.chunks.discard()
        self.chunks = None
        self.frames, self.states, self.times = [], [], []
        self.extra = [[] for _ in range(self.num_views - 1)]
        self.skipped = 0
        self.saved = 0             # steps already in chunks on disk

    def __len__(self):
        return len(self.states)

    def mismatch(self, frames):
        """Return why a step's frames (one per view) cannot join the episode, or None."""
        if len(frames) != self.num_views:
            return f'{len(frames)} camera view(s) for a {self.num_views}-view episode'
        shapes = [tuple(np.shape(f)) for f in frames]
        want = tuple(self.frames[0].shape) if self.frames else shapes[0]
        if any(s != want for s in shapes):
            return (f'camera frame sizes {shapes} differ from the episode frames {want} (set '
                    f'image_size to store every camera at one size)')
        return None

    def add(self, frame, state, t, extra_frames=()):
        """Append one step (frame uint8 (H, W, 3), state (7,), t seconds, the other views)."""
        frames = [frame] + list(extra_frames)
        if (self.times and t <= self.times[-1]) or self.mismatch(frames):
            return False
        self.frames.append(frame)
        for views, f in zip(self.extra, frames[1:]):
            views.append(f)
        self.states.append(np.asarray(state, dtype=np.float64))
        self.times.append(float(t))
        if self.cfg.chunk_steps and len(self) - self.saved >= self.cfg.chunk_steps:
            self.save_chunk()
        return True

    def save_chunk(self):
        """Write the steps not yet on disk as one chunk (crash safety; see the class doc)."""
        lo, hi = self.saved, len(self)
        if hi <= lo:
            return
        if self.chunks is None:
            out = Path(self.cfg.out_dir).expanduser()
            self.chunks = ChunkWriter(out, next_free_index(out), self.metadata,
                                      1.0 / self.cfg.rate_hz)
        views = [self.frames] + self.extra
        self.chunks.write([np.stack(v[lo:hi]) for v in views], np.stack(self.states[lo:hi]),
                          np.asarray(self.times[lo:hi]))
        self.saved = hi

    def flush(self):
        """Write the buffered steps as the next episode; return its path (None if < 2 steps)."""
        if len(self) < 2:
            self.clear()
            return None
        times = np.asarray(self.times) - self.times[0]
        meta = dict(self.metadata, num_recorded_steps=len(self))
        meta['skipped_steps'] = self.skipped
        episode = make_episode(np.stack(self.frames), np.stack(self.states), timestamps=times,
                               metadata=meta, control_dt=1.0 / self.cfg.rate_hz,
                               extra_frames=[np.stack(v) for v in self.extra])
        out = Path(self.cfg.out_dir).expanduser()
        out.mkdir(parents=True, exist_ok=True)
        # The chunks reserved this episode's index; the episode file replaces them.
        index = self.chunks.index if self.chunks is not None else next_free_index(out)
        path = write_episode(episode_path(out, index), episode, compress=self.cfg.compress)
        self.clear()
        return path


class RecorderNode(Node):
    """Topic recorder; see the module docstring."""

    def __init__(self, **kwargs):
        """Declare parameters (ConfigError names a bad one), subscriptions and services."""
        super().__init__(NODE_NAME, **kwargs)
        self.cfg = cfg = declare_config(self, RecorderConfig)
        refuse_unknown_parameters(self)
        self._lock = threading.Lock()
        self._image = self._state6 = None
        self._image_t = self._pose_t = self._gripper_t = -math.inf
        self._gripper = 0.0
        self._camera_meta = {}
        self.recording = False
        self.skipped_steps = 0     # steps skipped while recording, all episodes
        self._t0 = None
        self._last_skip_log = -math.inf
        self.written = []
        inputs = MutuallyExclusiveCallbackGroup()
        topics = ['camera/image_raw'] + list(cfg.extra_image_topics)
        resolved = [self.resolve_topic_name(t) for t in topics]
        if len(set(resolved)) != len(resolved):
            raise ConfigError(f'extra_image_topics: every camera needs its own topic, got '
                              f'{resolved} (the first is the main camera/image_raw)')
        self.view_names = camera_names(resolved, cfg.view_names)
        # Several cameras: a step takes the newest set of frames whose stamps agree.
        self._sync = ViewSync(resolved, cfg.image_sync_slop) if len(topics) > 1 else None
        metadata = {
            'source': 'jepa_ros recorder_node',
            'camera': {'name': self.view_names[0] if len(topics) > 1 or cfg.view_names
                       else 'camera',
                       'topic': resolved[0]},
            'robot': {'name': cfg.robot_name, 'frame': cfg.base_frame,
                      'control_dt': 1.0 / cfg.rate_hz,
                      'pose_topic': self.resolve_topic_name('ee_pose'),
                      'gripper_source': cfg.gripper_source,
                      'state': 'x y z roll pitch yaw gripper', 'action': 'state delta'},
        }
        if self._sync is not None:
            metadata.update(views=self.view_names, view_topics=resolved,
                            image_sync_slop=cfg.image_sync_slop)
        self.buffer = EpisodeBuffer(cfg, metadata, num_views=len(topics))
        for path in recover_recordings(Path(cfg.out_dir).expanduser(), compress=cfg.compress,
                                       log=self.get_logger().warn):
            self.written.append(path)
        for index, topic in enumerate(topics):
            self.create_subscription(Image, topic,
                                     lambda msg, i=index: self._on_image(msg, i),
                                     sensor_qos(2), callback_group=inputs)
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
        views = ''
        if self._sync is not None:
            views = ', views ' + ', '.join(f'{n} ({t})' for n, t in zip(self.view_names,
                                                                        resolved))
        self.get_logger().info(f'recorder ready: {cfg.rate_hz:g} Hz into {cfg.out_dir}{views} '
                               f'(call ~/start and ~/stop)')

    # ------------------------------------------------------------------ inputs
    def _on_image(self, msg, index=0):
        try:
            img = image_to_numpy(msg, 'rgb8')
            check_image_shape(img)
            if self.cfg.image_size:
                img = fit_image(img, self.cfg.image_size, self.cfg.image_resize)
            else:
                img = np.array(img)
        except ValueError as exc:
            self.get_logger().warn(f'camera frame dropped ({self.view_names[index]}): {exc}',
                                   throttle_duration_sec=5.0)
            return
        now = time.monotonic()
        with self._lock:
            if self._sync is not None:
                stamp = msg.header.stamp.sec + 1e-9 * msg.header.stamp.nanosec
                self._sync.add(index, stamp, img, now)
            if index:
                return
            self._image, self._image_t = img, now
            if not self._camera_meta:
                self._camera_meta = {'width': int(img.shape[1]), 'height': int(img.shape[0]),
                                     'source_size': [int(msg.height), int(msg.width)],
                                     'frame_id': msg.header.frame_id}
                self.buffer.metadata['camera'].update(self._camera_meta)

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
        bad = nonfinite_joints(msg, [self.cfg.gripper_joint])
        if bad:
            self.get_logger().warn(f'joint_states dropped: non-finite position of {bad}',
                                   throttle_duration_sec=5.0)
            return
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
            ages = {'ee_pose': now - self._pose_t}
            if self._sync is None:
                ages = {'camera': now - self._image_t, **ages}
            if self.cfg.gripper_source != 'none':
                ages['gripper'] = now - self._gripper_t
            stale = {k: a for k, a in ages.items() if a > self.cfg.max_input_age_s}
            reasons = [f'{k} {"never received" if math.isinf(a) else f"{a:.2f} s old"}'
                       for k, a in stale.items()]
            frames = [self._image]
            if self._sync is not None:
                views, why = self._sync.get(now, self.cfg.max_input_age_s)
                if views is None:
                    reasons.insert(0, why)
                else:
                    frames = views.images
            if not reasons:
                reasons = [r for r in [self.buffer.mismatch(frames)] if r]
            if not reasons:
                state = np.concatenate([self._state6, [self._gripper]])
                self.buffer.add(frames[0], state, now - self._t0, frames[1:])
            else:
                self.buffer.skipped += 1
                self.skipped_steps += 1
            skipped = self.buffer.skipped
            full = self.cfg.max_steps and len(self.buffer) >= self.cfg.max_steps
        if reasons and now - self._last_skip_log > 2.0:
            self._last_skip_log = now
            self.get_logger().warn(f'step skipped: {", ".join(reasons)} ({skipped} skipped in '
                                   f'this episode)')
        if full:
            self.flush()


def main(args=None):
    """Record until Ctrl-C, then write the current episode; bad parameters exit with status 2."""
    # Single-threaded: under rclpy Jazzy's MultiThreadedExecutor the 5 Hz recording timer was
    # measured firing late and in bursts (8 ticks in 2.7 s); callbacks here are all short.
    # on_exit writes the episode being recorded: nothing recorded is lost on Ctrl-C / SIGTERM.
    return run_node(NODE_NAME, RecorderNode, args=args, executor_factory=SingleThreadedExecutor,
                    on_exit=lambda node: node.stop_recording())


if __name__ == '__main__':
    sys.exit(main())
