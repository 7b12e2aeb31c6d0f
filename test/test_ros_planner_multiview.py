# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Multi-camera planning over DDS: sim_arm_node publishes two cameras, planner_node plans on both.

The model is a random-weight tiny V-JEPA 2-AC with two views (cameras front and side stored in
its checkpoint); the node must run it on two synchronised topics, hold while a view is missing or
stale, and refuse to start when its image topics do not match the model's views.
"""

import json
import time

from geometry_msgs.msg import TwistStamped
from jepa_ros.ros.image_conversion import image_to_numpy
from jepa_ros.ros.planner_node import latched_qos
from jepa_ros.ros.qos import command_qos, sensor_qos, state_qos
import numpy as np
import pytest
from sensor_msgs.msg import Image
from std_msgs.msg import String
from test_ros_planner_node import check_clean_exit, Client, FAST, run_to_exit, start_node
from test_ros_planner_node import stop_node

TOPICS = ['camera/image_raw', 'camera_side/image_raw']
DIAG = '/planner_node/diagnostics'


@pytest.fixture(scope='module')
def two_view_model(tmp_path_factory):
    """Random-weight tiny checkpoint with two camera views (front, side)."""
    import torch
    from jepa_ros.models import (ACPredictor, encoder_preset, predictor_preset, save_model,
                                 VJEPA2Encoder)
    torch.manual_seed(0)
    return save_model(tmp_path_factory.mktemp('models') / 'two_view',
                      VJEPA2Encoder(encoder_preset('tiny')),
                      ACPredictor(predictor_preset('tiny', num_views=2)),
                      extra={'cameras': ['front', 'side'], 'image_size': 64})


def _diagnostics(client):
    return [(t, json.loads(m.data)) for t, m in client.log[DIAG]]


def test_image_topic_count_must_match_the_model_views(tmp_path, two_view_model):
    rc, text = run_to_exit('jepa_ros.ros.planner_node', tmp_path / 'planner.log',
                           [f'checkpoint:={two_view_model}', 'device:=cpu',
                            'image_topics:=[camera/image_raw]'] + FAST)
    assert rc == 2, text
    assert 'takes 2 camera view(s) (front, side, in this order)' in text, text
    assert 'set the parameter image_topics to 2 image topics' in text, text
    assert 'Traceback' not in text, text


def test_two_view_model_plans_on_two_sim_cameras(tmp_path, two_view_model):
    client = Client('multiview_client')
    client.record(String, DIAG, state_qos())
    client.record(TwistStamped, 'delta_twist_cmds', command_qos())
    for topic in TOPICS:
        client.record(Image, topic, sensor_qos())
    planner_log, sim_log = tmp_path / 'planner.log', tmp_path / 'sim.log'
    planner = start_node('jepa_ros.ros.planner_node', planner_log, [
        f'checkpoint:={two_view_model}', 'device:=cpu', f'image_topics:=[{", ".join(TOPICS)}]',
        'image_sync_slop:=0.05'] + FAST)
    sim = None
    try:
        # no cameras yet: the node holds and names the missing topics
        client.wait(lambda: any('no camera frame received yet on camera/image_raw, '
                                'camera_side/image_raw' in d['reason']
                                for _, d in _diagnostics(client)), 120, 'missing-views hold')
        sim = start_node('jepa_ros.ros.sim_arm_node', sim_log,
                         ['image_size:=64', 'camera_rate:=10.0', 'extra_cameras:=[side]'])
        client.wait(lambda: all(client.log[t] for t in TOPICS), 60, 'both sim cameras')
        client.spin(0.5)
        # each tick renders both cameras with one stamp, each in its own frame
        front = {(m.header.stamp.sec, m.header.stamp.nanosec): m for _, m in client.log[TOPICS[0]]}
        pairs = [(front[k], m) for _, m in client.log[TOPICS[1]]
                 if (k := (m.header.stamp.sec, m.header.stamp.nanosec)) in front]
        assert pairs, 'no front/side frames with the same stamp'
        f, s = pairs[-1]
        assert (f.header.frame_id, s.header.frame_id) == ('front_camera_optical_frame',
                                                          'side_camera_optical_frame')
        assert (s.encoding, s.width, s.height) == ('rgb8', 64, 64)
        assert not np.array_equal(image_to_numpy(f), image_to_numpy(s))
        # synchronised views: the next hold reason is the missing goal
        client.wait(lambda: 'no goal' in _diagnostics(client)[-1][1]['reason'], 30,
                    'views in sync (a "no goal" hold)')
        answer = client.capture_goal(timeout=30)
        assert answer.success, answer.message
        assert answer.message == 'goal set to the current 2 camera views'
        client.wait(lambda: sum(not d['hold'] for _, d in _diagnostics(client)) >= 3, 60,
                    'three plans on two views')
        for _, d in _diagnostics(client):
            if not d['hold']:
                assert np.isfinite(d['energy']) and d['iterations'] == 2
                assert np.linalg.norm(d['first_action'][:3]) <= 0.05 + 1e-9
        for _, m in client.log['delta_twist_cmds']:
            v = np.array([m.twist.linear.x, m.twist.linear.y, m.twist.linear.z])
            assert np.linalg.norm(v) <= 0.25 + 1e-6  # 0.05 m per 0.2 s period
        client.record(Image, '/planner_node/goal_image', latched_qos())
        client.wait(lambda: client.log['/planner_node/goal_image'], 10, 'latched goal image')
        assert image_to_numpy(client.last('/planner_node/goal_image')).shape == (64, 128, 3)
        # cameras gone: the node holds on stale views and plans no more
        check_clean_exit(sim, sim_log)
        t_stop = time.monotonic()
        client.wait(lambda: any(t > t_stop and d['hold'] and 'is stale' in d['reason']
                                for t, d in _diagnostics(client)), 15, 'stale-views hold')
        t_hold = min(t for t, d in _diagnostics(client)
                     if t > t_stop and d['hold'] and 'is stale' in d['reason'])
        client.spin(1.0)
        assert all(d['hold'] for t, d in _diagnostics(client) if t >= t_hold)
        stale_logs = [line for line in planner_log.read_text().splitlines()
                      if 'holding still: camera frame on camera' in line]
        assert 1 <= len(stale_logs) <= 2, stale_logs  # throttled: once per hold_log_period_s
    finally:
        client.close()
        if sim is not None:
            stop_node(sim)
        check_clean_exit(planner, planner_log)
    text = planner_log.read_text()
    assert '2 camera views (front, side) from camera/image_raw, camera_side/image_raw' in text
