# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Bad-input matrix over real DDS: absurd commands, broken params files, degenerate sensor data.

Also a recorder stopped by SIGINT, SIGTERM or SIGKILL. The nodes run in their own processes,
as on a robot; this process plays the user's stack.
"""

from pathlib import Path
import signal
import time

from geometry_msgs.msg import PoseStamped, TwistStamped
from jepa_ros.data.episode import list_episodes, read_episode
from jepa_ros.data.recording import recording_dirs
from jepa_ros.ros.image_conversion import numpy_to_image
from jepa_ros.ros.qos import command_qos, sensor_qos, state_qos
import numpy as np
import pytest
from sensor_msgs.msg import Image, JointState
from test_ros_planner_node import Client, FAST, start_node, stop_node, tiny_model  # noqa: F401
from test_ros_sim_node import _pose, _trajectory, ARM

BOX_LOW, BOX_HIGH = np.array([0.25, -0.35, 0.03]), np.array([0.75, 0.35, 0.55])


def _inside(pos, tol=0.005):
    return bool(np.all(pos >= BOX_LOW - tol) and np.all(pos <= BOX_HIGH + tol))


@pytest.fixture(scope='module')
def sim(tmp_path_factory):
    log = tmp_path_factory.mktemp('bad_sim') / 'sim.log'
    proc = start_node('jepa_ros.ros.sim_arm_node', log, ['image_size:=64', 'camera_rate:=10.0'])
    client = Client('bad_input_client')
    client.record(PoseStamped, 'ee_pose', state_qos())
    client.record(JointState, 'joint_states', state_qos())
    pubs = {topic: client.node.create_publisher(kind, topic, command_qos())
            for topic, kind in (('target_pose', PoseStamped), ('delta_twist_cmds', TwistStamped),
                                ('joint_trajectory', type(_trajectory(ARM, []))))}
    try:
        client.wait(lambda: client.last('ee_pose') is not None, 60, 'sim ee_pose')
        client.wait(lambda: all(p.get_subscription_count() for p in pubs.values()), 20,
                    'sim subscriptions')
        yield client, pubs, proc, log
    finally:
        client.close()
        rc = stop_node(proc)
        text = Path(log).read_text()
        assert rc == 0 and 'Traceback' not in text, text


def _ee(client):
    p = client.last('ee_pose').pose.position
    return np.array([p.x, p.y, p.z])


def _go_home(client, pubs, pos=(0.45, 0.0, 0.30)):
    """Move the EE to ``pos`` keeping its orientation; return once the arm is at rest there."""
    msg = _pose(*pos)
    msg.pose.orientation = client.last('ee_pose').pose.orientation
    pubs['target_pose'].publish(msg)
    client.wait(lambda: np.linalg.norm(_ee(client) - pos) < 0.005, 20, f'EE at {pos}')
    client.spin(0.5)


# ---------------------------------------------------------------- absurd commands
def test_absurd_joint_trajectory_is_refused_and_the_arm_holds(sim):
    client, pubs, _, log = sim
    _go_home(client, pubs)
    q0 = np.array(client.last('joint_states').position[:7])
    for value in (100.0, -100.0):
        pubs['joint_trajectory'].publish(_trajectory(ARM, [(0.5, np.full(7, value))]))
    client.spin(1.5)
    assert np.max(np.abs(np.array(client.last('joint_states').position[:7]) - q0)) < 2e-3
    assert 'outside the workspace box' in Path(log).read_text()


def test_absurd_twist_keeps_the_box_the_step_limit_and_the_height(sim):
    client, pubs, _, log = sim
    _go_home(client, pubs)
    start = _ee(client)
    seen = len(client.log['ee_pose'])
    twist = TwistStamped()
    twist.header.frame_id = 'panda_link0'
    twist.twist.linear.x = 100.0                      # m/s
    end = time.monotonic() + 3.0
    while time.monotonic() < end:
        pubs['delta_twist_cmds'].publish(twist)
        client.spin(0.05)
    client.spin(0.5)
    poses = np.array([[m.pose.position.x, m.pose.position.y, m.pose.position.z]
                      for _, m in client.log['ee_pose'][seen:]])
    assert poses[-1, 0] > start[0] + 0.2, poses[-1]     # it did go, to the far edge
    assert all(_inside(p) for p in poses)
    assert np.max(np.abs(np.diff(poses, axis=0))) <= 0.05 + 0.005   # per 0.1 s period
    assert np.max(np.abs(poses[:, 2] - start[2])) < 0.02, poses[:, 2].min()  # no sinking
    assert 'faster than the step limits' in Path(log).read_text()


def test_target_pose_a_million_metres_away_is_clamped_to_the_box(sim):
    client, pubs, _, log = sim
    _go_home(client, pubs)
    seen = len(client.log['ee_pose'])
    msg = _pose(1e6, -1e6, 1e6)
    msg.pose.orientation = client.last('ee_pose').pose.orientation
    pubs['target_pose'].publish(msg)
    client.spin(3.0)
    poses = [np.array([m.pose.position.x, m.pose.position.y, m.pose.position.z])
             for _, m in client.log['ee_pose'][seen:]]
    assert all(_inside(p) for p in poses)
    assert 'outside the workspace; clamped' in Path(log).read_text()


# ---------------------------------------------------------------- params files
def _params_file(tmp_path, node, kind):
    path = tmp_path / f'{kind}.yaml'
    if kind == 'syntax error':
        path.write_text(f'{node}:\n  ros__parameters:\n    rate_hz: [1,\n')
    elif kind == 'wrong type':
        path.write_text(f'{node}:\n  ros__parameters:\n    image_size: sixty-four\n')
    elif kind == 'missing file':
        path = tmp_path / 'no_such_params.yaml'
    return path


@pytest.mark.parametrize('node, kind, message', [
    ('sim_arm_node', 'syntax error', 'is valid YAML'),
    ('recorder_node', 'syntax error', 'is valid YAML'),
    ('planner_node', 'syntax error', 'is valid YAML'),
    ('sim_arm_node', 'missing file', 'the --params-file exists'),
    ('sim_arm_node', 'wrong type', 'image_size'),
])
def test_broken_params_files_stop_the_node_with_one_line(tmp_path, node, kind, message):
    import subprocess
    import sys
    from test_ros_planner_node import ENV
    path = _params_file(tmp_path, node, kind)
    proc = subprocess.run([sys.executable, '-m', f'jepa_ros.ros.{node}', '--ros-args',
                           '--params-file', str(path)], capture_output=True, text=True,
                          env=ENV, timeout=120)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 2, text
    assert f'{node}: error: ' in text and message in text and 'Traceback' not in text, text


# ---------------------------------------------------------------- recorder stopped hard
def _start_recorder(tmp_path, log_name, extra=()):
    log = tmp_path / log_name
    proc = start_node('jepa_ros.ros.recorder_node', log,
                      [f'out_dir:={tmp_path / "episodes"}', 'rate_hz:=5.0', 'image_size:=32',
                       'chunk_steps:=5'] + list(extra))
    return proc, log


def _bad_sensor_data(client):
    """Publish what a broken driver might: NaN joints, an empty frame, a 1 x 4000 strip."""
    joints = client.node.create_publisher(JointState, 'joint_states', state_qos())
    camera = client.node.create_publisher(Image, 'camera/image_raw', sensor_qos())
    client.wait(lambda: joints.get_subscription_count() > 1 and
                camera.get_subscription_count() > 0, 20, 'recorder subscriptions')
    for _ in range(5):   # sensor-data QoS is best effort: a few tries reach a new subscriber
        joints.publish(JointState(name=['panda_finger_joint1'], position=[float('nan')]))
        camera.publish(Image(height=0, width=64, encoding='rgb8', step=192))
        camera.publish(numpy_to_image(np.zeros((1, 4000, 3), np.uint8), 'rgb8'))
        client.spin(0.2)


@pytest.mark.parametrize('how', ['SIGINT', 'SIGTERM', 'SIGKILL'])
def test_recorder_stopped_by_a_signal_loses_at_most_one_chunk(sim, tmp_path, how):
    client = sim[0]
    out = tmp_path / 'episodes'
    rec, log = _start_recorder(tmp_path, 'recorder.log', ['record_on_start:=true'])
    try:
        if how == 'SIGINT':
            _bad_sensor_data(client)
        # at least two chunks (10 steps) on disk before the signal
        client.wait(lambda: sum(len(list(d.glob('chunk_*.npz')))
                                for d in recording_dirs(out)) >= 2, 60, 'two chunks')
        client.spin(0.5)
        rec.send_signal(getattr(signal, how))
        rc = rec.wait(timeout=30)
    finally:
        stop_node(rec)
    text = log.read_text()
    assert 'Traceback' not in text, text
    if how != 'SIGKILL':                       # a clean stop writes the whole episode
        assert rc == 0, text
        (episode,) = list_episodes(out)
        assert read_episode(episode).num_steps >= 12 and not recording_dirs(out)
        if how == 'SIGINT':   # (one camera line: they are throttled)
            assert 'joint_states dropped: non-finite' in text, text
            assert 'camera frame dropped (camera): ' in text, text
        return
    assert rc == -signal.SIGKILL and list_episodes(out) == [] and recording_dirs(out)
    chunks = sum(len(list(d.glob('chunk_*.npz'))) for d in recording_dirs(out))
    again, log2 = _start_recorder(tmp_path, 'recorder2.log')
    try:
        client.wait(lambda: 'recovered an unfinished recording' in log2.read_text(), 60,
                    'recovered episode')
    finally:
        assert stop_node(again) == 0
    ep = read_episode(list_episodes(out)[0])
    assert ep.metadata['recovered'] is True and ep.num_steps == 5 * chunks >= 10
    assert not recording_dirs(out)


# ---------------------------------------------------------------- planner inputs
def test_planner_drops_degenerate_images_and_joint_states(tmp_path, tiny_model):  # noqa: F811
    log = tmp_path / 'planner.log'
    # private topics: this module's simulator publishes good frames and joints on the usual ones
    proc = start_node('jepa_ros.ros.planner_node', log,
                      [f'checkpoint:={tiny_model[0]}', 'device:=cpu'] + FAST,
                      remaps=['camera/image_raw:=bad/image_raw', 'joint_states:=bad/joints',
                              'goal_image:=bad/goal_image', 'ee_pose:=bad/ee_pose'])
    client = Client('planner_bad_input_client')
    image = client.node.create_publisher(Image, 'bad/image_raw', sensor_qos())
    goal = client.node.create_publisher(Image, 'bad/goal_image', command_qos())
    joints = client.node.create_publisher(JointState, 'bad/joints', state_qos())
    try:
        client.wait(lambda: 'loop running at' in log.read_text() or proc.poll() is not None,
                    120, 'planner start-up')
        client.wait(lambda: image.get_subscription_count() and goal.get_subscription_count()
                    and joints.get_subscription_count(), 20, 'planner subscriptions')
        empty = Image(height=0, width=0, encoding='rgb8', step=0)
        for _ in range(3):
            image.publish(empty)
            image.publish(numpy_to_image(np.zeros((1, 4000, 3), np.uint8), 'rgb8'))
            goal.publish(empty)
            joints.publish(JointState(name=['panda_finger_joint1'], position=[float('nan')]))
            client.spin(0.3)
        client.wait(lambda: 'goal_image rejected' in log.read_text(), 20, 'goal refusal')
        client.spin(0.5)
        assert proc.poll() is None, log.read_text()
    finally:
        client.close()
        rc = stop_node(proc)
    text = log.read_text()
    assert rc == 0 and 'Traceback' not in text, text
    # camera lines are throttled: whichever bad frame came first is the one logged
    for line in ('camera frame dropped: ', 'goal_image rejected: empty image',
                 'joint_states dropped: non-finite'):
        assert line in text, f'{line!r} not logged:\n{text}'
