# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
ROS 2 planner node: camera + end-effector pose -> world-model MPC towards a goal image -> commands.

A lifecycle (managed) node. ``configure`` loads the model, builds the planner and runs one warm-up
plan; ``activate`` starts the fixed-rate loop; ``deactivate`` stops it and sends a hold-still
command. With ``autostart`` (default) it configures and activates itself. Topic names are
relative, so they remap (see docs/ros_interface.md for every topic, service and parameter).

Subscribes: ``camera/image_raw`` (sensor_msgs/Image, sensor-data QoS; for a model of V camera
views, the V topics of ``image_topics``, matched by header stamp within ``image_sync_slop``),
``ee_pose`` (geometry_msgs/PoseStamped), ``joint_states`` (gripper finger and, for joint
trajectories, the arm joints), ``goal_image`` (sensor_msgs/Image; V views side by side for a
V-view model). Services: ``~/capture_goal`` and ``~/clear_goal`` (std_srvs/Trigger). Publishes
one of ``delta_twist_cmds`` / ``target_pose`` / ``joint_trajectory`` (``command_mode``),
``gripper_command`` (std_msgs/Float64) and, for RViz, ``~/imagined_path``, ``~/markers``,
``~/goal_image`` (transient local), ``~/energy_landscape`` and ``~/diagnostics`` (JSON in
std_msgs/String).

Safety: a missing or stale camera frame or pose, camera views out of sync, no goal, or a planner
error publishes a hold-still command and logs why (throttled); every command goes through the
planner's per-step limits and :func:`jepa_ros.control.limit_command`. torch is imported only
after ``main`` has set OMP_WAIT_POLICY=PASSIVE.
"""

import os
import sys
import threading
import time

from geometry_msgs.msg import PoseStamped, TwistStamped
from jepa_ros.control import hold_command, MPCNodeConfig
from jepa_ros.control.commands import fit_image
from jepa_ros.control.image_sync import check_view_count, DEFAULT_QUEUE, split_views, ViewSync
from jepa_ros.control.loop import PeriodicThread
from jepa_ros.control.watchdog import hold_reason_kind
from jepa_ros.ros.image_conversion import image_to_numpy
from jepa_ros.ros.node_main import run_node
from jepa_ros.ros.params import declare_config, refuse_unknown_parameters, user_set_parameters
from jepa_ros.ros.plan_display import PlanDisplay
from jepa_ros.ros.planner_msgs import (base_frame_pose_state, diagnostics_msg, joint_position,
                                       nonfinite_joints, pose_msg, stamp_seconds,
                                       trajectory_msg, twist_msg)
from jepa_ros.ros.polled_topics import PolledTopics
from jepa_ros.ros.qos import command_qos, sensor_qos, state_qos
from jepa_ros.utils.config import ConfigError, to_dict
from jepa_ros.utils.errors import UserError
from nav_msgs.msg import Path
import numpy as np
from rclpy.lifecycle import LifecycleNode, TransitionCallbackReturn
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Float64, String
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory
from visualization_msgs.msg import MarkerArray

NODE_NAME = 'planner_node'
# Parameters `ros2 param set` may change while the node runs (limits and timeouts: read each
# step); every other one is read-only, as it shaped the model, planner or topics at configure.
SHUTDOWN_JOIN_S = 30.0   # s to let a plan in flight finish (dropped) before releasing the model
LIVE_PARAMETERS = ('max_linear_speed', 'max_angular_speed', 'image_timeout_s', 'pose_timeout_s',
                   'hold_log_period_s')
WARMUP_STATE = np.array([0.5, 0.0, 0.3, np.pi, 0.0, 0.0, 0.0])


def latched_qos() -> QoSProfile:
    """Reliable, transient-local, depth 1: late subscribers (RViz) still get the goal image."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                      reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL)


