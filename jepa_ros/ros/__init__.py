# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Thin ROS 2 layer: message conversion, QoS profiles, parameters and the nodes."""
