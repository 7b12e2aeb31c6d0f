# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""recorder_node records sim_arm_node's topics into valid episodes, also when stopped by Ctrl-C."""

from pathlib import Path

from geometry_msgs.msg import PoseStamped
from jepa_ros.data.episode import list_episodes, read_episode
from jepa_ros.ros.qos import command_qos, state_qos
from jepa_ros.ros.recorder_node import EpisodeBuffer, RecorderConfig
from jepa_ros.utils.config import ConfigError, from_dict
import numpy as np
import pytest
from std_msgs.msg import Float64
from std_srvs.srv import SetBool
from test_ros_planner_node import Client, start_node, stop_node


def _target(x, y, z):
    msg = PoseStamped()
    msg.header.frame_id = 'panda_link0'
    msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = x, y, z
    msg.pose.orientation.x = 1.0  # pointing down
    return msg


@pytest.fixture()
def rig(tmp_path):
    sim = start_node('jepa_ros.ros.sim_arm_node', tmp_path / 'sim.log',
                     ['image_size:=64', 'camera_rate:=10.0'])
    rec_log = tmp_path / 'recorder.log'
    rec = start_node('jepa_ros.ros.recorder_node', rec_log,
                     [f'out_dir:={tmp_path / "episodes"}', 'rate_hz:=5.0', 'image_size:=32'])
    client = Client('recorder_test_client')
    client.record(PoseStamped, 'ee_pose', state_qos())
    target = client.node.create_publisher(PoseStamped, 'target_pose', command_qos())
    gripper = client.node.create_publisher(Float64, 'gripper_command', command_qos())
    try:
        client.wait(lambda: client.last('ee_pose') is not None, 60, 'sim ee_pose')
        yield client, target, gripper, rec, rec_log, tmp_path / 'episodes'
    finally:
        client.close()
        stop_node(rec)
        stop_node(sim)


def test_recorder_writes_episodes_from_topics_and_on_ctrl_c(rig):
    client, target, gripper, rec, rec_log, out = rig
    p = client.last('ee_pose').pose.position
    start = np.array([p.x, p.y, p.z])
    answer = client.call_trigger('/recorder_node/start', timeout=60)
    assert answer.success, answer.message
    client.wait(lambda: target.get_subscription_count() > 0, 10, 'sim subscribed')
    client.spin(0.6)  # a few steps at rest first
    goal = start + [0.06, -0.05, 0.0]
    target.publish(_target(*goal))
    gripper.publish(Float64(data=1.0))
    client.spin(2.0)
    answer = client.call_trigger('/recorder_node/stop')
    assert answer.success, (answer.message, Path(rec_log).read_text())
    ep = read_episode(answer.message)
    assert 10 <= ep.num_steps <= 16, ep.num_steps   # 2.6 s at 5 Hz
    assert ep.frames.shape[1:] == (32, 32, 3) and ep.frames.std() > 5
    np.testing.assert_allclose(ep.states[0, :3], start, atol=0.02)
    np.testing.assert_allclose(ep.states[-1, :2], goal[:2], atol=0.015)
    assert ep.states[0, 6] < 0.1 and ep.states[-1, 6] > 0.5  # finger joint -> closedness
    from jepa_ros.sim.geometry import apply_action, euler_to_mat
    for t in range(ep.num_steps - 1):   # each action takes its state to the next one
        nxt = apply_action(ep.states[t], ep.actions[t])
        np.testing.assert_allclose(nxt[[0, 1, 2, 6]], ep.states[t + 1][[0, 1, 2, 6]], atol=1e-5)
        np.testing.assert_allclose(euler_to_mat(nxt[3:6]), euler_to_mat(ep.states[t + 1][3:6]),
                                   atol=1e-5)   # angles compared as rotations (no +-pi wrap)
    assert np.all(np.diff(ep.timestamps) > 0.1)
    assert ep.metadata['robot']['frame'] == 'panda_link0'
    assert ep.metadata['camera']['source_size'] == [64, 64]
    # SetBool starts a second episode; Ctrl-C must write it, not lose it
    cli = client.node.create_client(SetBool, '/recorder_node/record')
    client.wait(cli.service_is_ready, 10, 'record service')
    future = cli.call_async(SetBool.Request(data=True))
    client.wait(future.done, 10, 'record answer')
    assert future.result().success
    target.publish(_target(*start))
    client.spin(1.5)
    assert stop_node(rec) == 0
    text = Path(rec_log).read_text()
    assert 'Traceback' not in text, text
    files = list_episodes(out)
    assert len(files) == 2, text
    second = read_episode(files[1])
    assert second.num_steps >= 4
    assert not list(out.glob('.*.tmp'))  # atomic writes leave no temporaries


