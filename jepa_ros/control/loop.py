# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
A fixed-rate loop in a thread of its own, so planning never waits for (or blocks) ROS callbacks.

Measured on 2 cores (issue 13): planning inside rclpy's MultiThreadedExecutor took 1-25 s per
plan once ``joint_states`` came at 50-1000 Hz, because the executor's dispatch loop competed with
the plan for the GIL and a core. Here the executor only runs short callbacks, and this thread
calls ``step`` every ``period_s`` (or right after a step that overran the period).
"""

import threading
import time


class PeriodicThread:
    """Call ``step()`` every ``period_s`` seconds in a daemon thread until ``stop``."""

    def __init__(self, period_s: float, step, name: str = 'periodic'):
        self.period_s = float(period_s)
        self.step = step
        self.tick_started = time.monotonic()
        self.overruns = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self):
        """Start the loop."""
        self._thread.start()

    @property
    def running(self) -> bool:
        """Return True while the thread runs."""
        return self._thread.is_alive()

    def stop(self, timeout: float = 1.0) -> bool:
        """
        Ask the loop to end and wait up to ``timeout`` s; return True when it has ended.

        A step already running is not interrupted (a plan cannot be); the caller makes sure
        that its result is dropped.
        """
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self):
        next_t = time.monotonic()
        while not self._stop.is_set():
            self.tick_started = time.monotonic()
            self.step()
            next_t += self.period_s
            now = time.monotonic()
            if next_t < now:            # overran: start the next step now, do not catch up
                self.overruns += 1
                next_t = now
            self._stop.wait(next_t - now)
