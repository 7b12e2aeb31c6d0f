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
import signal
import sys
import threading
import time

from geometry_msgs.msg import PoseStamped, TwistStamped
from jepa_ros.control import (action_to_command, hold_command, InputWatchdog, limit_command,
                              MPCNodeConfig)
from jepa_ros.control.commands import fit_image
from jepa_ros.control.image_sync import check_view_count, split_views, tile_views, ViewSync
from jepa_ros.control.watchdog import hold_reason_kind
from jepa_ros.ros.image_conversion import image_to_numpy, numpy_to_image
from jepa_ros.ros.node_main import run_node
from jepa_ros.ros.params import declare_config
from jepa_ros.ros.planner_msgs import (base_frame_pose_state, diagnostics_msg, joint_position,
                                       landscape_image, markers_msg, nonfinite_joints,
                                       path_msg, pose_msg, stamp_seconds, trajectory_msg,
                                       twist_msg)
from jepa_ros.ros.qos import command_qos, sensor_qos, state_qos
from jepa_ros.utils.config import ConfigError, to_dict
from jepa_ros.utils.errors import UserError
from nav_msgs.msg import Path
import numpy as np
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.executors import MultiThreadedExecutor
from rclpy.lifecycle import LifecycleNode, TransitionCallbackReturn
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Float64, String
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory
from visualization_msgs.msg import MarkerArray

