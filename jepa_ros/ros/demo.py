# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
``jepa-ros demo``: the main job end to end, over real ROS 2 / DDS, on the simulated arm.

Starts two child processes: the simulated arm (``sim_arm_node`` plus the demo's scene-reset and
``cube_pose`` extras) and ``planner_node`` with the shipped ``default`` model (until one is
trained: a clearly labelled random-weight model of the same shape). A client node in this
process runs reach and push episodes: it resets the scene, publishes the episode's goal image on
``goal_image`` and watches the arm until the task's success check holds or the step budget
(planner ticks) is spent. It records camera, poses, the planner's imagined path, markers,
diagnostics and the command topics into an MCAP rosbag2 (``ros2 bag play OUT/rosbag``), and
writes ``results.json``, ``summary.png`` and ``episodes.gif`` like ``jepa-ros eval``. The child
processes are stopped on every path (errors, Ctrl-C, SIGTERM).
"""

import json
import math
import os
from pathlib import Path
import shutil
import signal
import subprocess
import sys
import time

DEMO_TASKS = ('reach', 'push')
SCENE_FIELDS = 10          # seq, ee xyz, cube xyz, cube yaw, gripper, seed
VIDEO_EPISODES = 2         # episodes per task kept for episodes.gif
RESET_QUIET_S = 0.6        # s after a scene reset in which the sim node ignores commands
# Recorded topics: name -> (message type, kind of QoS to subscribe with).
RECORDED = {
    '/camera/image_raw': ('sensor_msgs/msg/Image', 'sensor'),
    '/camera/camera_info': ('sensor_msgs/msg/CameraInfo', 'sensor'),
    '/ee_pose': ('geometry_msgs/msg/PoseStamped', 'state'),
    '/joint_states': ('sensor_msgs/msg/JointState', 'state'),
    '/cube_pose': ('geometry_msgs/msg/PoseStamped', 'state'),
    '/goal_image': ('sensor_msgs/msg/Image', 'command'),
    '/target_pose': ('geometry_msgs/msg/PoseStamped', 'command'),
    '/delta_twist_cmds': ('geometry_msgs/msg/TwistStamped', 'command'),
    '/gripper_command': ('std_msgs/msg/Float64', 'command'),
    '/planner_node/imagined_path': ('nav_msgs/msg/Path', 'state'),
    '/planner_node/markers': ('visualization_msgs/msg/MarkerArray', 'state'),
    '/planner_node/goal_image': ('sensor_msgs/msg/Image', 'latched'),
    '/planner_node/diagnostics': ('std_msgs/msg/String', 'state'),
}


def add_arguments(parser):
    """Add the demo's options."""
    parser.add_argument('--out', default='out/demo', help='output folder (default: out/demo)')
    parser.add_argument('--episodes', type=int, default=2, help='episodes per task (default 2)')
    parser.add_argument('--tasks', default=','.join(DEMO_TASKS),
                        help='comma list of reach, push (default reach,push)')
    parser.add_argument('--steps', type=int, default=0,
                        help='planner ticks per episode (default 0: reach 30, push 40)')
    parser.add_argument('--seed', type=int, default=0, help='episode seed (default 0)')
    parser.add_argument('--checkpoint', default='default',
                        help='model for planner_node (default: the shipped "default")')
    parser.add_argument('--image-size', type=int, default=128, help='camera size in px')
    parser.add_argument('--rate-hz', type=float, default=5.0, help='planner loop rate')
    from jepa_ros.control.profiles import PROFILES
    cpu = PROFILES['cpu']   # the defaults below are the planner node's cpu profile
    parser.add_argument('--samples', type=int, default=None,
                        help=f'CEM samples per iteration (default: profile, {cpu["samples"]})')
    parser.add_argument('--iterations', type=int, default=None,
                        help=f'CEM iterations (default: profile, {cpu["iterations"]})')
    parser.add_argument('--horizon', type=int, default=None,
                        help=f'planning horizon (default: profile, {cpu["horizon"]})')
    parser.add_argument('--support-std', type=float, default=None,
                        help='planner trust region: keep targets within mean +- this many std of '
                             "the model's training positions (0: off; default: profile, "
                             f'{cpu["support_std"]})')
    parser.add_argument('--energy-weighting', default=None, choices=('none', 'changed'),
                        help="planner energy: 'changed' weights the tokens that differ between "
                             "the current and the goal image, 'none' is plain L1 (default: "
                             f'profile, {cpu["energy_weighting"]})')
    parser.add_argument('--startup-timeout', type=float, default=120.0,
                        help='seconds allowed for the nodes to come up (model load, warm-up)')
    return parser


