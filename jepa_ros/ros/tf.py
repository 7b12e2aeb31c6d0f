# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
TF from the simulated arm: the end effector on /tf, the cameras' optical frames on /tf_static.

tf2_msgs has no wheel on PyPI; where it is missing (this project's CI) publishing is off and
logged once, and the transforms themselves (``camera_optical_pose``) stay tested.
"""

from jepa_ros.sim.geometry import mat_to_quat
import numpy as np

try:  # pragma: no cover - present on a ROS install, absent from PyPI
    from tf2_msgs.msg import TFMessage
except ImportError:  # pragma: no cover
    TFMessage = None

# MuJoCo cameras look along -z with y up; ROS optical frames look along +z with y down.
_MUJOCO_TO_OPTICAL = np.diag([1.0, -1.0, -1.0])


def camera_optical_pose(sim, camera):
    """Return (position, quaternion w x y z) of ``camera``'s optical frame in the base frame."""
    pos, mat = sim.camera_pose(camera)
    return np.asarray(pos, dtype=np.float64), mat_to_quat(mat @ _MUJOCO_TO_OPTICAL)


def transform_msg(parent, child, pos, quat, stamp):
    """Return a geometry_msgs/TransformStamped of ``child`` in ``parent``."""
    from geometry_msgs.msg import TransformStamped
    t = TransformStamped()
    t.header.stamp, t.header.frame_id, t.child_frame_id = stamp, parent, child
    t.transform.translation.x, t.transform.translation.y, t.transform.translation.z = \
        (float(v) for v in pos)
    r = t.transform.rotation
    r.w, r.x, r.y, r.z = (float(v) for v in quat)
    return t


class TfPublisher:
    """Publish transforms of ``base_frame`` children on /tf and /tf_static (when available)."""

    def __init__(self, node, base_frame: str):
        self.node = node
        self.base = base_frame
        self.available = TFMessage is not None
        self._pub = self._static = None
        if not self.available:
            node.get_logger().info('tf2_msgs is not installed: no TF published (install '
                                   'ros-jazzy-tf2-msgs, part of any ROS 2 desktop install)')
            return
        from jepa_ros.ros.qos import state_qos
        from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
        self._pub = node.create_publisher(TFMessage, '/tf', state_qos(100))
        self._static = node.create_publisher(
            TFMessage, '/tf_static', QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                                                durability=DurabilityPolicy.TRANSIENT_LOCAL))

    def publish(self, frames, stamp):
        """Publish [(child, pos, quat)] on /tf."""
        if self._pub is not None:
            self._pub.publish(TFMessage(transforms=[
                transform_msg(self.base, child, p, q, stamp) for child, p, q in frames]))

    def publish_static(self, frames):
        """Publish [(child, pos, quat)] once on /tf_static (latched)."""
        if self._static is not None:
            stamp = self.node.get_clock().now().to_msg()
            self._static.publish(TFMessage(transforms=[
                transform_msg(self.base, child, p, q, stamp) for child, p, q in frames]))
