# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Input watchdog: plan only on fresh camera frames and poses, otherwise hold still."""

import math
import re
from typing import Optional

_NUMBER = re.compile(r'\d+(\.\d+)?')


def hold_reason_kind(reason: str) -> str:
    """Return ``reason`` with its numbers masked: a hold whose ages tick up is one kind (logs)."""
    return _NUMBER.sub('#', reason)


class InputWatchdog:
    """Track when each input last arrived and say why the loop must hold, if it must."""

    def __init__(self, image_timeout_s: float, pose_timeout_s: float):
        self.image_timeout_s = image_timeout_s
        self.pose_timeout_s = pose_timeout_s
        self.last_image_t = -math.inf
        self.last_pose_t = -math.inf

    def image_received(self, now: float):
        """Note a camera frame at time ``now`` (seconds)."""
        self.last_image_t = now

    def pose_received(self, now: float):
        """Note an end-effector pose at time ``now`` (seconds)."""
        self.last_pose_t = now

    def hold_reason(self, now: float) -> Optional[str]:
        """Return why planning must not run now, or None when every input is fresh."""
        if self.last_image_t == -math.inf:
            return 'no camera frame received yet'
        if self.last_pose_t == -math.inf:
            return 'no end-effector pose received yet'
        age = now - self.last_image_t
        if age > self.image_timeout_s:
            return f'camera frame is stale ({age:.2f} s old > {self.image_timeout_s:.2f} s)'
        age = now - self.last_pose_t
        if age > self.pose_timeout_s:
            return f'end-effector pose is stale ({age:.2f} s old > {self.pose_timeout_s:.2f} s)'
        return None
