# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""PolledTopics: the newest of a burst, or the newest few; no callback per message; remaps kept."""

import time

from jepa_ros.ros.polled_topics import PolledTopics
import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile
from rclpy.serialization import deserialize_message
from sensor_msgs.msg import JointState


def test_take_returns_the_newest_of_a_burst_and_its_receipt_time():
    ctx = Context()
    rclpy.init(context=ctx, args=['--ros-args', '-r', 'joint_states:=arm/joint_states'])
    try:
        node = rclpy.create_node('reader_test', namespace='/robot', context=ctx)
        pub = node.create_publisher(JointState, '/robot/arm/joint_states', 10)
        reader = PolledTopics(node, {'joints': (JointState, 'joint_states', QoSProfile(depth=1)),
                                     'few': (JointState, 'few', QoSProfile(depth=5))})
        few = node.create_publisher(JointState, '/robot/few', 10)
        assert reader.topic('joints') == '/robot/arm/joint_states'
        # the reader's node is spun by no executor: the main node's executor sees none of it
        ex = SingleThreadedExecutor(context=ctx)
        ex.add_node(node)
        deadline = time.monotonic() + 5.0
        while (pub.get_subscription_count() < 1 or few.get_subscription_count() < 1) \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        assert reader.take('joints') is None
        for i in range(50):   # a 1 kHz burst
            m = JointState()
            m.name, m.position = ['j'], [float(i)]
            pub.publish(m)
        time.sleep(0.3)
        ex.spin_once(timeout_sec=0.0)
        data, receipt = reader.take('joints')
        assert list(deserialize_message(data, JointState).position) == [49.0]
        assert 0.2 <= time.monotonic() - receipt < 2.0
        assert reader.take('joints') is None    # taken: nothing new since
        for i in range(8):   # depth 5 keeps the newest five; take_recent(3) the newest three
            m = JointState()
            m.name, m.position = ['j'], [float(i)]
            few.publish(m)
        time.sleep(0.3)
        got = reader.take_recent('few', 3)
        assert [list(deserialize_message(d, JointState).position) for d, _ in got] == \
            [[5.0], [6.0], [7.0]]
        assert all(0.2 <= time.monotonic() - r < 2.0 for _, r in got)
        assert reader.take_recent('few', 3) == []   # older ones were discarded, not kept
        reader.destroy()
        ex.shutdown()
        node.destroy_node()
    finally:
        rclpy.shutdown(context=ctx)