NODE_NAME = 'planner_node'
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
    become '' as declare_config expects (an empty YAML list has no ROS type).
    """
    import yaml
    from jepa_ros.planning.config import PlannerConfig

    def ros(values):
        return {k: ('' if v is None or (isinstance(v, list) and not v) else v)
                for k, v in values.items()}

    params = ros(to_dict(MPCNodeConfig()))
    params['planner'] = ros(to_dict(PlannerConfig()))
    return yaml.safe_dump({NODE_NAME: {'ros__parameters': params}}, sort_keys=False,
                          default_flow_style=None, width=99)


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
    """World-model MPC as a managed node; see the module docstring."""

    def __init__(self, **kwargs):
        """Declare and validate parameters (ConfigError names a bad one); load nothing yet."""
        super().__init__(NODE_NAME, **kwargs)
        from jepa_ros.planning.config import PlannerConfig  # imports torch
        self.cfg = declare_config(self, MPCNodeConfig)
        self.planner_cfg = declare_config(self, PlannerConfig, prefix='planner.')
        self.startup_error = None
        self._lock = threading.Lock()
        self._tick_lock = threading.Lock()   # held while a loop step runs
        self._stopping = False
        self._inputs_group = MutuallyExclusiveCallbackGroup()
        self._loop_group = MutuallyExclusiveCallbackGroup()
        self._service_group = MutuallyExclusiveCallbackGroup()
        self._viz_group = MutuallyExclusiveCallbackGroup()
        self._landscape_timer = None
        self._landscape_job = None   # (image, state, actions, goal) of the latest plan
        self.watchdog = InputWatchdog(self.cfg.image_timeout_s, self.cfg.pose_timeout_s)
        self.world_model = self.planner = self.ik = None
        self.image_size = 0
        self.num_views = 1          # camera views per observation (the model's)
        self._sync = None           # ViewSync of the image topics when there are several
        self._timer = None
        self._subs, self._srvs, self._pubs = [], [], {}
        self._reset_inputs()

    # ------------------------------------------------------------------ lifecycle
    def _reset_inputs(self):
        self._image = None          # latest frame at the model's input size
        self._image_t = None        # monotonic receipt time of that frame
        self._pose6 = None          # x, y, z, roll, pitch, yaw
        self._gripper = 0.0         # 0 open .. 1 closed (from joint_states)
        self._gripper_seen = False
        self._joints = {}
        self._goal = None           # image, tokens or GoalSequence
        self._goal_version = 0
        self._goal_source = ''
        self._planned_version = -1
        self._goal_arg = None
        self._published_goal = (-1, -1)
        self._last_hold_log = (None, -1e9)
        self._tick = 0
        self._last_tick_t = None
        self._rate_hz = float('nan')
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
                                              model_cameras, model_image_size, resolve_device)
        from jepa_ros.planning import make_planner
        cfg = self.cfg
        device = resolve_device(cfg.device)
        threads = configure_threads(cfg.torch_threads, device)
        t0 = time.monotonic()
        self.world_model, what = load_world_model(cfg, device)
        self.image_size = model_image_size(self.world_model)
        self.num_views = int(getattr(self.world_model, 'num_views', 1) or 1)
        topics = cfg.camera_topics
        cameras = model_cameras(cfg, self.world_model)
        check_view_count(self.num_views, topics, cameras)
        self._sync = ViewSync(topics, cfg.image_sync_slop) if len(topics) > 1 else None
        self.planner = make_planner(self.world_model, self.planner_cfg)
        if cfg.command_mode == 'joint_trajectory':
            from jepa_ros.control.ik import ArmIK
            self.ik = ArmIK(cfg.trajectory_joints, cfg.ik_mjcf_path)
        self._reset_inputs()
        self._load_goal_files()
        if cfg.warmup:
            self._warm_up()
        self.get_logger().info(
            f'{what} on {device} ({threads} torch thread(s)), {self.image_size} px input, '
            f'{self._views_text(topics, cameras)}'
            f'{self.planner_cfg.method} {self.planner_cfg.samples} samples x '
            f'{self.planner_cfg.iterations} iterations, horizon {self.planner_cfg.horizon}; '
            f'ready in {time.monotonic() - t0:.1f} s')
        self._create_interfaces()

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
        goal = images[0] if len(images) == 1 else GoalSequence(images)
        what = paths[0] if len(paths) == 1 else f'{len(paths)} sub-goal images'
        self._set_goal(goal, f'file {what}')

    def _create_interfaces(self):
        cfg = self.cfg
        grp = self._inputs_group
        topics = cfg.camera_topics
        if self._sync is None:
            self._subs = [self.create_subscription(Image, topics[0], self._on_image,
                                                   sensor_qos(1), callback_group=grp)]
        else:  # a few frames per topic: ViewSync matches them by stamp
            self._subs = [self.create_subscription(Image, topic, self._view_callback(i),
                                                   sensor_qos(), callback_group=grp)
                          for i, topic in enumerate(topics)]
        self._subs += [
            self.create_subscription(PoseStamped, 'ee_pose', self._on_pose, state_qos(),
                                     callback_group=grp),
            self.create_subscription(JointState, 'joint_states', self._on_joint_states,
                                     state_qos(), callback_group=grp),
            self.create_subscription(Image, 'goal_image', self._on_goal_image, command_qos(1),
                                     callback_group=grp),
        ]
        self._srvs = [
            self.create_service(Trigger, '~/capture_goal', self._on_capture_goal,
                                callback_group=self._service_group),
            self.create_service(Trigger, '~/clear_goal', self._on_clear_goal,
                                callback_group=self._service_group),
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

    def _teardown(self):
        for timer in (self._timer, self._landscape_timer):
            if timer is not None:
                self.destroy_timer(timer)
        self._timer = self._landscape_timer = None
        for sub in self._subs:
            self.destroy_subscription(sub)
        for srv in self._srvs:
            self.destroy_service(srv)
        for p in self._pubs.values():
            self.destroy_lifecycle_publisher(p)
        self._subs, self._srvs, self._pubs = [], [], {}
        if self.ik is not None:
            self.ik.close()
        self.world_model = self.planner = self.ik = None
        self._sync = None

    def on_activate(self, state) -> TransitionCallbackReturn:
        """Enable the publishers and start the fixed-rate loop."""
        ret = super().on_activate(state)
        self._timer = self.create_timer(self.cfg.period_s, self._on_tick,
                                        callback_group=self._loop_group)
        if self.cfg.publish_landscape:  # off the control loop: it costs many rollouts
            self._landscape_timer = self.create_timer(
                self.cfg.period_s * self.cfg.landscape_every_n, self._on_landscape_timer,
                callback_group=self._viz_group)
        self._published_goal = (-1, -1)
        self.get_logger().info(f'loop running at {self.cfg.rate_hz:g} Hz, command_mode '
                               f'{self.cfg.command_mode!r}')
        return ret

    def on_deactivate(self, state) -> TransitionCallbackReturn:
        """Stop the loop and send one hold-still command before the publishers go quiet."""
        if self._timer is not None:
            self.destroy_timer(self._timer)
            self._timer = None
        if self._landscape_timer is not None:
            self.destroy_timer(self._landscape_timer)
            self._landscape_timer = None
        self.publish_hold('node deactivated')
        return super().on_deactivate(state)

    def on_cleanup(self, state) -> TransitionCallbackReturn:
        """Release the model and every topic."""
        self._teardown()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state) -> TransitionCallbackReturn:
        """Hold still and release everything."""
        if self._timer is not None:
            self.publish_hold('node shutting down')
        self._teardown()
        return TransitionCallbackReturn.SUCCESS

    # ------------------------------------------------------------------ inputs
    def _fit(self, img):
        return fit_image(img, self.image_size, self.cfg.image_resize)

    def _fit_views(self, img):
        """Fit an image to the model input; for V views, V images side by side -> (V, S, S, 3)."""
        if self.num_views == 1:
            return self._fit(img)
        return np.stack([self._fit(v) for v in split_views(img, self.num_views)])

    def _view_callback(self, index):
        def callback(msg):
            self._on_view(index, msg)
        return callback

    def _on_view(self, index, msg):
        t = time.monotonic()
        sync = self._sync
        if sync is None:  # torn down meanwhile
            return
        try:
            img = self._fit(image_to_numpy(msg, 'rgb8'))
        except ValueError as exc:
            self.get_logger().warn(f'camera frame on {sync.topics[index]} dropped: {exc}',
                                   throttle_duration_sec=5.0)
            return
        stamp = msg.header.stamp.sec + 1e-9 * msg.header.stamp.nanosec
        with self._lock:
            sync.add(index, stamp, img, t)

    def _latest_frame(self, now):
        """
        Return ``(observation, receipt time, None)`` or ``(None, None, why there is none)``.

        Call with ``self._lock`` held. With several image topics the observation is the newest
        set of views whose stamps agree (V, S, S, 3), received at its oldest view's time.
        """
        if self._sync is None:
            return self._image, self._image_t, None
        views, reason = self._sync.get(now, self.cfg.image_timeout_s)
        if views is None:
            return None, None, reason
        self.watchdog.image_received(views.receipt_t)
        return views.stacked(), views.receipt_t, None

    def _on_image(self, msg):
        t = time.monotonic()
        try:
            img = self._fit(image_to_numpy(msg, 'rgb8'))
        except ValueError as exc:
            self.get_logger().warn(f'camera frame dropped: {exc}', throttle_duration_sec=5.0)
            return
        with self._lock:
            self._image, self._image_t = img, t
            self.watchdog.image_received(t)

    def _on_pose(self, msg):
        try:
            state6 = base_frame_pose_state(msg, self.cfg.base_frame)
        except ValueError as exc:
            self.get_logger().warn(f'ee_pose dropped: {exc}', throttle_duration_sec=5.0)
            return
        t = time.monotonic()
        with self._lock:
            self._pose6 = state6
            self.watchdog.pose_received(t)

    def _on_joint_states(self, msg):
        cfg = self.cfg
        bad = nonfinite_joints(msg, list(cfg.trajectory_joints) + [cfg.gripper_joint])
        if bad:  # keep the last good values; a NaN must never reach IK or the gripper
            self.get_logger().warn(f'joint_states dropped: non-finite position of {bad}',
                                   throttle_duration_sec=5.0)
            return
        with self._lock:
            for name in cfg.trajectory_joints:
                q = joint_position(msg, name)
                if q is not None:
                    self._joints[name] = q
            if cfg.gripper_joint:
                q = joint_position(msg, cfg.gripper_joint)
                if q is not None:
                    self._gripper = cfg.gripper_from_position(q)
                    self._gripper_seen = True

    def _on_goal_image(self, msg):
        try:
            img = self._fit_views(image_to_numpy(msg, 'rgb8'))
        except ValueError as exc:
            self.get_logger().warn(f'goal_image rejected: {exc}')
            return
        self._set_goal(img, 'goal_image topic')

    def _on_capture_goal(self, request, response):
        with self._lock:
            img, t, reason = self._latest_frame(time.monotonic())
        if reason is not None:
            response.success, response.message = False, reason
        elif img is None:
            response.success, response.message = False, 'no camera frame received yet'
        elif time.monotonic() - t > self.cfg.image_timeout_s:
            response.success = False
            response.message = f'latest camera frame is {time.monotonic() - t:.2f} s old'
        elif self.num_views > 1:
            self._set_goal(img.copy(), f'captured {self.num_views} camera views')
            response.success = True
            response.message = f'goal set to the current {self.num_views} camera views'
        else:
            self._set_goal(img.copy(), 'captured camera frame')
            response.success, response.message = True, 'goal set to the current camera frame'
        return response

    def _on_clear_goal(self, request, response):
        with self._lock:
            self._goal = None
            self._goal_version += 1
        self.get_logger().info('goal cleared: holding still')
        response.success, response.message = True, 'goal cleared; the arm holds still'
        return response

    def _set_goal(self, goal, source):
        with self._lock:
            self._goal = goal
            self._goal_version += 1
            self._goal_source = source
        self.get_logger().info(f'new goal from {source}')

    # ------------------------------------------------------------------ loop
    def _state(self):
        if self._pose6 is None:
            return None
        return np.concatenate([self._pose6, [self._gripper]])

    def _log_hold(self, reason):
        now = time.monotonic()
        kind = hold_reason_kind(reason)  # '0.61 s old', '0.81 s old', ...: one kind
        last_kind, last_t = self._last_hold_log
        if kind != last_kind or now - last_t >= self.cfg.hold_log_period_s:
            self.get_logger().warn(f'holding still: {reason}')
            self._last_hold_log = (kind, now)

    def publish_hold(self, reason, state=None, diagnostics=None):
        """Publish the hold-still command of the active mode (when it can be formed)."""
        if not self._pubs:
            return
        with self._lock:
            state = self._state() if state is None else state
            joints = [self._joints.get(n) for n in self.cfg.trajectory_joints]
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
        if diagnostics is not None:
            diagnostics.update(hold=True, reason=reason, stamp=stamp_seconds(stamp))
            self._pubs['diagnostics'].publish(diagnostics_msg(diagnostics))

    def stop(self, reason='node stopped'):
        """Wait for a running loop step, refuse further ones and publish a hold (Ctrl-C path)."""
        with self._tick_lock:
            self._stopping = True
            try:
                self.publish_hold(reason)
            except Exception:  # the context may already be shut down by Ctrl-C
                pass

    def _on_tick(self):
        with self._tick_lock:
            if self._stopping:
                return
            try:
                self._step()
            except Exception as exc:  # never let one bad step end the loop silently
                if not self.context.ok():
                    return  # Ctrl-C arrived mid-step: main() sends the final hold
                reason = f'loop error: {type(exc).__name__}: {exc}'
                self._log_hold(reason)
                try:
                    self.publish_hold(reason)
                except Exception as exc2:
                    self.get_logger().error(f'cannot even publish a hold: {exc2}')

    def _step(self):
        t0 = time.monotonic()
        if self._last_tick_t is not None:
            dt = t0 - self._last_tick_t
            self._rate_hz = 1.0 / dt if np.isnan(self._rate_hz) else \
                0.8 * self._rate_hz + 0.2 / dt
        self._last_tick_t = t0
        self._tick += 1
        diag = {'tick': self._tick, 'rate_hz': self._rate_hz, 'mode': self.cfg.command_mode}
        with self._lock:
            image, image_t, reason = self._latest_frame(t0)
            state = self._state()
            goal, version, source = self._goal, self._goal_version, self._goal_source
            reason = reason or self.watchdog.hold_reason(t0)
        if reason is None and goal is None:
            reason = ('no goal: publish an image on goal_image, call ~/capture_goal or set '
                      'goal_image_path')
        if reason is not None:
            self._log_hold(reason)
            self.publish_hold(reason, state, diag)
            return
        if self.cfg.gripper_joint and not self._gripper_seen and not self._warned_gripper:
            self._warned_gripper = True
            self.get_logger().warn(f'no {self.cfg.gripper_joint!r} in joint_states yet: the '
                                   'gripper state is taken as open (0)')
        try:
            plan = self._plan(image, state, goal, version)
        except Exception as exc:  # a planner failure must never move the arm
            reason = f'planner error: {type(exc).__name__}: {exc}'
            self._log_hold(reason)
            self.publish_hold(reason, state, diag)
            return
        diag.update(plan_ms=plan.ms, iterations=plan.iterations, energy=plan.final_energy,
                    current_energy=plan.current_energy, goal_index=plan.goal_index,
                    goal_reached=plan.goal_reached, goal_source=source, method=plan.method,
                    plan_reason=plan.reason)
        self._publish_goal_image(goal, version, plan.goal_index)
        stamp = self.get_clock().now().to_msg()
        frame = self.cfg.base_frame
        self._pubs['path'].publish(path_msg(plan.ee_path, frame, stamp))
        self._pubs['markers'].publish(markers_msg(plan.ee_path, frame, stamp, plan.ok,
                                                  self._goal_position_of(goal, plan)))
        if not plan.ok:
            self._log_hold(plan.reason)
            self.publish_hold(plan.reason, state, diag)
            return
        age = time.monotonic() - image_t
        if age > self.cfg.image_timeout_s:  # planning took longer than the frame stays fresh
            reason = (f'camera frame became stale while planning ({age:.2f} s old > '
                      f'image_timeout_s {self.cfg.image_timeout_s:g}; planning took '
                      f'{plan.ms:.0f} ms): raise image_timeout_s or plan faster (fewer '
                      f'planner.samples / iterations / horizon, or a GPU)')
            self._log_hold(reason)
            self.publish_hold(reason, state, diag)
            return
        period = self.cfg.period_s
        cmd = action_to_command(state, plan.first_action, period)
        cmd, notes = limit_command(cmd, state, self.cfg.max_linear_speed,
                                   self.cfg.max_angular_speed, self.planner_cfg.workspace_min,
                                   self.planner_cfg.workspace_max)
        if self.cfg.command_mode == 'joint_trajectory':
            try:
                cmd.joint_positions = self._solve_ik(cmd)
            except ValueError as exc:
                reason = f'no joint command: {exc}'
                self._log_hold(reason)
                self.publish_hold(reason, state, diag)
                return
        self._publish_command(cmd, stamp)
        diag.update(hold=False, reason='', stamp=stamp_seconds(stamp),
                    first_action=plan.first_action.tolist(),
                    limit_notes=notes + list(plan.notes),
                    latency_ms=1e3 * (time.monotonic() - image_t),
                    tick_ms=1e3 * (time.monotonic() - t0))
        self._pubs['diagnostics'].publish(diagnostics_msg(diag))
        if 'landscape' in self._pubs:
            self._landscape_job = (image, state, plan.actions, self._goal_arg)

    def _plan(self, image, state, goal, version):
        from jepa_ros.planning import GoalSequence
        if version != self._planned_version:  # new goal: encode it once, forget the warm start
            self.planner.reset()
            if isinstance(goal, GoalSequence):
                goal.reset()
                self._goal_arg = goal
            else:
                self._goal_arg = self.world_model.encode(goal)
            self._planned_version = version
        return self.planner.plan(image, state, self._goal_arg)

    def _goal_position_of(self, goal, plan):
        """Return the goal's end-effector position when the world model can tell (pose codes)."""
        from jepa_ros.planning import GoalSequence
        decode = getattr(self.world_model, 'goal_position', None)
        if decode is None:
            return None
        img = goal.goals[goal.index] if isinstance(goal, GoalSequence) else goal
        return decode(img)

    def _publish_goal_image(self, goal, version, index):
        from jepa_ros.planning import GoalSequence
        if self._published_goal == (version, index):
            return
        img = goal.goals[goal.index] if isinstance(goal, GoalSequence) else goal
        if isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim in (3, 4):
            msg = numpy_to_image(np.ascontiguousarray(tile_views(img)), 'rgb8')
            msg.header.stamp = self.get_clock().now().to_msg()
            msg.header.frame_id = 'goal'
            self._pubs['goal_image'].publish(msg)
        self._published_goal = (version, index)

    def _solve_ik(self, cmd):
        with self._lock:
            q = [self._joints.get(n) for n in self.cfg.trajectory_joints]
        if None in q:
            missing = [n for n, v in zip(self.cfg.trajectory_joints, q) if v is None]
            raise ValueError(f'joint_states has no position for {missing}')
        return self.ik.solve(np.asarray(q), cmd.target_pos, cmd.target_quat)

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

    def _on_landscape_timer(self):
        job, self._landscape_job = self._landscape_job, None
        if job is None or self._stopping or 'landscape' not in self._pubs:
            return
        try:
            self._publish_landscape(*job)
        except Exception as exc:  # visualisation must never disturb the loop
            if self.context.ok():
                self.get_logger().warn(f'energy landscape failed: {exc}',
                                       throttle_duration_sec=10.0)

    def _publish_landscape(self, image, state, actions, goal_arg):
        from jepa_ros.planning import energy_landscape, GoalSequence
        goal = goal_arg.tokens(self.planner) if isinstance(goal_arg, GoalSequence) else goal_arg
        try:
            ls = energy_landscape(self.world_model, image, state, goal, actions,
                                  span=self.planner_cfg.maxnorm, resolution=11,
                                  config=self.planner_cfg)
        except (RuntimeError, ValueError) as exc:
            self.get_logger().warn(f'energy landscape failed: {exc}', throttle_duration_sec=10.0)
            return
        mid = len(ls.xs) // 2
        iy, ix = np.unravel_index(int(np.nanargmin(np.where(np.isfinite(ls.energies),
                                                            ls.energies, np.inf))),
                                  ls.energies.shape)
        msg = numpy_to_image(landscape_image(ls.energies, (mid, mid), (iy, ix)), 'rgb8')
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = 'energy_landscape'
        self._pubs['landscape'].publish(msg)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _autostart(node):
    if node.cfg.autostart and not node.start():
        raise UserError(f'cannot start: {node.startup_error}')


def main(args=None):
    """Run the node until Ctrl-C; a bad parameter or model exits with status 2 and one message."""
    os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')  # before torch loads
    # Our own SIGINT/SIGTERM handling keeps the context alive until the final hold is sent.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    return run_node(NODE_NAME, PlannerNode, args=args,
                    executor_factory=lambda: MultiThreadedExecutor(num_threads=4),
                    init_kwargs={'signal_handler_options': SignalHandlerOptions.NO},
                    on_ready=_autostart, on_stop=lambda node: node.stop())


if __name__ == '__main__':
    sys.exit(main())
