# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
``jepa-ros demo``: drive the simulated arm over real DDS and save what it looked like.

Starts ``sim_arm_node`` in a child process, moves the end effector through a few targets
(``target_pose``) and one Cartesian velocity segment (``delta_twist_cmds``) from a small client
node, then writes ``camera.png`` (first view), ``motion.gif`` (the camera stream) and
``errors.json`` (reached vs target) to ``--out``. The child process is stopped on every path.
"""

import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import time

# End-effector targets in the base frame (gripper pointing down), then a sideways sweep.
TARGETS = ((0.55, 0.15, 0.25), (0.40, -0.15, 0.15), (0.55, 0.0, 0.08))
SWEEP_VELOCITY = (0.0, 0.12, 0.0)    # m/s
SWEEP_SECONDS = 1.5
REACH_TOLERANCE = 0.01               # m: a target counts as reached


def add_arguments(parser):
    """Add the demo's options."""
    parser.add_argument('--out', default='out/demo', help='output folder (default: out/demo)')
    parser.add_argument('--image-size', type=int, default=128, help='camera size in px')
    parser.add_argument('--target-timeout', type=float, default=6.0,
                        help='seconds allowed per end-effector target')
    return parser


class _Child:
    """The sim node process; stopped with SIGINT (then SIGKILL) whatever happens."""

    def __init__(self, cmd, log_path):
        self.log_path = log_path
        self._log = open(log_path, 'w')
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def check_alive(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f'sim_arm_node exited with status {self.proc.returncode}; '
                               f'log:\n{self.log_tail()}')

    def log_tail(self, lines=15):
        self._log.flush()
        return '\n'.join(Path(self.log_path).read_text().splitlines()[-lines:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()


def _client_class():
    """Build the scripted client node class (ROS imports stay out of ``jepa-ros --help``)."""
    import io

    from geometry_msgs.msg import PoseStamped, TwistStamped
    import imageio.v3 as iio
    from jepa_ros.ros.image_conversion import image_to_numpy
    from jepa_ros.ros.qos import command_qos, sensor_qos, state_qos
    import numpy as np
    from rclpy.node import Node
    from sensor_msgs.msg import Image

    class DemoClient(Node):
        """Sends end-effector targets and twists; keeps the camera frames and the EE pose."""

        def __init__(self, **kwargs):
            super().__init__('jepa_ros_demo', **kwargs)
            self.image = None
            self.ee_pos = None
            self.frames = []
            self.create_subscription(Image, 'camera/image_raw', self._on_image, sensor_qos())
            self.create_subscription(PoseStamped, 'ee_pose', self._on_pose, state_qos())
            self.target_pub = self.create_publisher(PoseStamped, 'target_pose', command_qos())
            self.twist_pub = self.create_publisher(TwistStamped, 'delta_twist_cmds',
                                                   command_qos())

        def _on_image(self, msg):
            self.image = np.array(image_to_numpy(msg, 'rgb8'))
            self.frames.append(self.image)

        def _on_pose(self, msg):
            p = msg.pose.position
            self.ee_pos = np.array([p.x, p.y, p.z])

        def wait_for(self, predicate, timeout, executor, check_alive, what):
            deadline = time.monotonic() + timeout
            while not predicate():
                check_alive()
                if time.monotonic() > deadline:
                    raise TimeoutError(f'no {what} from sim_arm_node within {timeout:.0f} s')
                executor.spin_once(timeout_sec=0.05)

        def spin_for(self, seconds, executor, check_alive):
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                check_alive()
                executor.spin_once(timeout_sec=0.02)

        def go_to(self, target, timeout, executor, check_alive):
            msg = PoseStamped()
            msg.header.frame_id = 'panda_link0'
            msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = \
                (float(v) for v in target)
            msg.pose.orientation.w = 1.0  # gripper pointing down
            msg.header.stamp = self.get_clock().now().to_msg()
            self.target_pub.publish(msg)
            t0 = time.monotonic()
            try:
                self.wait_for(lambda: np.linalg.norm(self.ee_pos - target) < REACH_TOLERANCE / 2,
                              timeout, executor, check_alive, 'arrival')
            except TimeoutError:
                pass  # reported as an error in errors.json
            self.spin_for(0.3, executor, check_alive)  # settle
            return {'target_m': target.tolist(), 'reached_m': self.ee_pos.tolist(),
                    'error_m': float(np.linalg.norm(self.ee_pos - target)),
                    'time_s': time.monotonic() - t0}

        def sweep(self, velocity, seconds, executor, check_alive):
            start = self.ee_pos.copy()
            msg = TwistStamped()
            msg.header.frame_id = 'panda_link0'
            msg.twist.linear.x, msg.twist.linear.y, msg.twist.linear.z = \
                (float(v) for v in velocity)
            t0 = time.monotonic()
            while time.monotonic() - t0 < seconds:
                msg.header.stamp = self.get_clock().now().to_msg()
                self.twist_pub.publish(msg)
                self.spin_for(0.05, executor, check_alive)
            msg.twist.linear.x = msg.twist.linear.y = msg.twist.linear.z = 0.0
            msg.header.stamp = self.get_clock().now().to_msg()
            self.twist_pub.publish(msg)  # stop now rather than after twist_timeout
            self.spin_for(0.5, executor, check_alive)
            moved = self.ee_pos - start
            expected = velocity * seconds
            return {'expected_m': expected.tolist(), 'moved_m': moved.tolist(),
                    'error_m': float(np.linalg.norm(moved - expected))}

        @staticmethod
        def png_bytes(image):
            buf = io.BytesIO()
            iio.imwrite(buf, image, extension='.png')
            return buf.getvalue()

        def write_gif(self, path):
            frames = self.frames[::2] if len(self.frames) > 120 else self.frames
            iio.imwrite(path, np.stack(frames), extension='.gif', duration=100, loop=0)

    return DemoClient


def run(args):
    """Run the demo; return 0 when every target was reached, 1 otherwise."""
    import numpy as np
    import rclpy
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    cmd = [sys.executable, '-m', 'jepa_ros.ros.sim_arm_node', '--ros-args',
           '-p', f'image_size:={int(args.image_size)}', '-p', 'camera_rate:=10.0',
           '--log-level', 'warn']
    t_start = time.monotonic()
    child = _Child(cmd, out / 'sim_arm_node.log')
    context = Context()
    node = executor = None
    try:
        rclpy.init(context=context)
        executor = SingleThreadedExecutor(context=context)
        node = _client_class()(context=context)
        executor.add_node(node)
        node.wait_for(lambda: node.image is not None and node.ee_pos is not None, 30.0,
                      executor, child.check_alive, 'first camera image and ee_pose')
        Path(out / 'camera.png').write_bytes(node.png_bytes(node.image))
        results = []
        for target in TARGETS:
            results.append(node.go_to(np.array(target), args.target_timeout, executor,
                                      child.check_alive))
            print(f'target {target}: error {results[-1]["error_m"] * 1000:.1f} mm '
                  f'after {results[-1]["time_s"]:.1f} s')
        sweep = node.sweep(np.array(SWEEP_VELOCITY), SWEEP_SECONDS, executor, child.check_alive)
        print(f'twist sweep: moved {np.round(sweep["moved_m"], 3).tolist()} m '
              f'(commanded {np.round(sweep["expected_m"], 3).tolist()} m)')
        gif = out / 'motion.gif'
        node.write_gif(gif)
        report = {
            'targets': results, 'twist': sweep, 'tolerance_m': REACH_TOLERANCE,
            'all_reached': all(r['error_m'] < REACH_TOLERANCE for r in results),
            'frames': len(node.frames), 'wall_time_s': time.monotonic() - t_start,
        }
        (out / 'errors.json').write_text(json.dumps(report, indent=2))
    finally:
        if node is not None:
            node.destroy_node()
        if executor is not None:
            executor.shutdown()
        rclpy.try_shutdown(context=context)
        child.stop()
    for name in ('camera.png', 'motion.gif', 'errors.json', 'sim_arm_node.log'):
        print(f'wrote {out / name}')
    return 0 if report['all_reached'] else 1
