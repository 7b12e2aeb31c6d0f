# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Messages in and out of the planner and recorder nodes, as plain functions (testable without DDS).

Inputs: PoseStamped + gripper closedness -> the 7-D state; JointState -> gripper closedness.
Outputs: an :class:`jepa_ros.control.ArmCommand` as TwistStamped, PoseStamped or JointTrajectory,
the imagined end-effector path as nav_msgs/Path and a MarkerArray, planning diagnostics as JSON in
std_msgs/String, and an energy landscape as a colour image.
"""

import json
import math

from builtin_interfaces.msg import Duration
import cv2
from geometry_msgs.msg import Point, PoseStamped, TwistStamped
from jepa_ros.sim.geometry import mat_to_euler, quat_to_mat
from nav_msgs.msg import Path
import numpy as np
from std_msgs.msg import ColorRGBA, String
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint
from visualization_msgs.msg import Marker, MarkerArray


def _header(header, frame: str, stamp):
    """Fill a header (``stamp`` None keeps the zero time)."""
    header.frame_id = frame
    if stamp is not None:
        header.stamp = stamp


def pose_to_state(msg, gripper: float) -> np.ndarray:
    """Return [x, y, z, roll, pitch, yaw, gripper] (extrinsic xyz Euler) of a PoseStamped."""
    p, o = msg.pose.position, msg.pose.orientation
    quat = np.array([o.w, o.x, o.y, o.z], dtype=np.float64)
    pos = np.array([p.x, p.y, p.z], dtype=np.float64)
    if not (np.isfinite(quat).all() and np.isfinite(pos).all()) or np.linalg.norm(quat) < 1e-6:
        raise ValueError('end-effector pose is not finite or has a zero quaternion')
    return np.concatenate([pos, mat_to_euler(quat_to_mat(quat)), [float(gripper)]])


def base_frame_pose_state(msg, base_frame: str) -> np.ndarray:
    """
    Return the 6-D pose state [x, y, z, roll, pitch, yaw] of an end-effector PoseStamped.

    ValueError when it is not in ``base_frame`` (an empty frame id counts as the base frame) or
    not finite: the nodes drop such a pose with the message rather than act on it.
    """
    frame = msg.header.frame_id
    if frame not in ('', base_frame):
        raise ValueError(f'ee_pose in frame {frame!r} ignored: it must be in the base frame '
                         f'{base_frame!r}')
    return pose_to_state(msg, 0.0)[:6]


def joint_position(msg, name: str):
    """Return the position of joint ``name`` in a JointState, or None when it is absent."""
    names = list(msg.name)
    if name not in names:
        return None
    i = names.index(name)
    if i >= len(msg.position) or not math.isfinite(msg.position[i]):
        return None
    return float(msg.position[i])


def nonfinite_joints(msg, names) -> list:
    """Return which of ``names`` a JointState carries with a NaN or infinite position."""
    index = {n: i for i, n in enumerate(msg.name)}
    return [n for n in names if n in index and index[n] < len(msg.position)
            and not math.isfinite(msg.position[index[n]])]


def duration_msg(seconds: float) -> Duration:
    """Return a builtin_interfaces/Duration."""
    sec = int(math.floor(seconds))
    return Duration(sec=sec, nanosec=int(round((seconds - sec) * 1e9)) % 1000000000)


def time_msg(seconds: float):
    """Return a builtin_interfaces/Time for ``seconds`` (e.g. the simulation time)."""
    from builtin_interfaces.msg import Time
    sec = int(math.floor(seconds))
    return Time(sec=sec, nanosec=min(999999999, int(round((seconds - sec) * 1e9))))


def stamp_seconds(stamp) -> float:
    """Return a builtin_interfaces/Time as seconds (how diagnostics name a step's command)."""
    return stamp.sec + stamp.nanosec * 1e-9


def twist_msg(cmd, frame: str, stamp) -> TwistStamped:
    """Return MoveIt Servo's delta_twist_cmds for a command (zero for a hold)."""
    msg = TwistStamped()
    _header(msg.header, frame, stamp)
    lin, ang = cmd.linear_velocity, cmd.angular_velocity
    msg.twist.linear.x, msg.twist.linear.y, msg.twist.linear.z = (float(v) for v in lin)
    msg.twist.angular.x, msg.twist.angular.y, msg.twist.angular.z = (float(v) for v in ang)
    return msg


def pose_msg(pos, quat, frame: str, stamp) -> PoseStamped:
    """Return a PoseStamped from a position and a (w, x, y, z) quaternion."""
    msg = PoseStamped()
    _header(msg.header, frame, stamp)
    msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = (float(v) for v in pos)
    w, x, y, z = (float(v) for v in quat)
    msg.pose.orientation.w, msg.pose.orientation.x = w, x
    msg.pose.orientation.y, msg.pose.orientation.z = y, z
    return msg


def trajectory_msg(joint_names, positions, duration_s: float, stamp=None) -> JointTrajectory:
    """Return a one-point JointTrajectory reaching ``positions`` after ``duration_s``."""
    msg = JointTrajectory()
    if stamp is not None:
        msg.header.stamp = stamp
    msg.joint_names = list(joint_names)
    point = JointTrajectoryPoint()
    point.positions = [float(v) for v in positions]
    point.time_from_start = duration_msg(duration_s)
    msg.points = [point]
    return msg


def path_msg(ee_path, frame: str, stamp) -> Path:
    """Return the imagined end-effector positions (H+1, 3) as nav_msgs/Path."""
    msg = Path()
    _header(msg.header, frame, stamp)
    for p in np.asarray(ee_path, dtype=np.float64).reshape(-1, 3):
        msg.poses.append(pose_msg(p, (1.0, 0.0, 0.0, 0.0), frame, stamp))
    return msg


def _color(r, g, b, a=1.0):
    return ColorRGBA(r=float(r), g=float(g), b=float(b), a=float(a))


def markers_msg(ee_path, frame: str, stamp, ok: bool, goal_position=None) -> MarkerArray:
    """
    Return the plan as markers: a line strip, a sphere per imagined step and the goal, if known.

    The line is orange for a plan and red for a hold, so RViz shows at a glance why the arm stops.
    """
    pts = np.asarray(ee_path, dtype=np.float64).reshape(-1, 3)
    line = Marker()
    _header(line.header, frame, stamp)
    line.ns, line.id, line.type, line.action = 'imagined_path', 0, Marker.LINE_STRIP, Marker.ADD
    line.pose.orientation.w = 1.0
    line.scale.x = 0.008
    line.color = _color(1.0, 0.65, 0.0) if ok else _color(1.0, 0.1, 0.1)
    line.points = [Point(x=float(p[0]), y=float(p[1]), z=float(p[2])) for p in pts]
    spheres = Marker()
    spheres.header = line.header
    spheres.ns, spheres.id, spheres.type = 'imagined_steps', 1, Marker.SPHERE_LIST
    spheres.action = Marker.ADD
    spheres.pose.orientation.w = 1.0
    spheres.scale.x = spheres.scale.y = spheres.scale.z = 0.02
    spheres.color = line.color
    spheres.points = list(line.points)
    out = MarkerArray(markers=[line, spheres])
    goal = Marker()
    goal.header = line.header
    goal.ns, goal.id, goal.type = 'goal', 2, Marker.SPHERE
    goal.pose.orientation.w = 1.0
    goal.scale.x = goal.scale.y = goal.scale.z = 0.04
    goal.color = _color(0.1, 0.9, 0.2, 0.8)
    if goal_position is not None and np.isfinite(goal_position).all():
        goal.action = Marker.ADD
        goal.pose.position.x, goal.pose.position.y, goal.pose.position.z = \
            (float(v) for v in goal_position)
    else:
        goal.action = Marker.DELETE
    out.markers.append(goal)
    return out


def _jsonable(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    return value


def diagnostics_msg(values: dict) -> String:
    """Return diagnostics as a JSON object in std_msgs/String (NaN/inf become null)."""
    return String(data=json.dumps(_jsonable(values), sort_keys=True))


def landscape_image(energies, chosen_index=None, minimum_index=None, scale: int = 8):
    """
    Return an RGB uint8 heat map of an energy grid (low energy = dark blue, high = yellow).

    Rows are the second action axis (drawn bottom-up), columns the first. The chosen action is a
    white cross, the grid minimum a red dot.
    """
    e = np.asarray(energies, dtype=np.float64)
    finite = np.isfinite(e)
    lo, hi = (e[finite].min(), e[finite].max()) if finite.any() else (0.0, 1.0)
    norm = np.where(finite, (e - lo) / (hi - lo if hi > lo else 1.0), 1.0)
    grey = np.flipud(np.round(norm * 255).astype(np.uint8))
    big = cv2.resize(grey, (grey.shape[1] * scale, grey.shape[0] * scale),
                     interpolation=cv2.INTER_NEAREST)
    rgb = cv2.cvtColor(cv2.applyColorMap(big, cv2.COLORMAP_VIRIDIS), cv2.COLOR_BGR2RGB)
    rows = e.shape[0]

    def centre(index):
        iy, ix = index
        return (int((ix + 0.5) * scale), int((rows - 1 - iy + 0.5) * scale))

    if minimum_index is not None:
        cv2.circle(rgb, centre(minimum_index), max(2, scale // 2), (255, 0, 0), -1)
    if chosen_index is not None:
        cv2.drawMarker(rgb, centre(chosen_index), (255, 255, 255), cv2.MARKER_CROSS,
                       2 * scale, 2)
    return np.ascontiguousarray(rgb)
