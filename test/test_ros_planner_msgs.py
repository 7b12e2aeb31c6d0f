# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Planner/recorder message conversion and parameters, in process (no DDS traffic)."""

import json

from jepa_ros.control import action_to_command, hold_command, MPCNodeConfig
from jepa_ros.planning import PlannerConfig
from jepa_ros.ros.params import declare_config
from jepa_ros.ros.planner_msgs import (diagnostics_msg, joint_position, landscape_image,
                                       markers_msg, path_msg, pose_msg, pose_to_state,
                                       trajectory_msg, twist_msg)
from jepa_ros.ros.planner_node import NODE_NAME, planner_params_yaml
from jepa_ros.ros.recorder_node import EpisodeBuffer, recorder_params_yaml, RecorderConfig
from jepa_ros.sim.geometry import euler_to_mat, mat_to_quat
from jepa_ros.utils.config import ConfigError, from_dict
import numpy as np
import pytest
import rclpy
from rclpy.context import Context
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import JointState
from visualization_msgs.msg import Marker
import yaml

STATE = np.array([0.5, 0.1, 0.3, 3.0, 0.2, -0.4, 0.25])


def _body(path):
    return ''.join(line + '\n' for line in path.read_text().splitlines()
                   if not line.startswith('#'))


def test_planner_yaml_matches_the_dataclass_defaults(project_root):
    path = project_root / 'config' / 'planner.yaml'
    assert _body(path) == planner_params_yaml(), \
        'config/planner.yaml is stale: regenerate it with planner_node.planner_params_yaml()'
    params = dict(yaml.safe_load(path.read_text())[NODE_NAME]['ros__parameters'])
    planner = params.pop('planner')
    fix = {k: (None if v == '' else v) for k, v in planner.items()}
    assert from_dict(PlannerConfig, fix) == PlannerConfig()
    mpc = {k: ([] if v == '' and k == 'subgoal_image_paths' else v) for k, v in params.items()}
    assert from_dict(MPCNodeConfig, mpc) == MPCNodeConfig()


def test_recorder_yaml_matches_the_dataclass_defaults(project_root):
    path = project_root / 'config' / 'recorder.yaml'
    assert _body(path) == recorder_params_yaml(), 'config/recorder.yaml is stale'
    params = yaml.safe_load(path.read_text())['recorder_node']['ros__parameters']
    assert from_dict(RecorderConfig, params) == RecorderConfig()


@pytest.fixture()
def context():
    ctx = Context()
    rclpy.init(context=ctx)
    yield ctx
    rclpy.try_shutdown(context=ctx)


def test_planner_parameters_use_the_planner_prefix(context):
    overrides = {'planner.samples': 32, 'planner.topk': 4, 'planner.stop_energy': 0.5,
                 'rate_hz': 2, 'subgoal_image_paths': 'a.png, b.png',
                 'subgoal_needs_hold': [False, True]}
    node = Node('params_test', context=context,
                parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()])
    try:
        cfg = declare_config(node, MPCNodeConfig)
        pcfg = declare_config(node, PlannerConfig, prefix='planner.')
        assert cfg.rate_hz == 2.0 and cfg.subgoal_image_paths == ('a.png', 'b.png')
        assert cfg.subgoal_needs_hold == (False, True)
        assert (pcfg.samples, pcfg.topk, pcfg.stop_energy) == (32, 4, 0.5)
        assert pcfg.subgoal_threshold is None
    finally:
        node.destroy_node()
    node = Node('params_test2', context=context,
                parameter_overrides=[Parameter('planner.topk', value=1)])
    try:
        with pytest.raises(ConfigError, match='topk'):
            declare_config(node, PlannerConfig, prefix='planner.')
    finally:
        node.destroy_node()


def test_shipped_params_file_plans_with_what_eval_uses(project_root):
    """
    The launch files' params file must not pin a field the profile or the model chooses.

    It once set ``planner.energy: l1`` (a default), which counted as the user's and beat the
    shipped model's own L2: ``ros2 launch`` planned with another energy than ``jepa-ros eval``.
    """
    from jepa_ros.control.profiles import planner_settings
    from jepa_ros.ros.planner_node import PlannerNode
    path = project_root / 'config' / 'planner.yaml'
    ctx = Context()
    rclpy.init(context=ctx, args=['--ros-args', '--params-file', str(path)])
    try:
        node = PlannerNode(context=ctx)
        try:
            want = planner_settings('cpu', 'cpu', 'default')   # what eval applies on a CPU
            assert want['energy'] == 'l2' and want['horizon'] == 3, want
            got = {k: getattr(node.planner_cfg, k) for k in want}
            assert got == want
            assert node._user_planner == []
        finally:
            node.destroy_node()
    finally:
        rclpy.try_shutdown(context=ctx)


