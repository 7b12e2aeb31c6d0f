# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Clean shutdown of a MultiThreadedExecutor (Ctrl-C must not leave callbacks racing teardown)."""


def shutdown_executor(executor, timeout_sec: float = 2.0):
    """
    Stop ``executor`` and wait for its worker threads before nodes are destroyed.

    rclpy's ``MultiThreadedExecutor.shutdown`` (Jazzy) returns without waiting for callbacks
    already handed to its thread pool; one that runs after ``destroy_node`` fails with "cannot
    use Destroyable" and is printed at exit. Queued callbacks are cancelled, running ones finish.
    """
    if executor is None:
        return
    executor.shutdown(timeout_sec=timeout_sec)
    pool = getattr(executor, '_executor', None)
    if pool is not None and hasattr(pool, 'shutdown'):
        pool.shutdown(wait=True, cancel_futures=True)


def honor_sigint():
    """
    Make Ctrl-C (SIGINT) raise KeyboardInterrupt even when it was ignored at start-up.

    A process started in the background of a non-interactive shell (CI jobs, nohup, some
    supervisors) inherits SIGINT as ignored, so ``ros2 launch``'s or a test's SIGINT would leave
    the node running. Call before ``rclpy.init`` so rclpy's own handler chains to this one.
    """
    import signal
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