class _Child:
    """A node process with its log; stopped with SIGINT (then SIGKILL) whatever happens."""

    def __init__(self, name, cmd, log_path, env=None):
        self.name = name
        self.log_path = log_path
        self._log = open(log_path, 'w')
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True, env=env)

    def check_alive(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f'{self.name} exited with status {self.proc.returncode}; '
                               f'log ({self.log_path}):\n{self.log_tail()}')

    def log_tail(self, lines=15):
        self._log.flush()
        return '\n'.join(Path(self.log_path).read_text().splitlines()[-lines:])

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGINT)
                self.proc.wait(timeout=8)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=5)
        self._log.close()


# ---------------------------------------------------------------------- the demo's sim node
def _demo_sim_node_class():
    """Return the sim node class with ``demo/scene`` (acked scene reset) and ``cube_pose``."""
    from geometry_msgs.msg import PoseStamped
    from jepa_ros.eval.tasks import place_scene
    from jepa_ros.ros.planner_msgs import pose_msg
    from jepa_ros.ros.qos import command_qos, state_qos
    from jepa_ros.ros.sim_arm_node import SimArmNode
    from std_msgs.msg import Float64MultiArray, Int64

    class DemoSimNode(SimArmNode):
        """The simulated arm with an episode reset and the cube's pose (ground truth)."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.cube_pub = self.create_publisher(PoseStamped, 'cube_pose', state_qos())
            self.ack_pub = self.create_publisher(Int64, 'demo/scene_ack', command_qos())
            self.create_subscription(Float64MultiArray, 'demo/scene', self._on_scene,
                                     command_qos())

        def _on_scene(self, msg):
            d = list(msg.data)
            if len(d) != SCENE_FIELDS or not all(math.isfinite(v) for v in d):
                self._reject('demo/scene', f'expected {SCENE_FIELDS} finite numbers')
                return
            try:
                place_scene(self.sim, int(d[9]), d[1:4], d[4:7], d[7], d[8])
            except ValueError as exc:
                self._reject('demo/scene', str(exc))
                return
            self._mode, self._traj, self._twist, self._target = None, None, None, None
            self._gripper_target = self.sim.gripper
            self._quiet_until = time.monotonic() + RESET_QUIET_S
            self.ack_pub.publish(Int64(data=int(d[0])))

        def _quiet(self):
            # Commands computed from the pre-reset pose (a hold in pose mode targets where the
            # arm was) would drag the arm back: drop arm and gripper commands for a moment.
            return time.monotonic() < getattr(self, '_quiet_until', 0.0)

        def _on_target_pose(self, msg):
            if not self._quiet():
                super()._on_target_pose(msg)

        def _on_twist(self, msg):
            if not self._quiet():
                super()._on_twist(msg)

        def _on_trajectory(self, msg):
            if not self._quiet():
                super()._on_trajectory(msg)

        def _on_gripper(self, msg):
            if not self._quiet():
                super()._on_gripper(msg)

        def _publish_state(self, stamp):
            super()._publish_state(stamp)
            obs = self.sim.observe(render=False)
            self.cube_pub.publish(pose_msg(obs.cube_pos, obs.cube_quat, self.cfg.frame_id,
                                           stamp))

    return DemoSimNode


def sim_node_main(args=None):
    """Run the demo's sim node until Ctrl-C (``python -m jepa_ros.ros.demo sim-node``)."""
    from jepa_ros.ros.sim_arm_node import main
    return main(args, node_class=_demo_sim_node_class())