def test_pose_to_state_inverts_the_sim_convention():
    quat = mat_to_quat(euler_to_mat(STATE[3:6]))
    msg = pose_msg(STATE[:3], quat, 'panda_link0', None)
    state = pose_to_state(msg, 0.25)
    np.testing.assert_allclose(state, STATE, atol=1e-9)
    msg.pose.orientation.w = msg.pose.orientation.x = 0.0
    msg.pose.orientation.y = msg.pose.orientation.z = 0.0
    with pytest.raises(ValueError, match='zero quaternion'):
        pose_to_state(msg, 0.0)


def test_command_messages():
    cmd = action_to_command(STATE, np.array([0.01, -0.02, 0.0, 0.0, 0.0, 0.0, 0.5]), 0.2)
    tw = twist_msg(cmd, 'panda_link0', None)
    assert (tw.twist.linear.x, tw.twist.linear.y) == pytest.approx((0.05, -0.1))
    assert tw.header.frame_id == 'panda_link0'
    hold = twist_msg(hold_command(STATE, 0.2, 'x'), 'panda_link0', None)
    assert (hold.twist.linear.x, hold.twist.angular.z) == (0.0, 0.0)
    traj = trajectory_msg(['a', 'b'], [0.1, 0.2], 0.25)
    assert list(traj.joint_names) == ['a', 'b'] and len(traj.points) == 1
    t = traj.points[0].time_from_start
    assert (t.sec, t.nanosec) == (0, 250000000)


def test_path_markers_and_diagnostics():
    ee = np.array([[0.5, 0, 0.3], [0.52, 0, 0.3], [0.54, 0.01, 0.3]])
    path = path_msg(ee, 'panda_link0', None)
    assert len(path.poses) == 3 and path.poses[2].pose.position.y == pytest.approx(0.01)
    arr = markers_msg(ee, 'panda_link0', None, ok=True, goal_position=[0.6, 0, 0.3])
    line, spheres, goal = arr.markers
    assert line.type == Marker.LINE_STRIP and len(line.points) == 3
    assert goal.action == Marker.ADD and goal.pose.position.x == pytest.approx(0.6)
    assert markers_msg(ee, 'panda_link0', None, ok=False).markers[2].action == Marker.DELETE
    assert markers_msg(ee, 'f', None, ok=False).markers[0].color.r == pytest.approx(1.0)
    data = json.loads(diagnostics_msg({'energy': float('nan'), 'ms': np.float32(3.5),
                                       'a': [1.0, float('inf')]}).data)
    assert data == {'energy': None, 'ms': 3.5, 'a': [1.0, None]}


def test_joint_position_and_landscape_image():
    js = JointState(name=['a', 'panda_finger_joint1'], position=[0.3, 0.01])
    assert joint_position(js, 'panda_finger_joint1') == pytest.approx(0.01)
    assert joint_position(js, 'missing') is None
    e = np.add.outer(np.arange(5.0), np.arange(5.0))
    img = landscape_image(e, chosen_index=(2, 2), minimum_index=(0, 0), scale=4)
    assert img.shape == (20, 20, 3) and img.dtype == np.uint8
    # the minimum (row 0 = bottom of the picture) is marked red
    assert tuple(img[18, 2]) == (255, 0, 0)


def test_episode_buffer_writes_a_readable_episode(tmp_path):
    from jepa_ros.data.episode import list_episodes, read_episode
    cfg = RecorderConfig(out_dir=str(tmp_path / 'rec'), rate_hz=5.0)
    buf = EpisodeBuffer(cfg, {'source': 'test'})
    assert buf.flush() is None  # fewer than two steps: nothing written
    for i in range(4):
        state = STATE.copy()
        state[0] += 0.01 * i
        assert buf.add(np.full((64, 64, 3), i, np.uint8), state, 0.2 * i)
    assert not buf.add(np.zeros((64, 64, 3), np.uint8), STATE, 0.1)  # time went back
    path = buf.flush()
    assert list_episodes(tmp_path / 'rec') == [path] and len(buf) == 0
    ep = read_episode(path)
    assert ep.num_steps == 4 and ep.metadata['source'] == 'test'
    np.testing.assert_allclose(ep.actions[:, 0], 0.01, atol=1e-6)
    np.testing.assert_allclose(ep.timestamps, [0, 0.2, 0.4, 0.6])


def test_base_frame_pose_state_rejects_other_frames_and_nan():
    from geometry_msgs.msg import PoseStamped
    from jepa_ros.ros.planner_msgs import base_frame_pose_state
    msg = PoseStamped()
    msg.header.frame_id = 'panda_link0'
    msg.pose.position.x, msg.pose.orientation.w = 0.4, 1.0
    np.testing.assert_allclose(base_frame_pose_state(msg, 'panda_link0'), [0.4, 0, 0, 0, 0, 0])
    msg.header.frame_id = 'camera'
    with pytest.raises(ValueError, match="frame 'camera' ignored"):
        base_frame_pose_state(msg, 'panda_link0')
    msg.header.frame_id = ''
    msg.pose.position.y = float('nan')
    with pytest.raises(ValueError, match='not finite'):
        base_frame_pose_state(msg, 'panda_link0')