def planner_params_yaml() -> str:
    """
    Return config/planner.yaml's body: MPCNodeConfig and PlannerConfig defaults.

    Planner fields nest under ``planner:`` (parameters ``planner.<field>``); empty lists and None
    become '' as declare_config expects (an empty YAML list has no ROS type). The fields that
    ``planner_profile`` sets per device, and those a model recommends, are left out (a value here
    would beat the profile and the model) and listed as comments to uncomment.
    """
    import textwrap
    import yaml
    from jepa_ros.control.profiles import chosen_fields, MODEL_FIELDS, PROFILES
    from jepa_ros.planning.config import PlannerConfig

    def ros(values):
        return {k: ('' if v is None or (isinstance(v, list) and not v) else v)
                for k, v in values.items()}

    chosen = chosen_fields()
    planner = ros(to_dict(PlannerConfig()))
    params = ros(to_dict(MPCNodeConfig()))
    params['planner'] = {k: v for k, v in planner.items() if k not in chosen}
    text = yaml.safe_dump({NODE_NAME: {'ros__parameters': params}}, sort_keys=False,
                          default_flow_style=None, width=99)
    lines = ['      # Set per device by planner_profile; uncomment a line to fix it on every '
             'device:']
    for name, values in PROFILES.items():
        told = ', '.join(f'{k} {v}' for k, v in values.items())
        lines.append(f'      #   {name}: {told or "the official settings, as below"}')
    lines += ["      # and over the profile, a model folder's config.json extra.planner may set"]
    lines += [f'      #   {part}' for part in textwrap.wrap(', '.join(MODEL_FIELDS), 88)]
    lines += [f'      # {k}: {planner[k]}' for k in chosen]
    return text + '\n'.join(lines) + '\n'


def read_image_file(path: str) -> np.ndarray:
    """Return an image file as RGB uint8; ConfigError naming the file when it cannot be read."""
    import cv2
    if not os.path.isfile(path):
        raise ConfigError(f'goal image {path!r} does not exist')
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise ConfigError(f'goal image {path!r} is not a readable image (png, jpg, ...)')
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


