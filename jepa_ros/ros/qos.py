# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
QoS profiles of jepa_ros topics, in one place so publishers and subscribers always match.

Cameras use the sensor-data profile (best effort, shallow: a late frame is worthless); commands
and states are reliable so that none is silently lost.
"""

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy


def sensor_qos(depth: int = 5) -> QoSProfile:
    """Best-effort, keep-last profile for camera images and camera_info (rclpy's sensor data)."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth,
                      reliability=ReliabilityPolicy.BEST_EFFORT,
                      durability=DurabilityPolicy.VOLATILE)


def command_qos(depth: int = 10) -> QoSProfile:
    """Reliable, keep-last profile for commands (trajectories, twists, targets, gripper)."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth,
                      reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.VOLATILE)


def state_qos(depth: int = 10) -> QoSProfile:
    """Reliable, keep-last profile for joint states and poses (ROS's default profile)."""
    return command_qos(depth)
