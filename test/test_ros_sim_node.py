# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""sim_arm_node in its own process, observed and commanded from this process over DDS."""

import os
from pathlib import Path
import signal
import subprocess
import sys
import time

from builtin_interfaces.msg import Duration
from geometry_msgs.msg import PoseStamped, TwistStamped
from jepa_ros.ros.image_conversion import image_to_numpy
from jepa_ros.ros.qos import command_qos, sensor_qos, state_qos
import numpy as np
import pytest
import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from ros_waits import ExecutorWaits
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Float64
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

ARM = [f'panda_joint{i}' for i in range(1, 8)]


def _start(tmp_path, *params):
    log = open(tmp_path / 'node.log', 'w')
    cmd = [sys.executable, '-m', 'jepa_ros.ros.sim_arm_node', '--ros-args']
    for p in params:
        cmd += ['-p', p]
    env = dict(os.environ, RCUTILS_LOGGING_BUFFERED_STREAM='0', PYTHONUNBUFFERED='1')
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env), \
        tmp_path / 'node.log'


def _stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            return proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


class Client(ExecutorWaits):
    """Test-side node: latest messages per topic and command publishers."""

    def __init__(self):
        self.context = Context()
        rclpy.init(context=self.context)
        self.node = Node('sim_test_client', context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.last = {}
        for topic, kind, qos in (('joint_states', JointState, state_qos()),
                                 ('ee_pose', PoseStamped, state_qos()),
                                 ('camera/image_raw', Image, sensor_qos()),
                                 ('camera/camera_info', CameraInfo, sensor_qos()),
                                 ('camera_side/image_raw', Image, sensor_qos())):
            self.node.create_subscription(kind, topic, self._store(topic), qos)
        self.pub = {topic: self.node.create_publisher(kind, topic, command_qos())
                    for topic, kind in (('target_pose', PoseStamped),
                                        ('delta_twist_cmds', TwistStamped),
                                        ('joint_trajectory', JointTrajectory),
                                        ('gripper_command', Float64))}

    def _store(self, topic):
        def callback(msg):
            self.last[topic] = msg
        return callback

    def ee(self):
        p = self.last['ee_pose'].pose.position
        return np.array([p.x, p.y, p.z])

    def joints(self):
        return np.array(self.last['joint_states'].position)

    def publish_connected(self, topic, msg):
        self.wait(lambda: self.pub[topic].get_subscription_count() > 0, 10, f'{topic} match')
        self.pub[topic].publish(msg)

    def close(self):
        self.node.destroy_node()
        self.executor.shutdown()
        rclpy.try_shutdown(context=self.context)


@pytest.fixture(scope='module')
def sim_node(tmp_path_factory):
    proc, log = _start(tmp_path_factory.mktemp('sim_node'), 'image_size:=64',
                       'publish_side_camera:=true', 'camera_rate:=10.0')
    client = Client()
    try:
        client.wait(lambda: {'joint_states', 'ee_pose', 'camera/image_raw',
                             'camera/camera_info'} <= set(client.last), 30,
                    'first messages from sim_arm_node')
        yield client, proc, log
    finally:
        client.close()
        rc = _stop(proc)
        text = Path(log).read_text()
        assert rc == 0 and 'Traceback' not in text, text


def _pose(x, y, z, frame='panda_link0'):
    msg = PoseStamped()
    msg.header.frame_id = frame
    msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = x, y, z
    msg.pose.orientation.w = 1.0
    return msg


def _trajectory(names, points):
    msg = JointTrajectory()
    msg.joint_names = names
    for t, q in points:
        pt = JointTrajectoryPoint()
        pt.positions = [float(v) for v in q]
        pt.time_from_start = Duration(sec=int(t), nanosec=int((t % 1) * 1e9))
        msg.points.append(pt)
    return msg


def test_topics_types_and_contents(sim_node):
    client, _, _ = sim_node
    client.wait(lambda: 'camera_side/image_raw' in client.last, 10, 'side camera')
    js = client.last['joint_states']
    assert list(js.name) == ARM + ['panda_finger_joint1'] and len(js.position) == 8
    img = client.last['camera/image_raw']
    assert (img.encoding, img.width, img.height, img.step) == ('rgb8', 64, 64, 192)
    assert image_to_numpy(img).std() > 10
    assert client.last['camera_side/image_raw'].width == 64
    info = client.last['camera/camera_info']
    assert (info.width, info.height) == (64, 64)
    assert info.k[0] > 0 and info.k[2] == 32.0 and info.k[5] == 32.0
    pose = client.last['ee_pose']
    assert pose.header.frame_id == 'panda_link0'
    assert np.allclose(client.ee(), (0.45, 0.0, 0.30), atol=0.01)


def test_bad_commands_are_rejected_and_the_arm_holds_still(sim_node):
    client, _, log = sim_node
    client.spin(0.3)
    q0 = client.joints()
    nan_pose = _pose(float('nan'), 0.0, 0.3)
    client.publish_connected('target_pose', nan_pose)
    client.publish_connected('target_pose', _pose(0.6, 0.1, 0.2, frame='world'))
    client.publish_connected('joint_trajectory', _trajectory(ARM[:6] + ['elbow'],
                                                             [(1.0, np.zeros(7))]))
    client.publish_connected('joint_trajectory', _trajectory(ARM, [(1.0, np.zeros(6))]))
    client.publish_connected('joint_trajectory', _trajectory(ARM, [(1.0, [np.nan] * 7)]))
    twist = TwistStamped()
    twist.header.frame_id = 'panda_link0'
    twist.twist.linear.x = float('inf')
    client.publish_connected('delta_twist_cmds', twist)
    client.publish_connected('gripper_command', Float64(data=float('nan')))
    client.spin(1.5)
    assert np.max(np.abs(client.joints() - q0)) < 1e-3
    text = Path(log).read_text()
    for reason in ('non-finite pose', "frame 'world'", 'must be exactly', 'has 6 positions',
                   'non-finite position', 'non-finite velocity', 'gripper_command: non-finite'):
        assert reason in text, f'{reason!r} not logged:\n{text}'


def test_target_pose_moves_the_ee_and_clamps_to_the_workspace(sim_node):
    client, _, log = sim_node
    client.publish_connected('target_pose', _pose(0.55, 0.12, 0.18))
    client.wait(lambda: np.linalg.norm(client.ee() - (0.55, 0.12, 0.18)) < 0.005, 10,
                'EE at the target pose')
    client.publish_connected('target_pose', _pose(0.5, 0.0, -0.3))  # below the table
    client.spin(2.0)
    assert client.ee()[2] > 0.02  # held at the workspace floor (0.03)
    assert 'outside the workspace' in Path(log).read_text()


def test_twist_trajectory_and_gripper(sim_node):
    client, _, _ = sim_node
    client.publish_connected('target_pose', _pose(0.45, 0.0, 0.25))
    client.wait(lambda: np.linalg.norm(client.ee() - (0.45, 0.0, 0.25)) < 0.005, 10, 'start')
    start = client.ee()
    twist = TwistStamped()
    twist.header.frame_id = 'panda_link0'
    twist.twist.linear.z = 0.1
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        client.pub['delta_twist_cmds'].publish(twist)
        client.spin(0.05)
    client.spin(0.6)  # stops after twist_timeout
    rise = client.ee()[2] - start[2]
    assert 0.05 < rise < 0.16
    q_goal = client.joints()[:7] + np.array([0.3, 0.0, 0.0, 0.0, 0.0, 0.0, -0.4])
    client.publish_connected('joint_trajectory', _trajectory(ARM, [(1.0, q_goal)]))
    client.wait(lambda: np.max(np.abs(client.joints()[:7] - q_goal)) < 0.01, 10,
                'joint trajectory end point')
    width = client.joints()[7]
    client.publish_connected('gripper_command', Float64(data=1.0))
    client.wait(lambda: client.joints()[7] < width - 0.03, 10, 'gripper closing')


@pytest.mark.parametrize('param, message', [
    ('image_size:=3', 'SimConfig.image_size'),
    ('extra_cameras:=[top]', "the scene has no camera 'top'; its cameras: front, side"),
])
def test_bad_parameter_stops_at_start_up(tmp_path, param, message):
    proc, log = _start(tmp_path, param)
    assert proc.wait(timeout=30) == 2
    text = Path(log).read_text()
    assert message in text and 'Traceback' not in text, text
