# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
jepa_ros: V-JEPA 2-AC style world-model planning for ROS 2 arms.

Pure logic (models, planning, training, sim, data) lives in sub-packages that never import rclpy;
the ROS layer is ``jepa_ros.ros``.
"""

__version__ = '0.1.0'