# ---------------------------------------------------------------------- recording
def bag_qos(profile):
    """
    Return an rclpy QoSProfile as the rosbags ``Qos`` that rosbag2 stores per topic.

    ``ros2 bag play`` republishes each topic with its recorded ``offered_qos_profiles``: without
    them every topic comes back reliable / volatile, and a transient-local topic (the goal image
    RViz shows) is lost for late subscribers.
    """
    from rosbags.interfaces import (Qos, QosDurability, QosHistory, QosLiveliness,
                                    QosReliability, QosTime)

    def time_of(duration):
        ns = int(getattr(duration, 'nanoseconds', 0) or 0)
        return QosTime(ns // 1_000_000_000, ns % 1_000_000_000)
    return Qos(QosHistory(int(profile.history)), int(profile.depth),
               QosReliability(int(profile.reliability)), QosDurability(int(profile.durability)),
               time_of(profile.deadline), time_of(profile.lifespan),
               QosLiveliness(int(profile.liveliness)),
               time_of(profile.liveliness_lease_duration),
               bool(profile.avoid_ros_namespace_conventions))


class McapRecorder:
    """rosbag2 folder (metadata.yaml + .mcap) written with rosbags from serialized messages."""

    def __init__(self, path, topics):
        """``topics``: {topic: (message type, rclpy QoSProfile it is published with)}."""
        from rosbags.rosbag2 import StoragePlugin, Writer
        from rosbags.typesys import get_typestore, Stores
        self.path = Path(path)
        if self.path.exists():
            shutil.rmtree(self.path)
        typestore = get_typestore(Stores.ROS2_JAZZY)
        self.writer = Writer(self.path, version=8, storage_plugin=StoragePlugin.MCAP)
        self.writer.open()
        self.connections = {
            t: self.writer.add_connection(t, msgtype, typestore=typestore,
                                          offered_qos_profiles=[bag_qos(qos)])
            for t, (msgtype, qos) in topics.items()}
        self.counts = dict.fromkeys(topics, 0)

    def write(self, topic, data, stamp_ns=None):
        """Store one CDR-serialized message (receipt time unless ``stamp_ns``)."""
        self.writer.write(self.connections[topic], stamp_ns or time.time_ns(), bytes(data))
        self.counts[topic] += 1

    def close(self):
        """Finish the bag (writes metadata.yaml); safe to call twice."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def recorded_qos(kind):
    """Return the QoSProfile of a RECORDED topic kind (as its publisher offers it)."""
    from jepa_ros.ros.planner_node import latched_qos
    from jepa_ros.ros.qos import command_qos, sensor_qos, state_qos
    return {'sensor': sensor_qos, 'state': state_qos, 'command': command_qos,
            'latched': latched_qos}[kind]()


# ---------------------------------------------------------------------- client
def _message_class(name):
    """Return the Python class of a ROS message type such as 'nav_msgs/msg/Path'."""
    import importlib
    package, kind, cls = name.split('/')
    return getattr(importlib.import_module(f'{package}.{kind}'), cls)


def _client_class():
    """Build the client node class (ROS imports stay out of ``jepa-ros --help``)."""
    from types import SimpleNamespace

    from jepa_ros.eval.tasks import task_distance
    from jepa_ros.ros.image_conversion import image_to_numpy, numpy_to_image
    from jepa_ros.ros.planner_node import latched_qos
    from jepa_ros.ros.qos import command_qos, sensor_qos, state_qos
    import numpy as np
    from rclpy.node import Node
    from rclpy.serialization import deserialize_message
    from std_msgs.msg import Float64MultiArray, Int64
    from std_srvs.srv import Trigger

    qos = {'sensor': sensor_qos, 'state': state_qos, 'command': command_qos,
           'latched': latched_qos}

    class DemoClient(Node):
        """Resets scenes, publishes goal images, watches success and records everything."""

        def __init__(self, recorder, check_alive, **kwargs):
            super().__init__('jepa_ros_demo', **kwargs)
            self.recorder = recorder
            self.check_alive = check_alive
            self.types = {t: _message_class(m) for t, (m, _) in RECORDED.items()}
            self.image = self.ee_pos = self.cube_pos = None
            self.image_t = 0.0
            self.ack = -1
            self.diagnostics = []
            self.watch = None            # per-episode state while an episode runs
            for topic, (_, kind) in RECORDED.items():
                if topic == '/goal_image':
                    continue             # we publish it; recorded on publication
                self.create_subscription(self.types[topic], topic, self._callback(topic),
                                         qos[kind](), raw=True)
            self.create_subscription(Int64, '/demo/scene_ack', self._on_ack, command_qos())
            self.scene_pub = self.create_publisher(Float64MultiArray, '/demo/scene',
                                                   command_qos())
            self.goal_pub = self.create_publisher(self.types['/goal_image'], '/goal_image',
                                                  command_qos(1))
            self.clear_client = self.create_client(Trigger, '/planner_node/clear_goal')

        # -- subscriptions
        def _callback(self, topic):
            def cb(data):
                self.recorder.write(topic, data)
                handler = HANDLERS.get(topic)
                if handler is not None:
                    handler(self, deserialize_message(data, self.types[topic]))
            return cb

        def _on_ack(self, msg):
            self.ack = int(msg.data)

        def _on_image(self, msg):
            self.image = np.array(image_to_numpy(msg, 'rgb8'))
            self.image_t = time.monotonic()
            if self.watch is not None and self.watch['keep']:
                self.watch['frames'].append(self.image)
                self.watch['frame_d'].append(self._distance())

        def _on_ee(self, msg):
            p = msg.pose.position
            self.ee_pos = np.array([p.x, p.y, p.z])
            self._check_success()

        def _on_cube(self, msg):
            p = msg.pose.position
            self.cube_pos = np.array([p.x, p.y, p.z])
            self._check_success()

        def _on_diagnostics(self, msg):
            d = json.loads(msg.data)
            self.diagnostics.append(d)
            w = self.watch
            if w is None or d.get('plan_ms') is None or len(w['plan_ms']) >= w['spec'].steps:
                return   # no episode, a hold tick, or past the budget (settling)
            now = time.monotonic()
            w['plan_ms'].append(float(d['plan_ms']))
            if w['last_tick'] is not None:
                w['step_ms'].append(1e3 * (now - w['last_tick']))
            w['last_tick'] = now
            w['goal_index'].append(int(d.get('goal_index') or 0))
            w['distances'].append(self._distance())

        def _distance(self):
            w = self.watch
            if w is None or self.ee_pos is None or self.cube_pos is None:
                return float('nan')
            return task_distance(w['spec'], SimpleNamespace(ee_pos=self.ee_pos,
                                                            cube_pos=self.cube_pos))

        def _check_success(self):
            w = self.watch
            if w is not None and w['started'] and not w['success']:
                d = self._distance()
                if d <= w['spec'].threshold:
                    w['success'] = True

        # -- helpers
        def spin_until(self, predicate, timeout, executor, what):
            deadline = time.monotonic() + timeout
            while not predicate():
                self.check_alive()
                if time.monotonic() > deadline:
                    raise TimeoutError(f'{what}: nothing within {timeout:.0f} s')
                executor.spin_once(timeout_sec=0.02)

        def clear_goal(self, executor):
            self.spin_until(lambda: self.clear_client.service_is_ready(), 60.0, executor,
                            'planner_node/clear_goal service')
            future = self.clear_client.call_async(Trigger.Request())
            self.spin_until(future.done, 10.0, executor, 'clear_goal reply')
            # a tick that started before the clear may still publish a command: wait for a
            # hold tick (diagnostics with hold=True) before touching the scene
            n = len(self.diagnostics)
            self.spin_until(lambda: any(d.get('hold') for d in self.diagnostics[n:]), 30.0,
                            executor, 'planner_node hold after clear_goal')

        def reset_scene(self, spec, seq, executor, attempts=3):
            for attempt in range(attempts):
                tag = seq * attempts + attempt
                msg = Float64MultiArray()
                msg.data = [float(tag), *map(float, spec.start_ee),
                            *map(float, spec.start_cube), float(spec.cube_yaw),
                            float(spec.start_gripper), float(spec.seed)]
                self.scene_pub.publish(msg)
                self.spin_until(lambda: self.ack == tag, 10.0, executor, 'demo/scene_ack')
                t_ack = time.monotonic()

                def settled():   # poses from after the reset (topics arrive independently)
                    return (self.image_t > t_ack + 0.05
                            and np.linalg.norm(self.ee_pos - spec.start_ee) < 0.01
                            and np.linalg.norm(self.cube_pos - spec.start_cube) < 0.01)
                try:
                    self.spin_until(settled, 3.0, executor, 'start scene on ee_pose, cube_pose '
                                    'and the camera after the reset')
                    return
                except TimeoutError:
                    if attempt + 1 == attempts:
                        raise
                    self.get_logger().warn('scene reset did not hold; resetting again')

        def publish_goal(self, image):
            msg = numpy_to_image(np.ascontiguousarray(image), 'rgb8')
            msg.header.stamp = self.get_clock().now().to_msg()
            msg.header.frame_id = 'goal'
            self.goal_pub.publish(msg)
            from rclpy.serialization import serialize_message
            self.recorder.write('/goal_image', serialize_message(msg))

        def run_episode(self, spec, goal, seq, executor, tick_timeout, keep_frames,
                        settle_s=0.5):
            self.clear_goal(executor)
            self.reset_scene(spec, seq, executor)
            self.watch = w = {'spec': spec, 'started': False, 'success': False,
                              'keep': keep_frames,
                              'frames': [], 'frame_d': [], 'plan_ms': [], 'step_ms': [],
                              'goal_index': [], 'distances': [], 'last_tick': None}
            w['distances'].append(self._distance())
            if keep_frames:
                w['frames'].append(self.image)
                w['frame_d'].append(w['distances'][0])
            w['started'] = True
            self._check_success()
            t0 = time.monotonic()
            self.publish_goal(goal)
            deadline = t0 + tick_timeout * (spec.steps + 5)
            while not w['success'] and len(w['plan_ms']) < spec.steps:
                self.check_alive()
                if time.monotonic() > deadline:
                    self.get_logger().warn(f'episode {spec.task} {spec.index}: only '
                                           f'{len(w["plan_ms"])} planner ticks in '
                                           f'{time.monotonic() - t0:.0f} s')
                    break
                executor.spin_once(timeout_sec=0.02)
            # the last command is still being executed: give it one period to land
            settle = time.monotonic() + settle_s
            while not w['success'] and time.monotonic() < settle:
                executor.spin_once(timeout_sec=0.02)
            self.watch = None
            final = float(w['frame_d'][-1]) if w['frame_d'] else float('nan')
            d = self._distance_now(spec)
            dist = [x for x in w['distances'] if x == x] + [d]
            return {
                'task': spec.task, 'index': spec.index, 'method': 'planner',
                'success': bool(w['success']), 'steps': len(w['plan_ms']),
                'final_distance_m': d, 'min_distance_m': float(min(dist)),
                'start_distance_m': dist[0], 'distances_m': [round(x, 5) for x in dist],
                'plan_ms': [round(x, 2) for x in w['plan_ms']],
                'step_ms': [round(x, 2) for x in w['step_ms']],
                'goal_index': w['goal_index'], 'wall_s': time.monotonic() - t0,
                'spec': spec.to_dict(), 'frames': w['frames'], 'goals': [goal],
                'frame_distances_m': [final if x != x else x for x in w['frame_d']],
            }

        def _distance_now(self, spec):
            return task_distance(spec, SimpleNamespace(ee_pos=self.ee_pos,
                                                       cube_pos=self.cube_pos))

    HANDLERS = {'/camera/image_raw': DemoClient._on_image, '/ee_pose': DemoClient._on_ee,
                '/cube_pose': DemoClient._on_cube,
                '/planner_node/diagnostics': DemoClient._on_diagnostics}
    return DemoClient


# ---------------------------------------------------------------------- main
def _model_cameras(checkpoint, default_camera):
    """Return the sim cameras a multi-view model needs (default camera first), or ()."""
    from jepa_ros.ros.launch_params import model_sim_views
    from jepa_ros.utils.config import ConfigError
    try:
        return model_sim_views(checkpoint, default_camera)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _model_for_planner(args, out):
    """Return (checkpoint for planner_node, description, trained)."""
    from jepa_ros.eval.models import FALLBACK_WARNING, save_random_model
    from jepa_ros.models.checkpoint import ASSETS_DIR
    if args.checkpoint != 'default' or (ASSETS_DIR / 'default').is_dir() \
            or Path('default').is_dir():
        return args.checkpoint, f'model {args.checkpoint}', True
    print(FALLBACK_WARNING)
    path = save_random_model(out / 'random_weight_model', seed=args.seed)
    return str(path), 'RANDOM-WEIGHT tiny model (no trained default yet)', False


def _ros_list(values):
    return '[' + ', '.join(repr(float(v)) for v in values) + ']'


def _on_sigterm(signum, frame):
    raise KeyboardInterrupt


def run(args):
    """Run the demo; return 0 when it ran end to end (whatever the success rate)."""
    from jepa_ros.utils.config import ConfigError
    tasks = tuple(t.strip() for t in args.tasks.split(',') if t.strip())
    bad = [t for t in tasks if t not in DEMO_TASKS]
    if bad or not tasks or args.episodes < 1 or args.steps < 0:
        print(f'jepa-ros demo: tasks must be among {DEMO_TASKS} (got {list(tasks)}), '
              f'--episodes >= 1 and --steps >= 0', file=sys.stderr)
        return 2
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
    os.environ.setdefault('MUJOCO_GL', 'egl')
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from jepa_ros.ros.spin import honor_sigint
    honor_sigint()   # Ctrl-C must stop the demo and its nodes even if started in the background
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return _run(args, tasks, out)
    except ConfigError as exc:
        print(f'jepa-ros demo: {exc}', file=sys.stderr)
        return 2
    except (RuntimeError, TimeoutError) as exc:
        print(f'jepa-ros demo failed: {exc}\n(node logs are in {out})', file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(args, tasks, out):
    import numpy as np
    import rclpy
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.signals import SignalHandlerOptions

    from jepa_ros.eval.cli import format_table
    from jepa_ros.eval.report import save_episode_video, save_summary_png, write_results
    from jepa_ros.eval.runner import summarize
    from jepa_ros.eval.tasks import goal_images, make_episodes
    from jepa_ros.sim import SimArm, SimConfig

    t_start = time.monotonic()
    checkpoint, description, trained = _model_for_planner(args, out)
    from jepa_ros.control.image_sync import tile_views
    # goal images come from an identical scene in this process (same model and cameras); a
    # multi-view model gets its cameras from the sim node and its goals as views side by side
    sim_cfg = SimConfig(image_size=int(args.image_size))
    cameras = _model_cameras(checkpoint, sim_cfg.camera)
    with SimArm(sim_cfg) as sim:
        episodes = [(spec, tile_views(goal_images(sim, spec, cameras=cameras)[-1]))
                    for t in tasks
                    for spec in make_episodes(t, args.episodes, args.seed, sim, args.steps)]
    py = sys.executable
    sim_cmd = [py, '-m', 'jepa_ros.ros.demo', 'sim-node', '--ros-args',
               '-p', f'image_size:={int(args.image_size)}', '-p', 'camera_rate:=10.0',
               '--log-level', 'warn']
    if len(cameras) > 1:
        sim_cmd[-2:-2] = ['-p', f'extra_cameras:=[{", ".join(cameras[1:])}]']
    planner_params = {
        'checkpoint': checkpoint, 'device': 'cpu', 'rate_hz': float(args.rate_hz),
        'command_mode': 'pose', 'image_timeout_s': 3.0, 'pose_timeout_s': 3.0,
        'planner_profile': 'cpu',      # anything given below beats it
        'planner.seed': int(args.seed),
        'planner.workspace_min': _ros_list(sim_cfg.workspace_low),
        'planner.workspace_max': _ros_list(sim_cfg.workspace_high),
    }
    if len(cameras) > 1:
        from jepa_ros.ros.launch_params import sim_image_topic
        topics = [sim_image_topic(c, sim_cfg.camera) for c in cameras]
        planner_params['image_topics'] = f'[{", ".join(topics)}]'

    for option, name, kind in (('samples', 'samples', int), ('iterations', 'iterations', int),
                               ('horizon', 'horizon', int), ('support_std', 'support_std', float),
                               ('energy_weighting', 'energy_weighting', str)):
        if getattr(args, option) is not None:
            planner_params[f'planner.{name}'] = kind(getattr(args, option))
    if args.samples is not None:
        from jepa_ros.control.profiles import PROFILES
        planner_params['planner.topk'] = min(PROFILES['cpu']['topk'], int(args.samples))
    planner_cmd = [py, '-m', 'jepa_ros.ros.planner_node', '--ros-args']
    for k, v in planner_params.items():
        planner_cmd += ['-p', f'{k}:={v}']
    planner_cmd += ['--log-level', 'warn']
    children, context, node, executor, recorder = [], Context(), None, None, None
    records = []
    try:
        children.append(_Child('sim node', sim_cmd, out / 'sim_arm_node.log'))
        children.append(_Child('planner_node', planner_cmd, out / 'planner_node.log'))

        def check_alive():
            for c in children:
                c.check_alive()

        recorder = McapRecorder(out / 'rosbag', {t: (m, recorded_qos(kind))
                                                 for t, (m, kind) in RECORDED.items()})
        # Python-only signal handling (see ros/node_main.py): rclpy's signal thread raced the
        # executor's teardown on Ctrl-C.
        rclpy.init(context=context, signal_handler_options=SignalHandlerOptions.NO)
        executor = SingleThreadedExecutor(context=context)
        node = _client_class()(recorder, check_alive, context=context)
        executor.add_node(node)
        node.spin_until(lambda: node.image is not None and node.cube_pos is not None,
                        args.startup_timeout, executor, 'first camera image and cube_pose')
        node.spin_until(lambda: bool(node.diagnostics), args.startup_timeout, executor,
                        'planner_node diagnostics (model loading and warm-up)')
        print(f'nodes up after {time.monotonic() - t_start:.1f} s; planner: {description}')
        tick_timeout = max(3.0, 3.0 / args.rate_hz)
        for seq, (spec, goal) in enumerate(episodes):
            rec = node.run_episode(spec, goal, seq, executor, tick_timeout,
                                   keep_frames=spec.index < VIDEO_EPISODES,
                                   settle_s=1.0 / args.rate_hz + 0.3)
            records.append(rec)
            print(f'{spec.task} episode {spec.index}: '
                  f'{"SUCCESS" if rec["success"] else "fail"} after {rec["steps"]} ticks, '
                  f'{100 * rec["start_distance_m"]:.1f} -> {100 * rec["final_distance_m"]:.1f} '
                  f'cm, plan {np.mean(rec["plan_ms"]) if rec["plan_ms"] else float("nan"):.0f} '
                  f'ms')
        node.clear_goal(executor)
    finally:
        if node is not None:
            node.destroy_node()
        if executor is not None:
            executor.shutdown()
        rclpy.try_shutdown(context=context)
        for c in reversed(children):
            c.stop()
        if recorder is not None:
            recorder.close()
    by_task = {}
    for rec in records:
        by_task.setdefault(rec['task'], []).append(rec)
    results = {
        'model': {'description': description, 'trained': trained, 'checkpoint': checkpoint},
        'methods': ['planner'],
        'tasks': {t: {'planner': dict(summarize(recs), records=[
            {k: v for k, v in r.items() if k not in ('frames', 'goals')} for r in recs])}
            for t, recs in by_task.items()},
        'config': {'tasks': list(tasks), 'episodes': args.episodes, 'seed': args.seed,
                   'steps': args.steps, 'image_size': args.image_size,
                   'planner_node': planner_params, 'transport': 'ROS 2 DDS (rclpy)'},
        'mcap': {'path': str(out / 'rosbag'), 'messages': dict(recorder.counts)},
        'wall_time_s': time.monotonic() - t_start,
    }
    overall = summarize(records)
    results.update(success_rate=overall['success_rate'], plan_ms_mean=overall['plan_ms_mean'],
                   plan_ms_p95=overall['plan_ms_p95'], loop_hz=overall['loop_hz'])
    paths = [write_results(out / 'results.json', results),
             save_summary_png(out / 'summary.png', results)]
    video = [dict(r, frames=r['frames'][::2], distances_m=r['frame_distances_m'][::2],
                  goal_index=[]) for r in records if r['frames']]
    if video:
        paths.append(save_episode_video(out / 'episodes.gif', video, fps=10.0))
    paths.append(out / 'rosbag')
    print(format_table(results))
    if not trained:
        print('NOTE: planner_node ran a RANDOM-WEIGHT model (no trained default yet): the '
              'success numbers above are a floor, not the shipped model')
    print(f'done in {results["wall_time_s"]:.0f} s; replay: ros2 bag play {out / "rosbag"}')
    for p in paths:
        print(f'wrote {p}')
    return 0


def _main_module(argv):
    """``python -m jepa_ros.ros.demo sim-node [--ros-args ...]`` runs the demo's sim node."""
    if len(argv) > 1 and argv[1] == 'sim-node':
        return sim_node_main(argv[:1] + argv[2:])
    print('usage: python -m jepa_ros.ros.demo sim-node --ros-args ... (the demo itself: jepa-ros '
          'demo)', file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(_main_module(sys.argv))
