# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
One ``main()`` for every node: start-up errors as one line, clean stops on Ctrl-C / SIGTERM.

A node's ``main`` hands :func:`run_node` a factory and its stop hooks. A refused configuration
(a bad parameter, an unreadable or malformed params file, a missing model) prints
``NODE: error: ...`` and exits with status 2; Ctrl-C and ``ros2 launch``'s SIGINT/SIGTERM exit 0
after the hooks ran; a bug keeps its traceback.

Signals are handled in Python only (rclpy's own handler is off): on SIGINT, rclpy Jazzy's
signal thread triggers the executor's guard condition while the main thread, already stopping
on the KeyboardInterrupt, destroys it, and the process died with SIGSEGV inside
``rcl_trigger_guard_condition`` (seen in CI on sim_arm_node, and again here about one stop in
five). The executor is spun with a short timeout instead, so a signal is acted on within
``SPIN_PERIOD_S`` even when no callback wakes it.
"""

import re
import signal

from jepa_ros.ros.spin import honor_sigint, shutdown_executor
from jepa_ros.utils.config import ConfigError
from jepa_ros.utils.errors import is_expected, run_main
import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.signals import SignalHandlerOptions

SPIN_PERIOD_S = 0.1


_STOP_SIGNALS = []   # signals received by this process: a stop was asked for


def _raise_interrupt(signum, frame):
    _STOP_SIGNALS.append(signum)
    raise KeyboardInterrupt


def _rcl_message(exc) -> str:
    """Return rcl's error text without its C source locations."""
    text = re.sub(r',? at /[^,]*?:\d+', '', str(exc))
    return re.sub(r'\s+', ' ', text).strip()


def init_rclpy(args=None, **kwargs):
    """
    Call ``rclpy.init``; a command line rcl refuses becomes a ConfigError that says why.

    rcl parses ``--ros-args`` (and reads every ``--params-file``) here, so a YAML syntax error
    or a missing params file surfaces as an RCLError from deep inside rcl.
    """
    from rclpy import _rclpy_pybind11 as _rclpy
    try:
        rclpy.init(args=args, **kwargs)
    except _rclpy.RCLError as exc:
        raise ConfigError(f'ROS refused the command line: {_rcl_message(exc)}. Check that the '
                          f'--params-file exists and is valid YAML of the form "node_name: '
                          f'ros__parameters: {{name: value}}"') from None


def run_node(name, make_node, args=None, executor_factory=SingleThreadedExecutor,
             on_stop=None, on_exit=None, init_kwargs=None, on_ready=None) -> int:
    """
    Run ``make_node()`` under an executor until Ctrl-C; return the process exit status.

    ``on_ready(node)`` runs before spinning (it may raise a UserError to refuse to start);
    ``on_stop(node)`` runs while the executor still exists (a final hold command), ``on_exit``
    after it is shut down and before the node is destroyed (write what was recorded).
    """
    honor_sigint()
    signal.signal(signal.SIGINT, _raise_interrupt)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    init_kwargs = {'signal_handler_options': SignalHandlerOptions.NO, **(init_kwargs or {})}

    def body():
        init_rclpy(args, **init_kwargs)
        node = executor = None
        try:
            node = make_node()
            if on_ready is not None:
                on_ready(node)
            executor = executor_factory()
            executor.add_node(node)
            while rclpy.ok():
                executor.spin_once(timeout_sec=SPIN_PERIOD_S)
        except (KeyboardInterrupt, ExternalShutdownException):
            pass
        except Exception as exc:  # noqa: B902
            if is_expected(exc) or (rclpy.ok() and not _STOP_SIGNALS):
                raise
            # A normal stop: Ctrl-C invalidated the context inside a callback, or the interrupt
            # was raised inside rclpy's message conversion, which pybind11 turns into
            # "RuntimeError: Unable to convert call argument" (seen on the recorder under load;
            # the same as ros/joint_state_publisher#117).
        finally:
            try:
                if node is not None and on_stop is not None:
                    on_stop(node)
                shutdown_executor(executor)
                if node is not None and on_exit is not None:
                    on_exit(node)
            finally:
                if node is not None:
                    node.destroy_node()
                rclpy.try_shutdown()
        return 0

    return run_main(name, body)