class PlannerNode(LifecycleNode):
    """
    World-model MPC as a managed node; see the module docstring.

    Execution: cameras (15-60 Hz), ``ee_pose`` and ``joint_states`` (100-1000 Hz) have no
    callback at all: their newest messages are taken, and frames decoded, when the loop reads
    them (:mod:`jepa_ros.ros.polled_topics`). Planning runs in a thread of its own at
    ``rate_hz`` and never waits for a callback, nor a callback for it; while a plan takes
    longer than a period, a watchdog thread takes the inputs and publishes the hold when one
    goes stale, and the late plan is dropped if its frame is stale by then. The executor
    (single-threaded) is left with the goal topic, services and parameters: nothing wakes it
    while the arm runs, so it never takes the GIL from a plan.
    """

    def __init__(self, **kwargs):
        """Declare and validate parameters (ConfigError names a bad one); load nothing yet."""
        super().__init__(NODE_NAME, **kwargs)
        from jepa_ros.control.loading import resolve_device
        from jepa_ros.control.profiles import planner_settings, profile_name
        from jepa_ros.planning.config import PlannerConfig  # imports torch
        self.cfg = cfg = declare_config(self, MPCNodeConfig, dynamic=LIVE_PARAMETERS)
        # The device profile (and the model's recommendation) become the planner.* defaults,
        # so `ros2 param get` shows what runs; what the user gave still wins.
        self.device = resolve_device(cfg.device)
        self.profile = profile_name(cfg.planner_profile, self.device)
        self.planner_cfg = declare_config(
            self, PlannerConfig, prefix='planner.', defaults=planner_settings(
                cfg.planner_profile, self.device, '' if cfg.world_model else cfg.checkpoint))
        refuse_unknown_parameters(self)
        # planner.* the user gave that beat the profile or the model (named in the start-up line)
        from jepa_ros.control.profiles import chosen_fields
        chosen = set(chosen_fields())
        self._user_planner = sorted(n[len('planner.'):] for n in user_set_parameters(self)
                                    if n[len('planner.'):] in chosen)
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.startup_error = None
        self._publish_lock = threading.Lock()   # one command at a time, in order
        self._stopping = False
        self._loop = None            # the planning thread
        self._planning_since = None  # monotonic start of the plan in flight
        self._last_command_hold = True
        self._watchdog = None
        self._polled = None          # PolledTopics: cameras, ee_pose, joint_states
        self._take_lock = threading.Lock()
        self.world_model = self.planner = self.ik = self.runtime = None
        self.image_size = 0
        self.num_views = 1          # camera views per observation (the model's)
        self._subs, self._srvs, self._pubs = [], [], {}
        self._display = None        # PlanDisplay: RViz output (path, markers, goal, landscape)
        self._topics = ()           # image topics in view order (see _image_topics)
        self._reset_logs()

    # ------------------------------------------------------------------ lifecycle
    def _reset_logs(self):
        self._last_hold_log = (None, -1e9)
        self._warned_gripper = False

    def start(self) -> bool:
        """Configure and activate (autostart); return False with ``startup_error`` set."""
        if self.trigger_configure() != TransitionCallbackReturn.SUCCESS:
            self.startup_error = self.startup_error or 'configure failed'
            return False
        if self.trigger_activate() != TransitionCallbackReturn.SUCCESS:
            self.startup_error = self.startup_error or 'activate failed'
            return False
        return True

    def on_configure(self, state) -> TransitionCallbackReturn:
        """Load the model, build the planner and goals, warm up, create topics and services."""
        try:
            self._configure()
        except ConfigError as exc:
            self.startup_error = str(exc)
            self.get_logger().error(f'configuration failed: {exc}')
            self._teardown()
            return TransitionCallbackReturn.FAILURE
        except Exception as exc:  # unexpected: say what it was, in one line
            self.startup_error = f'{type(exc).__name__}: {exc}'
            self.get_logger().error(f'configuration failed: {self.startup_error}')
            self._teardown()
            return TransitionCallbackReturn.FAILURE
        return TransitionCallbackReturn.SUCCESS

    def _configure(self):
        from jepa_ros.control.loading import (configure_threads, load_world_model,
                                              model_cameras, model_image_size)
        from jepa_ros.control.runtime import MPCRuntime
        from jepa_ros.planning import make_planner
        cfg = self.cfg
        device = self.device
        threads = configure_threads(cfg.torch_threads, device)
        mine = self._user_planner
        t0 = time.monotonic()
        self.world_model, what = load_world_model(cfg, device)
        self.image_size = model_image_size(self.world_model)
        self.num_views = int(getattr(self.world_model, 'num_views', 1) or 1)
        cameras = model_cameras(cfg, self.world_model)
        topics = self._image_topics(cameras)
        check_view_count(self.num_views, topics, cameras)
        self._topics = topics
        sync = ViewSync(topics, cfg.image_sync_slop) if len(topics) > 1 else None
        self.planner = make_planner(self.world_model, self.planner_cfg)
        if cfg.command_mode == 'joint_trajectory':
            from jepa_ros.control.ik import ArmIK
            self.ik = ArmIK(cfg.trajectory_joints, cfg.ik_mjcf_path)
        self.runtime = MPCRuntime(self.planner, self.world_model, cfg,
                                  (self.planner_cfg.workspace_min,
                                   self.planner_cfg.workspace_max), sync=sync, ik=self.ik)
        self._reset_logs()
        self._load_goal_files()
        if cfg.warmup:
            self._warm_up()
        self.get_logger().info(
            f'{what} on {device} ({threads} torch thread(s), '
            f'{getattr(self.world_model, "dtype", "fp32")}), {self.image_size} px input, '
            f'{self._views_text(topics, cameras)}'
            f'{self.planner_cfg.method} {self.planner_cfg.samples} samples x '
            f'{self.planner_cfg.iterations} iterations, horizon {self.planner_cfg.horizon} '
            f'(profile {self.profile}{", yours: " + ", ".join(mine) if mine else ""}); '
            f'ready in {time.monotonic() - t0:.1f} s')
        self._create_interfaces()

    def _image_topics(self, cameras):
        """
        Return the image topics in view order: ``image_topics``, or derived from the model.

        Left empty, a model with one view (or unnamed views) reads camera/image_raw; a
        multi-view model with camera names reads sim_arm_node's topics of those cameras
        (camera/image_raw for the first, camera_<name>/image_raw for the others), said in the
        log, so the shipped params file works with the two-camera default.
        """
        from jepa_ros.ros.launch_params import sim_image_topic
        if self.cfg.image_topics or self.num_views <= 1 or len(cameras) != self.num_views:
            return self.cfg.camera_topics
        topics = tuple(sim_image_topic(c, cameras[0]) for c in cameras)
        self.get_logger().info(f'image_topics not set: the model\'s cameras {", ".join(cameras)} '
                               f'are read from {", ".join(topics)} (sim_arm_node\'s names); set '
                               'image_topics to your camera topics, one per view, in this order')
        return topics

    def _views_text(self, topics, cameras):
        if len(topics) == 1:
            return ''
        names = f' ({", ".join(cameras)})' if len(cameras) == len(topics) else ''
        return (f'{len(topics)} camera views{names} from {", ".join(topics)} (stamps within '
                f'{self.cfg.image_sync_slop:g} s), ')

    def _warm_up(self):
        """Plan once on a blank frame: first-call costs are paid and shape errors found now."""
        shape = (self.image_size, self.image_size, 3)
        if self.num_views > 1:
            shape = (self.num_views,) + shape
        grey = np.full(shape, 127, dtype=np.uint8)
        try:
            plan = self.planner.plan(grey, WARMUP_STATE, grey)
        except (RuntimeError, ValueError, IndexError) as exc:
            raise ConfigError(f'the model does not run on {self.image_size} px frames '
                              f'(wrong model shape?): {exc}') from exc
        self.planner.reset()
        self.get_logger().info(f'warm-up plan: {plan.ms:.0f} ms')

    def _load_goal_files(self):
        from jepa_ros.planning import GoalSequence
        cfg = self.cfg
        paths = list(cfg.subgoal_image_paths)
        if cfg.goal_image_path:
            paths.append(cfg.goal_image_path)
        if not paths:
            return
        images = []
        for p in paths:
            try:
                images.append(self._fit_views(read_image_file(p)))
            except ValueError as exc:
                raise ConfigError(f'goal image {p!r}: {exc}') from exc
        goal = images[0] if len(images) == 1 else GoalSequence(
            images, needs_hold=cfg.subgoal_needs_hold or None)
        what = paths[0] if len(paths) == 1 else f'{len(paths)} sub-goal images'
        self._set_goal(goal, f'file {what}')

    def _create_interfaces(self):
        cfg = self.cfg
        topics = self._topics
        # Cameras (15-60 Hz each) and states (100-1000 Hz) have no callback per message
        # (polled_topics.py): the newest are taken, and frames decoded, when the loop or the
        # watchdog reads the inputs. A multi-view model keeps a few frames per topic so that
        # ViewSync can match them by stamp.
        depth = 1 if self.runtime.sync is None else DEFAULT_QUEUE
        polled = {f'view{i}': (Image, t, sensor_qos(depth)) for i, t in enumerate(topics)}
        polled.update(pose=(PoseStamped, 'ee_pose', state_qos(1)),
                      joints=(JointState, 'joint_states', state_qos(1)))
        self._polled = PolledTopics(self, polled)
        self._subs = [
            self.create_subscription(Image, 'goal_image', self._on_goal_image, command_qos(1)),
        ]
        self._srvs = [
            self.create_service(Trigger, '~/capture_goal', self._on_capture_goal),
            self.create_service(Trigger, '~/clear_goal', self._on_clear_goal),
        ]
        pub = self.create_lifecycle_publisher
        kind = {'twist': (TwistStamped, 'delta_twist_cmds'),
                'pose': (PoseStamped, 'target_pose'),
                'joint_trajectory': (JointTrajectory, 'joint_trajectory')}[cfg.command_mode]
        self._pubs = {
            'command': pub(kind[0], kind[1], command_qos()),
            'path': pub(Path, '~/imagined_path', state_qos(5)),
            'markers': pub(MarkerArray, '~/markers', state_qos(5)),
            'goal_image': pub(Image, '~/goal_image', latched_qos()),
            'diagnostics': pub(String, '~/diagnostics', state_qos()),
        }
        if cfg.publish_gripper:
            self._pubs['gripper'] = pub(Float64, 'gripper_command', command_qos())
        if cfg.publish_landscape:
            self._pubs['landscape'] = pub(Image, '~/energy_landscape', state_qos(1))
        self._display = PlanDisplay(self, self._pubs, cfg.base_frame)

    def _teardown(self):
        self._stop_loop()
        for sub in self._subs:
            self.destroy_subscription(sub)
        if self._polled is not None:
            self._polled.destroy()
            self._polled = None
        for srv in self._srvs:
            self.destroy_service(srv)
        for p in self._pubs.values():
            self.destroy_lifecycle_publisher(p)
        self._subs, self._srvs, self._pubs = [], [], {}
        if self.ik is not None:
            self.ik.close()
        self.world_model = self.planner = self.ik = self.runtime = None

    def on_activate(self, state) -> TransitionCallbackReturn:
        """Enable the publishers and start the planning thread and the watchdog."""
        ret = super().on_activate(state)
        if self._display is not None:
            self._display.reset()
        self._stopping = False
        self._loop = PeriodicThread(self.cfg.period_s, self._loop_step, name='jepa_ros planner')
        self._watchdog = PeriodicThread(min(0.05, self.cfg.period_s / 2),
                                        self._on_watchdog, name='jepa_ros watchdog')
        self._watchdog.start()
        self._loop.start()
        self.get_logger().info(f'loop running at {self.cfg.rate_hz:g} Hz, command_mode '
                               f'{self.cfg.command_mode!r}')
        return ret

    def _stop_loop(self, hold_reason=None):
        """
        End the planning thread: no command after this call, only ``hold_reason``'s hold.

        The hold goes out at once; a plan still in flight cannot be interrupted, so the thread
        is then joined (its result is dropped) before the model and topics are released.
        """
        if self._watchdog is not None:
            self._watchdog.stop(timeout=SHUTDOWN_JOIN_S)
            self._watchdog = None
        loop, self._loop = self._loop, None
        with self._publish_lock:
            self._stopping = True   # a plan still in flight is dropped, never published
        if hold_reason is not None:
            try:
                self.publish_hold(hold_reason, force=True)
            except Exception:  # noqa: B902 - the context may already be shut down by Ctrl-C
                pass
        if loop is not None and not loop.stop(timeout=SHUTDOWN_JOIN_S):
            self.get_logger().warn(f'the planning thread did not end within '
                                   f'{SHUTDOWN_JOIN_S:g} s')

    def on_deactivate(self, state) -> TransitionCallbackReturn:
        """Stop the loop and send one hold-still command before the publishers go quiet."""
        self._stop_loop('node deactivated')
        return super().on_deactivate(state)

    def on_cleanup(self, state) -> TransitionCallbackReturn:
        """Release the model and every topic."""
        self._teardown()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state) -> TransitionCallbackReturn:
        """Hold still and release everything."""
        if self._loop is not None:
            self._stop_loop('node shutting down')
        self._teardown()
        return TransitionCallbackReturn.SUCCESS

    def stop(self, reason='node stopped'):
        """Stop planning (a plan in flight is dropped) and publish a hold (Ctrl-C path)."""
        self._stop_loop(reason)

    def _on_set_parameters(self, params):
        """Apply live changes of LIVE_PARAMETERS (validated); rclpy refuses read-only ones."""
        import dataclasses
        from rcl_interfaces.msg import SetParametersResult
        changes = {p.name: p.value for p in params if p.name in LIVE_PARAMETERS}
        if not changes:
            return SetParametersResult(successful=True)
        try:
            new = dataclasses.replace(self.cfg, **{k: float(v) for k, v in changes.items()})
            new.validate()
        except (TypeError, ValueError) as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        self.cfg = new
        if self.runtime is not None:
            self.runtime.cfg = new
        self.get_logger().info(f'parameters changed: {changes}')
        return SetParametersResult(successful=True)

    # ------------------------------------------------------------------ inputs
    def _stamp(self, msg):
        return msg.header.stamp.sec + 1e-9 * msg.header.stamp.nanosec

    def _clock_now(self):
        return self.get_clock().now().nanoseconds * 1e-9

    def _fit(self, img):
        return fit_image(img, self.image_size, self.cfg.image_resize)

    def _fit_views(self, img):
        """Fit an image to the model input; for V views, V images side by side -> (V, S, S, 3)."""
        if self.num_views == 1:
            return self._fit(img)
        return np.stack([self._fit(v) for v in split_views(img, self.num_views)])

    def _on_frame(self, index, msg, receipt):
        """Fit a camera frame of view ``index`` into the runtime; drop a bad one with a log."""
        runtime = self.runtime
        if runtime is None:  # torn down meanwhile
            return
        try:
            img = self._fit(image_to_numpy(msg, 'rgb8'))
        except ValueError as exc:
            where = f' on {runtime.sync.topics[index]}' if runtime.sync is not None else ''
            self.get_logger().warn(f'camera frame{where} dropped: {exc}',
                                   throttle_duration_sec=5.0)
            return
        if runtime.sync is None:
            runtime.image(img, self._stamp(msg), now=receipt)
        else:
            runtime.view(index, img, self._stamp(msg), now=receipt)

    def _take_states(self):
        """Decode the newest ee_pose and joint_states (if new) into the runtime."""
        with self._take_lock:
            if self._polled is None:
                return
            for kind, cls, handle in (('pose', PoseStamped, self._on_pose),
                                      ('joints', JointState, self._on_joint_states)):
                item = self._polled.take(kind)
                if item is not None:
                    handle(deserialize_message(item[0], cls), receipt=item[1])

    def _take_inputs(self):
        """Take the newest camera frames (decoded only now) and states into the runtime."""
        with self._take_lock:
            if self._polled is None:
                return
            keep = 1 if self.num_views == 1 else DEFAULT_QUEUE
            for index in range(len(self._topics)):
                for data, receipt in self._polled.take_recent(f'view{index}', keep):
                    self._on_frame(index, deserialize_message(data, Image), receipt)
        self._take_states()

    def _on_pose(self, msg, receipt=None):
        try:
            state6 = base_frame_pose_state(msg, self.cfg.base_frame)
        except ValueError as exc:
            self.get_logger().warn(f'ee_pose dropped: {exc}', throttle_duration_sec=5.0)
            return
        if self.runtime is not None:
            self.runtime.pose(state6, self._stamp(msg), now=receipt)

    def _on_joint_states(self, msg, receipt=None):
        cfg = self.cfg
        runtime = self.runtime
        if runtime is None:
            return
        bad = nonfinite_joints(msg, list(cfg.trajectory_joints) + [cfg.gripper_joint])
        if bad:  # keep the last good values; a NaN must never reach IK or the gripper
            self.get_logger().warn(f'joint_states dropped: non-finite position of {bad}',
                                   throttle_duration_sec=5.0)
            return
        if cfg.command_mode == 'joint_trajectory':
            found = {n: joint_position(msg, n) for n in cfg.trajectory_joints}
            runtime.joint_positions({n: q for n, q in found.items() if q is not None})
        if cfg.gripper_joint:
            q = joint_position(msg, cfg.gripper_joint)
            if q is not None:
                closure = cfg.gripper_from_position(q)
                runtime.gripper(closure)
                runtime.fingers(closure)   # the grasp check compares it with the command

    def _on_goal_image(self, msg):
        try:
            img = self._fit_views(image_to_numpy(msg, 'rgb8'))
        except ValueError as exc:
            self.get_logger().warn(f'goal_image rejected: {exc}')
            return
        self._set_goal(img, 'goal_image topic')

    def _on_capture_goal(self, request, response):
        self._take_inputs()
        img, reason = self.runtime.latest_image(clock_now=self._clock_now())
        if reason is not None:
            response.success, response.message = False, reason
        elif self.num_views > 1:
            self._set_goal(img, f'captured {self.num_views} camera views')
            response.success = True
            response.message = f'goal set to the current {self.num_views} camera views'
        else:
            self._set_goal(img, 'captured camera frame')
            response.success, response.message = True, 'goal set to the current camera frame'
        return response

    def _on_clear_goal(self, request, response):
        self.runtime.clear_goal()
        self.get_logger().info('goal cleared: holding still')
        response.success, response.message = True, 'goal cleared; the arm holds still'
        return response

    def _set_goal(self, goal, source):
        self.runtime.set_goal(goal, source)
        self.get_logger().info(f'new goal from {source}')

    # ------------------------------------------------------------------ loop
    def _log_hold(self, reason):
        now = time.monotonic()
        kind = hold_reason_kind(reason)  # '0.61 s old', '0.81 s old', ...: one kind
        last_kind, last_t = self._last_hold_log
        if kind != last_kind or now - last_t >= self.cfg.hold_log_period_s:
            self.get_logger().warn(f'holding still: {reason}')
            self._last_hold_log = (kind, now)

    def publish_hold(self, reason, state=None, diagnostics=None, force=False):
        """Publish the hold-still command of the active mode (when it can be formed)."""
        with self._publish_lock:
            if self._stopping and not force:
                return
            self._publish_hold_locked(reason, state, diagnostics)

    def _publish_hold_locked(self, reason, state=None, diagnostics=None):
        runtime = self.runtime
        if not self._pubs or runtime is None:
            return
        self._take_states()
        if state is None:
            state = runtime.state()
        with runtime.lock:
            joints = [runtime.joints.get(n) for n in self.cfg.trajectory_joints]
        stamp = self.get_clock().now().to_msg()
        frame = self.cfg.base_frame
        mode = self.cfg.command_mode
        cmd = hold_command(state if state is not None else np.full(7, np.nan),
                           self.cfg.period_s, reason)
        if mode == 'twist':
            self._pubs['command'].publish(twist_msg(cmd, frame, stamp))
        elif mode == 'pose' and state is not None:
            self._pubs['command'].publish(pose_msg(cmd.target_pos, cmd.target_quat, frame,
                                                   stamp))
        elif mode == 'joint_trajectory' and None not in joints:
            self._pubs['command'].publish(trajectory_msg(self.cfg.trajectory_joints, joints,
                                                         self.cfg.period_s))
        self._last_command_hold = True
        if diagnostics is not None:
            diagnostics.update(hold=True, reason=reason, stamp=stamp_seconds(stamp))
            self._pubs['diagnostics'].publish(diagnostics_msg(diagnostics))

    def _on_watchdog(self):
        """Hold as soon as an input goes stale while a long plan is in flight."""
        try:
            self._watchdog_check()
        except Exception as exc:  # noqa: B902 - the watchdog thread must outlive a bad input
            if self.context.ok():
                self.get_logger().error(f'watchdog: {type(exc).__name__}: {exc}',
                                        throttle_duration_sec=5.0)

    def _watchdog_check(self):
        since, runtime = self._planning_since, self.runtime
        if since is None or runtime is None or self._last_command_hold:
            return
        if time.monotonic() - since < self.cfg.period_s:
            return
        self._take_inputs()
        reason = runtime.hold_reason(clock_now=self._clock_now())
        if reason is not None:
            self._log_hold(reason)
            self.publish_hold(reason, diagnostics={'tick': runtime.tick, 'watchdog': True,
                                                   'mode': self.cfg.command_mode})

    def _loop_step(self):
        runtime = self.runtime
        if runtime is None or self._stopping:
            return
        self._planning_since = time.monotonic()
        try:
            self._take_inputs()
            result = runtime.step(clock_now=self._clock_now())
        except Exception as exc:  # never let one bad step end the loop silently
            if not self.context.ok():
                return  # Ctrl-C arrived mid-step: main() sends the final hold
            reason = f'loop error: {type(exc).__name__}: {exc}'
            self._log_hold(reason)
            self.publish_hold(reason)
            return
        finally:
            self._planning_since = None
        try:
            self._publish_result(result)
        except Exception as exc:  # noqa: B902
            if self.context.ok():
                self.get_logger().error(f'cannot publish: {type(exc).__name__}: {exc}')

    def _publish_result(self, result):
        runtime = self.runtime
        plan, diag = result.plan, result.diagnostics
        if result.hold:
            self._log_hold(result.reason)
            self.publish_hold(result.reason, result.state, diag)
        if plan is not None:
            self._display.show_plan(plan, runtime.goal, runtime.goal_version, self.world_model)
        if result.hold:
            return
        if self.cfg.gripper_joint and not runtime.gripper_seen and not self._warned_gripper:
            self._warned_gripper = True
            self.get_logger().warn(f'no {self.cfg.gripper_joint!r} in joint_states yet: the '
                                   'gripper state is taken as open (0)')
        with self._publish_lock:
            if self._stopping:
                return
            # the watchdog may have held meanwhile: a frame stale by now is never acted on
            self._take_inputs()
            reason = runtime.hold_reason(clock_now=self._clock_now())
            if reason is not None:
                self._log_hold(reason)
                self._publish_hold_locked(reason, result.state, diag)
                return
            stamp = self.get_clock().now().to_msg()
            self._publish_command(result.command, stamp)
            self._last_command_hold = False
            diag.update(stamp=stamp_seconds(stamp), tick_ms=1e3 * (
                time.monotonic() - self._loop.tick_started) if self._loop else float('nan'))
            self._pubs['diagnostics'].publish(diagnostics_msg(diag))
        if self.cfg.publish_landscape and runtime.tick % self.cfg.landscape_every_n == 0:
            self._display.show_landscape(self.world_model, self.planner, self.planner_cfg,
                                         result.image, result.state, plan.actions,
                                         runtime.goal_arg)

    def _publish_command(self, cmd, stamp):
        frame = self.cfg.base_frame
        mode = self.cfg.command_mode
        if mode == 'twist':
            msg = twist_msg(cmd, frame, stamp)
        elif mode == 'pose':
            msg = pose_msg(cmd.target_pos, cmd.target_quat, frame, stamp)
        else:
            msg = trajectory_msg(self.cfg.trajectory_joints, cmd.joint_positions,
                                 cmd.duration_s)
        self._pubs['command'].publish(msg)
        if 'gripper' in self._pubs:
            self._pubs['gripper'].publish(Float64(data=float(cmd.gripper)))


def _autostart(node):
    if node.cfg.autostart and not node.start():
        raise UserError(f'cannot start: {node.startup_error}')


def main(args=None):
    """Run the node until Ctrl-C; a bad parameter or model exits with status 2 and one message."""
    os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')  # before torch loads
    # run_node's Python-only SIGINT/SIGTERM handling keeps the context alive until the final
    # hold is sent.
    return run_node(NODE_NAME, PlannerNode, args=args, on_ready=_autostart,
                    on_stop=lambda node: node.stop())


if __name__ == '__main__':
    sys.exit(main())