def test_recorder_records_every_camera_as_views_of_one_episode(tmp_path):
    sim = start_node('jepa_ros.ros.sim_arm_node', tmp_path / 'sim.log',
                     ['image_size:=64', 'camera_rate:=10.0', 'extra_cameras:=[side]'])
    rec_log = tmp_path / 'recorder.log'
    rec = start_node('jepa_ros.ros.recorder_node', rec_log,
                     [f'out_dir:={tmp_path / "episodes"}', 'rate_hz:=5.0', 'image_size:=32',
                      'extra_image_topics:=[camera_side/image_raw]', 'record_on_start:=true'])
    client = Client('recorder_views_test_client')
    try:
        client.record(PoseStamped, 'ee_pose', state_qos())
        client.wait(lambda: client.last('ee_pose') is not None, 60, 'sim ee_pose')
        client.spin(2.0)
        answer = client.call_trigger('/recorder_node/stop', timeout=30)
        assert answer.success, (answer.message, Path(rec_log).read_text())
    finally:
        client.close()
        rc = stop_node(rec)
        stop_node(sim)
    text = Path(rec_log).read_text()
    assert rc == 0 and 'Traceback' not in text, text
    ep = read_episode(answer.message)
    assert ep.num_views == 2 and ep.num_steps >= 5, (ep.num_views, ep.num_steps)
    assert ep.metadata['views'] == ['camera', 'side']
    assert ep.metadata['view_topics'] == ['/camera/image_raw', '/camera_side/image_raw']
    front, side = ep.views()
    assert side.shape == front.shape == (ep.num_steps, 32, 32, 3) and side.std() > 5
    assert np.abs(front.astype(int) - side.astype(int)).mean() > 5   # two different cameras


def test_episode_buffer_views_and_view_parameters(tmp_path):
    cfg = RecorderConfig(out_dir=str(tmp_path), rate_hz=5.0)
    buf = EpisodeBuffer(cfg, {'views': ['front', 'side']}, num_views=2)
    img = np.zeros((8, 8, 3), np.uint8)
    assert buf.mismatch([img]) and buf.mismatch([img, np.zeros((8, 6, 3), np.uint8)])
    assert not buf.add(img, np.zeros(7), 0.0)                     # one view missing
    for i in range(3):
        assert buf.add(img + i, np.zeros(7) + i, 0.2 * i, [img + 10 + i])
    buf.skipped = 2
    ep = read_episode(buf.flush())
    assert ep.num_views == 2 and ep.extra_frames[0][:, 0, 0, 0].tolist() == [10, 11, 12]
    assert ep.metadata['skipped_steps'] == 2 and ep.metadata['views'] == ['front', 'side']
    ok = from_dict(RecorderConfig, {'extra_image_topics': 'cam2/image_raw',
                                    'view_names': 'front, wrist'})
    assert ok.extra_image_topics == ('cam2/image_raw',) and ok.view_names == ('front', 'wrist')
    for bad, field in (({'extra_image_topics': ['a', 'a']}, 'extra_image_topics'),
                       ({'extra_image_topics': ['a'], 'view_names': ['front']}, 'view_names'),
                       ({'image_sync_slop': -1.0}, 'image_sync_slop')):
        with pytest.raises(ConfigError, match=field):
            from_dict(RecorderConfig, bad)


def test_bad_recorder_parameter_exits_with_a_message(tmp_path):
    log = tmp_path / 'rec.log'
    proc = start_node('jepa_ros.ros.recorder_node', log, ['gripper_source:=magic'])
    try:
        rc = proc.wait(timeout=60)
    finally:
        stop_node(proc)
    text = log.read_text()
    assert rc == 2 and 'gripper_source' in text and 'Traceback' not in text, text
