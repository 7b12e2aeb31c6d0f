# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Spin-and-wait helpers shared by the multi-process ROS tests."""

import time


class ExecutorWaits:
    """Mixin for test clients owning ``self.executor``: spin a while, or until a condition."""

    def spin(self, seconds):
        """Process callbacks for ``seconds``."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.executor.spin_once(timeout_sec=0.02)

    def wait(self, predicate, timeout, what):
        """Process callbacks until ``predicate()`` holds; fail naming ``what`` at ``timeout``."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.executor.spin_once(timeout_sec=0.02)
            if predicate():
                return
        raise AssertionError(f'timed out waiting for {what}')
