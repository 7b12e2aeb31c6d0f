# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
planner_node closing the loop over DDS with sim_arm_node, each in its own process.

With PoseGoalWorldModel (optimum known, injected via ``world_model``) the arm must reach the goal;
with a random-weight checkpoint, joint trajectories must flow and every motion stay within limits.
"""

import time

import cv2
from geometry_msgs.msg import PoseStamped
from jepa_ros.control.pose_goal import pose_code_image
from jepa_ros.ros.qos import command_qos, state_qos
import numpy as np
import pytest
from sensor_msgs.msg import JointState
from test_ros_planner_node import (check_clean_exit, Client, FAST, start_node, stop_node,
                                   write_tiny_models)
from trajectory_msgs.msg import JointTrajectory


@pytest.fixture(scope='module')
def tiny_model(tmp_path_factory):
    """Random-weight tiny checkpoints for this module."""
    return write_tiny_models(tmp_path_factory.mktemp('models'))


@pytest.fixture(scope='module')
def sim(tmp_path_factory):
    log = tmp_path_factory.mktemp('sim') / 'sim.log'
    proc = start_node('jepa_ros.ros.sim_arm_node', log, ['image_size:=64', 'camera_rate:=10.0'])
    client = Client('sim_test_client')
    client.record(PoseStamped, 'ee_pose', state_qos())
    client.record(JointState, 'joint_states', state_qos())
    try:
        client.wait(lambda: client.last('ee_pose') is not None, 60, 'sim ee_pose')
        yield client, proc, log
    finally:
        client.close()
        stop_node(proc)


def _ee(client):
    p = client.last('ee_pose').pose.position
    return np.array([p.x, p.y, p.z])


def _max_step(client, since, period):
    """Largest end-effector displacement over any window of one control period."""
    pts = [(t, m.pose.position) for t, m in client.log['ee_pose'] if t >= since]
    xyz = np.array([[p.x, p.y, p.z] for _, p in pts])
    ts = np.array([t for t, _ in pts])
    worst = 0.0
    for i in range(len(ts)):
        j = np.searchsorted(ts, ts[i] + period, side='right') - 1
        worst = max(worst, float(np.linalg.norm(xyz[j] - xyz[i])))
    return worst


def test_closed_loop_reaches_a_known_goal(sim, tmp_path):
    client, _, _ = sim
    start = _ee(client)
    goal_pos = np.clip(start + [0.08, 0.06, -0.06], [0.3, -0.3, 0.08], [0.7, 0.3, 0.5])
    goal_file = tmp_path / 'goal.png'
    cv2.imwrite(str(goal_file), cv2.cvtColor(pose_code_image(goal_pos), cv2.COLOR_RGB2BGR))
    log = tmp_path / 'planner.log'
    proc = start_node('jepa_ros.ros.planner_node', log, [
        'world_model:=jepa_ros.control.pose_goal:make_world_model', 'device:=cpu',
        f'goal_image_path:={goal_file}', 'planner.samples:=64', 'planner.iterations:=3',
        'planner.topk:=8', 'planner.horizon:=1', 'rate_hz:=5.0'])
    try:
        t0 = time.monotonic()
        client.wait(lambda: np.linalg.norm(_ee(client) - goal_pos) < 0.015, 60,
                    f'arm at the goal {goal_pos.round(3)} (now {_ee(client).round(3)})')
        # 0.05 m per 0.2 s period (planner) + sim tracking slack
        assert _max_step(client, t0, 0.2) <= 0.05 + 0.015
        assert np.linalg.norm(start - goal_pos) > 0.1
    finally:
        check_clean_exit(proc, log)


def test_closed_loop_random_model_joint_trajectories_stay_within_limits(
        sim, tiny_model, tmp_path):
    client, _, _ = sim
    client.record(JointTrajectory, 'joint_trajectory', command_qos())
    log = tmp_path / 'planner.log'
    proc = start_node('jepa_ros.ros.planner_node', log, [
        f'checkpoint:={tiny_model[0]}', 'device:=cpu', 'command_mode:=joint_trajectory'] + FAST)
    try:
        cli = Client('capture_client')
        try:
            answer = cli.capture_goal(timeout=90)  # the camera must be fresh at the node first
            assert answer.success, answer.message
        finally:
            cli.close()
        t0 = time.monotonic()
        start = _ee(client)
        client.wait(lambda: len(client.log['joint_trajectory']) >= 10, 30, 'ten trajectories')
        client.spin(1.0)
        for _, m in client.log['joint_trajectory']:
            assert list(m.joint_names) == [f'panda_joint{i}' for i in range(1, 8)]
            assert len(m.points) == 1 and np.isfinite(m.points[0].positions).all()
        assert np.linalg.norm(_ee(client) - start) > 1e-3, 'the arm did not move'
        assert _max_step(client, t0, 0.2) <= 0.05 + 0.015
    finally:
        check_clean_exit(proc, log)
