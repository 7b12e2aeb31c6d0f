# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Bad-input matrix for what reaches the arm and the model: actions, joint targets, images, joints.

Pure logic (no DDS): the simulator's limits hold for every command kind, images a model should
not see are refused with a reason, and non-finite joint states are singled out. The same code
runs inside the nodes; ``test_bad_input_ros.py`` checks the nodes' side over DDS.
"""

from jepa_ros.control.commands import ArmCommand, fit_image, limit_command
from jepa_ros.ros.image_conversion import image_to_numpy, numpy_to_image
from jepa_ros.ros.planner_msgs import joint_position, nonfinite_joints
from jepa_ros.sim import SimArm, SimConfig
import numpy as np
import pytest
from sensor_msgs.msg import Image, JointState


@pytest.fixture()
def sim():
    s = SimArm(SimConfig(image_size=64))
    s.reset(seed=0, render=False)
    yield s
    s.close()


def _inside(sim, pos, tol=0.005):
    return sim.in_workspace(pos, tolerance=tol)


# ---------------------------------------------------------------- end-effector actions
@pytest.mark.parametrize('direction', [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, 0, 1), (0, 0, -1)])
def test_absurd_actions_stay_in_the_box_and_never_drift(sim, direction):
    """A 1000x over-limit action on one axis moves only that axis, at most one step limit."""
    c = sim.config
    start, _ = sim.ee_pose()
    axis = int(np.flatnonzero(direction)[0])
    others = [i for i in range(3) if i != axis]
    prev = start
    for _ in range(25):
        action = np.zeros(7)
        action[:3] = np.asarray(direction, float) * 50.0
        sim.step(action, render=False)
        pos, _ = sim.ee_pose()
        assert np.all(np.abs(pos - prev) <= c.max_step_translation + 0.005)
        assert _inside(sim, pos)
        prev = pos
    # what nothing commanded: the other axes (the z sink at the far edge was 23 cm)
    assert np.all(np.abs(prev[others] - start[others]) < 0.03), (start, prev)


@pytest.mark.parametrize('bad', [np.nan, np.inf, -np.inf])
def test_non_finite_actions_move_nothing(sim, bad):
    before = sim.data.qpos.copy()
    action = np.zeros(7)
    action[2] = bad
    with pytest.raises(ValueError, match='non-finite'):
        sim.step(action, render=False)
    with pytest.raises(ValueError, match='non-finite'):
        sim.step_joints(np.full(7, bad), render=False)
    np.testing.assert_array_equal(sim.data.qpos, before)


def test_unreachable_step_is_shortened_not_followed(sim):
    sim.reset(seed=0, ee_pos=(0.6, 0.0, 0.4), render=False)   # the box reaches x 0.75
    for _ in range(6):
        sim.step(np.array([0.05, 0, 0, 0, 0, 0, 0]), render=False)
    info = sim.last_step_info
    assert {'unreachable', 'detour'} & set(info['clamped']), info['clamped']
    pos, _ = sim.ee_pose()
    assert pos[0] > 0.65 and abs(pos[2] - 0.4) < 0.02 and abs(pos[1]) < 0.01, pos


# ---------------------------------------------------------------- joint targets
@pytest.mark.parametrize('target', [100.0, -100.0, 'random'])
def test_absurd_joint_targets_keep_the_ee_limits(sim, target):
    rng = np.random.default_rng(0)
    c = sim.config
    prev, _ = sim.ee_pose()
    for _ in range(40):
        q = rng.uniform(-10, 10, 7) if target == 'random' else np.full(7, target)
        sim.step_joints(q, render=False)
        pos, _ = sim.ee_pose()
        assert np.all(np.abs(pos - prev) <= c.max_step_translation + 0.01), (prev, pos)
        assert _inside(sim, pos, 0.01), pos
        q_now = sim.joint_targets
        lim = sim.joint_limits
        assert np.all(q_now >= lim[:, 0] - 1e-9) and np.all(q_now <= lim[:, 1] + 1e-9)
        prev = pos
    assert set(sim.last_step_info['clamped']) & {'joint_limits', 'ee_speed', 'workspace'}


def test_joint_steps_inside_the_limits_are_followed_exactly(sim):
    q0 = sim.joint_targets
    q1 = q0 + 0.02
    q, clamped = sim.limit_joint_step(q1)
    np.testing.assert_allclose(q, q1)
    assert clamped == []
    pos, _ = sim.fk(q1)
    assert _inside(sim, pos)


# ---------------------------------------------------------------- planner commands
@pytest.mark.parametrize('pos', [(1e6, 0.0, 0.3), (0.5, -1e6, 1e6), (0.5, 0.0, -3.0)])
def test_impossible_measured_pose_gives_a_hold_not_a_move(pos):
    state = np.array(list(pos) + [np.pi, 0.0, 0.0, 0.0])
    cmd = ArmCommand(linear_velocity=np.array([0.1, 0, 0]), angular_velocity=np.zeros(3),
                     target_pos=state[:3] + [0.02, 0, 0], target_quat=np.array([0, 1.0, 0, 0]),
                     gripper=0.0, duration_s=0.2)
    out, notes = limit_command(cmd, state, 0.5, 1.0, (0.25, -0.35, 0.03), (0.75, 0.35, 0.55))
    assert out.hold and np.all(out.linear_velocity == 0) and 'not trusted' in notes[0]


def test_pose_just_outside_the_box_still_moves_back_slowly():
    state = np.array([0.80, 0.0, 0.3, np.pi, 0.0, 0.0, 0.0])
    cmd = ArmCommand(linear_velocity=np.zeros(3), angular_velocity=np.zeros(3),
                     target_pos=np.array([0.7, 0.0, 0.3]), target_quat=np.array([0, 1.0, 0, 0]),
                     gripper=0.0, duration_s=0.2)
    out, _ = limit_command(cmd, state, 0.5, 1.0, (0.25, -0.35, 0.03), (0.75, 0.35, 0.55))
    assert not out.hold and out.linear_velocity[0] < 0
    # back towards the box by at most the planned step (0.1 m), not at max_linear_speed
    assert np.linalg.norm(np.asarray(out.target_pos) - state[:3]) <= 0.1 + 1e-9
    outward = ArmCommand(linear_velocity=np.zeros(3), angular_velocity=np.zeros(3),
                         target_pos=np.array([0.82, 0.0, 0.3]),
                         target_quat=np.array([0, 1.0, 0, 0]), gripper=0.0, duration_s=0.2)
    out, notes = limit_command(outward, state, 0.5, 1.0, (0.25, -0.35, 0.03),
                               (0.75, 0.35, 0.55))
    step = np.linalg.norm(np.asarray(out.target_pos) - state[:3])
    assert step <= 0.02 + 1e-9 and 'clipped to the workspace' in notes[0], (step, notes)


# ---------------------------------------------------------------- images
def _msg(height, width, encoding='rgb8', channels=3):
    msg = Image(height=height, width=width, encoding=encoding, step=width * channels)
    msg.data = bytes(height * width * channels)
    return msg


IMAGE_CASES = [
    ('empty height', lambda: image_to_numpy(_msg(0, 64)), 'empty image'),
    ('empty width', lambda: image_to_numpy(_msg(48, 0)), 'empty image'),
    ('empty array', lambda: fit_image(np.zeros((0, 5, 3), np.uint8), 64), 'empty image'),
    ('1 x 4000 strip', lambda: fit_image(np.zeros((1, 4000, 3), np.uint8), 64), 'too small'),
    ('10 x 4000 strip', lambda: fit_image(np.zeros((10, 4000, 3), np.uint8), 64),
     'aspect ratio of 400:1'),
    ('4 x 4 thumbnail', lambda: fit_image(np.zeros((4, 4, 3), np.uint8), 64), 'too small'),
    ('grey image', lambda: fit_image(np.zeros((64, 64), np.uint8), 64), r'\(H, W, 3\)'),
    ('wrong encoding', lambda: image_to_numpy(_msg(8, 8, 'yuv422', 2)), 'unsupported'),
    ('too little data', lambda: image_to_numpy(
        Image(height=8, width=8, encoding='rgb8', step=24, data=bytes(10))), 'expected step'),
]


@pytest.mark.parametrize('name, call, message', IMAGE_CASES, ids=[c[0] for c in IMAGE_CASES])
def test_images_a_model_should_not_see_are_refused(name, call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize('shape', [(480, 640, 3), (96, 128, 3), (240, 960, 3), (8, 8, 3)])
def test_ordinary_camera_images_still_fit(shape):
    img = np.random.default_rng(0).integers(0, 255, shape, dtype=np.uint8)
    out = fit_image(image_to_numpy(numpy_to_image(img, 'rgb8')), 64)
    assert out.shape == (64, 64, 3) and out.dtype == np.uint8


# ---------------------------------------------------------------- joint states
def test_non_finite_joint_states_are_singled_out():
    msg = JointState(name=['a', 'b', 'c'], position=[0.1, float('nan'), float('inf')])
    assert nonfinite_joints(msg, ['a', 'b', 'c', 'missing']) == ['b', 'c']
    assert joint_position(msg, 'a') == 0.1 and joint_position(msg, 'b') is None
    short = JointState(name=['a', 'b'], position=[0.1])
    assert nonfinite_joints(short, ['a', 'b']) == []


# ---------------------------------------------------------------- poses
def _pose_msg(pos, quat=(0.0, 1.0, 0.0, 0.0), frame='panda_link0'):
    from geometry_msgs.msg import PoseStamped
    msg = PoseStamped()
    msg.header.frame_id = frame
    msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = pos
    o = msg.pose.orientation
    o.w, o.x, o.y, o.z = quat
    return msg


@pytest.mark.parametrize('msg, message', [
    (_pose_msg((float('nan'), 0.0, 0.3)), 'finite'),
    (_pose_msg((0.5, float('inf'), 0.3)), 'finite'),
    (_pose_msg((0.5, 0.0, 0.3), quat=(0.0, 0.0, 0.0, 0.0)), 'quaternion'),
    (_pose_msg((0.5, 0.0, 0.3), frame='world'), "frame 'world'"),
])
def test_bad_measured_poses_are_dropped_with_the_reason(msg, message):
    from jepa_ros.ros.planner_msgs import base_frame_pose_state
    with pytest.raises(ValueError, match=message):
        base_frame_pose_state(msg, 'panda_link0')
