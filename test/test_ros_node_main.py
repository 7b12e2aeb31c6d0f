# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""run_node: an interrupt that rclpy's message conversion swallows is still a clean stop."""

import os
import signal
import time

from jepa_ros.ros import node_main
import pytest
import rclpy
from rclpy.node import Node


def _node_whose_callback(fail_after_signal):
    """Return a factory of a node whose timer raises what pybind11 makes of an interrupt."""
    def make():
        node = Node('node_main_test')

        def tick():
            if fail_after_signal:
                try:
                    os.kill(os.getpid(), signal.SIGINT)
                    time.sleep(0.5)              # the handler raises here at the latest
                    raise AssertionError('SIGINT did not interrupt')
                except KeyboardInterrupt:
                    pass
            raise RuntimeError('Unable to convert call argument 0 to Python object')
        node.create_timer(0.01, tick)
        return node
    return make


@pytest.fixture(autouse=True)
def _restore_signals():
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    node_main._STOP_SIGNALS.clear()
    yield
    node_main._STOP_SIGNALS.clear()
    for s, h in saved.items():
        signal.signal(s, h)
    rclpy.try_shutdown()


def test_a_swallowed_interrupt_stops_cleanly_and_runs_the_stop_hook():
    stopped = []
    rc = node_main.run_node('node_main_test', _node_whose_callback(True),
                            on_stop=lambda node: stopped.append(node.get_name()))
    assert rc == 0 and stopped == ['node_main_test']


def test_the_same_error_without_a_signal_is_a_bug_with_its_traceback():
    with pytest.raises(RuntimeError, match='Unable to convert'):
        node_main.run_node('node_main_test', _node_whose_callback(False))
