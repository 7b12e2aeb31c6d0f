# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
ROS 2 node around the embedded MuJoCo arm (:class:`jepa_ros.sim.SimArm`).

Publishes (names relative, so remappable): ``joint_states`` (sensor_msgs/JointState),
``ee_pose`` (geometry_msgs/PoseStamped, arm base frame), ``camera/image_raw`` (rgb8, sensor-data
QoS) and ``camera/camera_info`` (camera ``camera``); for each name in ``extra_cameras`` also
``camera_<name>/image_raw`` and ``camera_<name>/camera_info``, rendered in the same tick with the
same stamp (``publish_side_camera`` is the same as ``extra_cameras: [side]``), for multi-camera
planning.

Accepts: ``joint_trajectory`` (trajectory_msgs/JointTrajectory, followed in time like
ros2_control's joint_trajectory_controller), ``delta_twist_cmds`` (geometry_msgs/TwistStamped,
integrated over each control period like MoveIt Servo, stopped after ``twist_timeout``),
``target_pose`` (geometry_msgs/PoseStamped, approached at the step limits) and ``gripper_command``
(std_msgs/Float64, 0 open .. 1 closed). The latest arm command replaces the previous one.
Out-of-range commands are clamped and logged; malformed ones (NaN, wrong joint names or lengths,
wrong frame) are rejected with a logged reason and the arm holds still.
"""

from dataclasses import dataclass, fields
import math
import re
import sys
from typing import Tuple

from geometry_msgs.msg import PoseStamped, TwistStamped
from jepa_ros.ros.image_conversion import numpy_to_image
from jepa_ros.ros.node_main import run_node
from jepa_ros.ros.params import declare_config, refuse_unknown_parameters
from jepa_ros.ros.planner_msgs import pose_msg, time_msg
from jepa_ros.ros.qos import command_qos, sensor_qos, state_qos
from jepa_ros.ros.tf import camera_optical_pose, TfPublisher
from jepa_ros.sim import SimArm
from jepa_ros.sim.config import SimConfig
from jepa_ros.sim.geometry import mat_to_euler, quat_to_mat, rotation_error, rotvec_to_mat
from jepa_ros.utils.config import ConfigError
import numpy as np
from rclpy.clock import Clock as RosClock, ClockType
from rclpy.node import Node
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Float64
from trajectory_msgs.msg import JointTrajectory

NODE_NAME = 'sim_arm_node'
_TWIST_REBASE_DISTANCE = 0.02   # m: a twist integrates from the measured pose beyond this lag
_TRAJECTORY_BOX_TOLERANCE = 0.01  # m: trajectory points may end this far outside the box


@dataclass
class SimArmNodeConfig:
    """ROS-side settings of the node (the scene itself is configured by SimConfig)."""

    frame_id: str = 'panda_link0'                       # arm base frame of ee_pose
    camera_frame_id: str = 'front_camera_optical_frame'
    side_camera_frame_id: str = 'side_camera_optical_frame'
    camera_rate: float = 10.0                           # Hz (at most the control rate)
    publish_side_camera: bool = False                   # = extra_cameras: [side]
    # More cameras of the scene, each on camera_<name>/image_raw + camera_<name>/camera_info
    # (frame <name>_camera_optical_frame; side_camera_frame_id for the side camera).
    extra_cameras: Tuple[str, ...] = ()
    twist_timeout: float = 0.25                         # s without twist -> stop
    # /clock (rosgraph_msgs/Clock) from the simulation; stamps are then sim time. Give the
    # other nodes use_sim_time: true (sim_demo.launch.py use_sim_time:=true does both).
    publish_clock: bool = False
    # TF (where tf2_msgs is installed): base -> ee_frame_id each tick, base -> camera optical
    # frames on /tf_static.
    publish_tf: bool = True
    ee_frame_id: str = 'panda_ee'
    pose_tolerance: float = 0.003                       # m: target_pose counts as reached
    real_time_factor: float = 1.0                       # simulated s per wall s

    def validate(self):
        """Raise ConfigError naming the first bad field."""
        for name in ('camera_rate', 'twist_timeout', 'pose_tolerance', 'real_time_factor'):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise ConfigError(f'SimArmNodeConfig.{name} must be a positive number, '
                                  f'got {value}')
        if not self.frame_id:
            raise ConfigError('SimArmNodeConfig.frame_id must not be empty')
        for name in self.extra_cameras:
            if not re.fullmatch(r'[A-Za-z][A-Za-z0-9_]*', name):
                raise ConfigError(f'SimArmNodeConfig.extra_cameras: {name!r} cannot be part of a '
                                  'topic name (letters, digits and _, starting with a letter)')
        if len(set(self.extra_cameras)) != len(self.extra_cameras):
            raise ConfigError(f'SimArmNodeConfig.extra_cameras names a camera twice: '
                              f'{list(self.extra_cameras)}')


def _overlap():
    return {f.name for f in fields(SimConfig)} & {f.name for f in fields(SimArmNodeConfig)}


assert not _overlap(), f'parameter names used twice: {_overlap()}'


def interpolate_trajectory(times, points, t):
    """Return the joint positions at time ``t`` on a piecewise-linear trajectory."""
    if t <= times[0]:
        return points[0]
    if t >= times[-1]:
        return points[-1]
    i = int(np.searchsorted(times, t, side='right')) - 1
    span = times[i + 1] - times[i]
    alpha = 0.0 if span <= 0 else (t - times[i]) / span
    return points[i] + alpha * (points[i + 1] - points[i])


class SimArmNode(Node):
    """Simulated arm with joint-state, pose and camera topics and four command inputs."""

    def __init__(self, **kwargs):
        """Declare parameters, build the simulator, publishers, subscribers and timer."""
        super().__init__(NODE_NAME, **kwargs)
        self.sim_config = declare_config(self, SimConfig)
        self.cfg = declare_config(self, SimArmNodeConfig)
        refuse_unknown_parameters(self)
        self.sim = SimArm(self.sim_config)
        try:
            extra_cameras = self._extra_camera_names()
        except ConfigError:
            self.sim.close()
            raise
        self.sim.reset(seed=0, render=False)
        self.dt = self.sim_config.control_dt
        self._mode = None            # None | 'trajectory' | 'twist' | 'pose'
        self._traj = None            # (times, points) in sim time
        self._twist = None           # (linear, angular, sim time received)
        self._target = None          # (pos, rotation matrix)
        self._twist_base = None      # last twist step's target position
        self._gripper_target = self.sim.gripper
        self._tick = 0
        self._camera_every = max(1, int(round(1.0 / (self.cfg.camera_rate * self.dt))))
        self.joint_state_pub = self.create_publisher(JointState, 'joint_states', state_qos())
        self.ee_pose_pub = self.create_publisher(PoseStamped, 'ee_pose', state_qos())
        self.cameras = [self._camera_pubs(self.sim_config.camera, self.cfg.camera_frame_id,
                                          'camera')]
        for name in extra_cameras:
            frame = self.cfg.side_camera_frame_id if name == self.sim_config.side_camera \
                else f'{name}_camera_optical_frame'
            self.cameras.append(self._camera_pubs(name, frame, f'camera_{name}'))
        self.create_subscription(JointTrajectory, 'joint_trajectory', self._on_trajectory,
                                 command_qos())
        self.create_subscription(TwistStamped, 'delta_twist_cmds', self._on_twist,
                                 command_qos())
        self.create_subscription(PoseStamped, 'target_pose', self._on_target_pose,
                                 command_qos())
        self.create_subscription(Float64, 'gripper_command', self._on_gripper, command_qos())
        self.clock_pub = self.create_publisher(Clock, '/clock', 10) if self.cfg.publish_clock \
            else None
        self.tf = TfPublisher(self, self.cfg.frame_id) if self.cfg.publish_tf else None
        if self.tf is not None and self.tf.available:
            self.tf.publish_static([(frame, *camera_optical_pose(self.sim, camera))
                                    for camera, frame, _, _ in self.cameras])
        # A steady-clock timer: with use_sim_time a ROS-clock timer would wait for the /clock
        # this node itself publishes.
        self.timer = self.create_timer(self.dt / self.cfg.real_time_factor, self._on_timer,
                                       clock=RosClock(clock_type=ClockType.STEADY_TIME))
        self.get_logger().info(
            f'simulated arm ready: {len(self.sim.joint_names)} joints, control period '
            f'{self.dt:.3f} s, {self.sim_config.image_size} px camera at '
            f'{1.0 / (self._camera_every * self.dt):.1f} Hz, frame {self.cfg.frame_id!r}'
            + ''.join(f', camera {c[0]!r} on camera_{c[0]}/image_raw' for c in self.cameras[1:]))

    def _extra_camera_names(self):
        """Return the cameras published besides the main one (checked against the scene)."""
        names = list(self.cfg.extra_cameras)
        if self.cfg.publish_side_camera:
            if not self.sim_config.side_camera:
                raise ConfigError('publish_side_camera is true but side_camera is empty')
            if self.sim_config.side_camera not in names:
                names.append(self.sim_config.side_camera)
        known = ', '.join(self.sim.camera_names)
        for name in names:
            if name not in self.sim.camera_names:
                raise ConfigError(f'extra_cameras: the scene has no camera {name!r}; its cameras: '
                                  f'{known}')
            if name == self.sim_config.camera:
                raise ConfigError(f'extra_cameras: {name!r} is the main camera (parameter '
                                  'camera), already published on camera/image_raw')
        return names

    def _camera_pubs(self, camera, frame_id, namespace):
        return (camera, frame_id,
                self.create_publisher(Image, f'{namespace}/image_raw', sensor_qos()),
                self.create_publisher(CameraInfo, f'{namespace}/camera_info', sensor_qos()))

    # -------------------------------------------------------------- commands
    def _reject(self, topic, reason):
        self.get_logger().warn(f'rejected {topic}: {reason}; holding still')

    def _frame_ok(self, topic, frame):
        if frame in ('', self.cfg.frame_id):
            return True
        self._reject(topic, f'frame {frame!r} is not the base frame {self.cfg.frame_id!r}')
        return False

    def _on_trajectory(self, msg):
        names = list(msg.joint_names)
        expected = list(self.sim.joint_names)
        if sorted(names) != sorted(expected) or len(set(names)) != len(names):
            self._reject('joint_trajectory', f'joint_names {names} must be exactly {expected}'
                                             ' (any order)')
            return
        if not msg.points:
            self._reject('joint_trajectory', 'no points')
            return
        order = [names.index(n) for n in expected]
        times, points = [], []
        for k, pt in enumerate(msg.points):
            if len(pt.positions) != len(names):
                self._reject('joint_trajectory', f'point {k} has {len(pt.positions)} '
                                                 f'positions for {len(names)} joints')
                return
            q = np.asarray(pt.positions, dtype=np.float64)[order]
            t = pt.time_from_start.sec + pt.time_from_start.nanosec * 1e-9
            if not np.all(np.isfinite(q)):
                self._reject('joint_trajectory', f'point {k} has a non-finite position')
                return
            if times and t < times[-1]:
                self._reject('joint_trajectory', f'point {k}: time_from_start goes back')
                return
            times.append(t)
            points.append(q)
        lim = self.sim.joint_limits
        clipped = [np.clip(q, lim[:, 0], lim[:, 1]) for q in points]
        if any(np.any(c != q) for c, q in zip(clipped, points)):
            self.get_logger().warn('joint_trajectory: positions outside the joint limits '
                                   'clamped to them')
        for k, q in enumerate(clipped):  # the same workspace box as Cartesian commands
            pos, _ = self.sim.fk(q)
            if not self.sim.in_workspace(pos, tolerance=_TRAJECTORY_BOX_TOLERANCE):
                c = self.sim_config
                self._reject('joint_trajectory', f'point {k} puts the end effector at '
                             f'{np.round(pos, 3).tolist()}, outside the workspace box '
                             f'{list(c.workspace_low)} .. {list(c.workspace_high)}')
                return
        now = self.sim.data.time
        start = self.sim.joint_targets
        if times[0] > 0:  # start from where the arm is now, as the controller does
            times.insert(0, 0.0)
            clipped.insert(0, start)
        self._traj = (now + np.asarray(times), np.asarray(clipped))
        self._mode = 'trajectory'

    def _on_twist(self, msg):
        if not self._frame_ok('delta_twist_cmds', msg.header.frame_id):
            return
        lin = np.array([msg.twist.linear.x, msg.twist.linear.y, msg.twist.linear.z])
        ang = np.array([msg.twist.angular.x, msg.twist.angular.y, msg.twist.angular.z])
        if not (np.all(np.isfinite(lin)) and np.all(np.isfinite(ang))):
            self._reject('delta_twist_cmds', 'non-finite velocity')
            return
        self._twist = (lin, ang, self.sim.data.time)
        if self._mode != 'twist':
            self._twist_base = None
        self._mode = 'twist'

    def _on_target_pose(self, msg):
        if not self._frame_ok('target_pose', msg.header.frame_id):
            return
        p, o = msg.pose.position, msg.pose.orientation
        pos = np.array([p.x, p.y, p.z])
        quat = np.array([o.w, o.x, o.y, o.z])
        if not (np.all(np.isfinite(pos)) and np.all(np.isfinite(quat))):
            self._reject('target_pose', 'non-finite pose')
            return
        if np.linalg.norm(quat) < 1e-6:
            self._reject('target_pose', 'zero quaternion')
            return
        clamped, hit = self.sim.clamp_to_workspace(pos)
        if hit:
            self.get_logger().warn(
                f'target_pose {np.round(pos, 3).tolist()} outside the workspace; clamped to '
                f'{np.round(clamped, 3).tolist()}')
        self._target = (clamped, quat_to_mat(quat))
        self._mode = 'pose'

    def _on_gripper(self, msg):
        g = float(msg.data)
        if not math.isfinite(g):
            self._reject('gripper_command', 'non-finite value')
            return
        if not 0.0 <= g <= 1.0:
            self.get_logger().warn(f'gripper_command {g} clamped to [0, 1]')
        self._gripper_target = min(1.0, max(0.0, g))

    # -------------------------------------------------------------- control loop
    def _action_towards(self, pos, mat):
        """EE action that heads for (pos, mat); the sim clamps it to the step limits."""
        cur_pos, cur_mat = self.sim.ee_pose()
        action = np.zeros(7)
        action[:3] = pos - cur_pos
        action[3:6] = mat_to_euler(mat @ cur_mat.T)   # the rotation apply_action composes
        action[6] = self._gripper_target - self.sim.gripper
        return action

    def _limit(self, action):
        c = self.sim_config
        return np.concatenate([
            np.clip(action[:3], -c.max_step_translation, c.max_step_translation),
            np.clip(action[3:6], -c.max_step_rotation, c.max_step_rotation), action[6:]])

    def _control(self):
        sim, now = self.sim, self.sim.data.time
        if self._mode == 'trajectory':
            times, points = self._traj
            q = interpolate_trajectory(times, points, now + self.dt)
            sim.step_joints(q, gripper=self._gripper_target, render=False)
            limits = [c for c in sim.last_step_info['clamped'] if c in ('ee_speed', 'workspace')]
            if limits:
                self.get_logger().warn(f'joint_trajectory slowed to keep the end effector within '
                                       f'the {" and ".join(limits)} limits',
                                       throttle_duration_sec=2.0)
            # past its end, keep tracking the last point until the (speed-limited) arm is there
            if now + self.dt >= times[-1] and \
                    np.max(np.abs(sim.joint_targets - points[-1])) < 1e-4:
                self._mode = None
        elif self._mode == 'twist':
            lin, ang, stamp = self._twist
            if now - stamp > self.cfg.twist_timeout:
                self._mode = None
                sim.hold(gripper=self._gripper_target, render=False)
                return
            cur_pos, _ = sim.ee_pose()
            # Integrate from the previous target, as a servo integrates its commanded pose: from
            # the measured pose, the few mm the arm lags each period would add up to a drift
            # (the end effector sank 2 mm per period under a fast +x twist).
            base = self._twist_base
            if base is None or np.linalg.norm(base - cur_pos) > _TWIST_REBASE_DISTANCE:
                base = cur_pos
            action = np.zeros(7)
            step = np.clip(lin * self.dt, -self.sim_config.max_step_translation,
                           self.sim_config.max_step_translation)
            action[:3] = base + step - cur_pos
            action[3:6] = mat_to_euler(rotvec_to_mat(ang * self.dt))  # R_new = R(w dt) @ R
            action[6] = self._gripper_target - sim.gripper
            limited = self._limit(action)
            if np.any(step != lin * self.dt) or np.any(limited[3:6] != action[3:6]):
                self.get_logger().warn('delta_twist_cmds faster than the step limits; '
                                       'clamped', throttle_duration_sec=2.0)
            sim.step(limited, render=False)
            self._twist_base = np.asarray(sim.last_step_info['target_pos'], dtype=np.float64)
        elif self._mode == 'pose':
            pos, mat = self._target
            sim.step(self._limit(self._action_towards(pos, mat)), render=False)
            cur_pos, cur_mat = sim.ee_pose()
            if np.linalg.norm(cur_pos - pos) < self.cfg.pose_tolerance and \
                    np.linalg.norm(rotation_error(mat, cur_mat)) < 0.02:
                self._mode = None
        else:
            sim.hold(gripper=self._gripper_target, render=False)
        if 'workspace' in sim.last_step_info.get('clamped', []):
            self.get_logger().warn('end-effector target clamped to the workspace box',
                                   throttle_duration_sec=2.0)

    def _on_timer(self):
        try:
            self._control()
        except ValueError as exc:  # never let a bad value move the arm wildly
            self._mode = None
            self.get_logger().error(f'command dropped: {exc}')
        if self.clock_pub is not None:   # the simulation is the clock
            stamp = time_msg(self.sim.data.time)
            self.clock_pub.publish(Clock(clock=stamp))
        else:
            stamp = self.get_clock().now().to_msg()
        self._publish_state(stamp)
        if self._tick % self._camera_every == 0:
            self._publish_cameras(stamp)
        self._tick += 1

    def _publish_state(self, stamp):
        obs = self.sim.observe(render=False)
        js = JointState()
        js.header.stamp = stamp
        js.name = list(self.sim.joint_names) + list(self.sim.finger_joint_names[:1])
        pos = list(obs.joint_pos)
        vel = list(obs.joint_vel)
        if self.sim.finger_joint_names:
            d, p = self.sim.data, self.sim.parts
            pos.append(float(d.qpos[p.finger_qpos[0]]))
            vel.append(float(d.qvel[p.finger_dof[0]]))
        js.position = [float(v) for v in pos]
        js.velocity = [float(v) for v in vel]
        self.joint_state_pub.publish(js)
        self.ee_pose_pub.publish(pose_msg(obs.ee_pos, obs.ee_quat, self.cfg.frame_id, stamp))
        if self.tf is not None:
            self.tf.publish([(self.cfg.ee_frame_id, obs.ee_pos, obs.ee_quat)], stamp)

    def _publish_cameras(self, stamp):
        size = self.sim_config.image_size
        for camera, frame, image_pub, info_pub in self.cameras:
            img = self.sim.render(camera=camera)
            msg = numpy_to_image(img, 'rgb8')
            msg.header.stamp = stamp
            msg.header.frame_id = frame
            image_pub.publish(msg)
            fx, fy, cx, cy = self.sim.camera_intrinsics(camera)
            info = CameraInfo()
            info.header = msg.header
            info.width = info.height = size
            info.distortion_model = 'plumb_bob'
            info.d = [0.0] * 5
            info.k = [fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0]
            info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
            info.p = [fx, 0.0, cx, 0.0, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0]
            info_pub.publish(info)

    def destroy_node(self):
        """Close the simulator's renderers, then destroy the node."""
        self.sim.close()
        return super().destroy_node()


def main(args=None, node_class=None):
    """
    Run the node until Ctrl-C; a bad parameter exits with status 2 and its message.

    ``node_class`` runs a subclass instead (the demo's sim node adds scene resets).
    """
    return run_node(NODE_NAME, node_class or SimArmNode, args=args)


if __name__ == '__main__':
    sys.exit(main())
