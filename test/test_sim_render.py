# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Rendering: sizes, cameras, determinism and intrinsics that match the pictures."""

from jepa_ros.sim import SimArm, SimConfig
import numpy as np
import pytest


@pytest.fixture(scope='module')
def sim():
    s = SimArm(SimConfig(image_size=128))
    yield s
    s.close()


@pytest.mark.parametrize('size', [64, 128, 256])
def test_render_returns_nonempty_rgb(sim, size):
    sim.reset(seed=1, render=False)
    img = sim.render(size)
    assert img.shape == (size, size, 3) and img.dtype == np.uint8
    assert img.std() > 10  # not a blank frame


def test_cameras_differ_and_unknown_camera_is_an_error(sim):
    assert {'front', 'side'} <= set(sim.camera_names)
    sim.reset(seed=1, render=False)
    assert not np.array_equal(sim.render(camera='front'), sim.render(camera='side'))
    with pytest.raises(ValueError, match='unknown camera'):
        sim.render(camera='nope')


def test_render_is_deterministic_and_follows_the_arm(sim):
    sim.reset(seed=3, render=False)
    a = sim.render()
    sim.reset(seed=3, render=False)
    assert np.array_equal(a, sim.render())
    sim.step([0.05, 0.05, 0, 0, 0, 0, 0], render=False)
    assert not np.array_equal(a, sim.render())


def _project(sim, point, camera, size):
    fx, fy, cx, cy = sim.camera_intrinsics(camera, size)
    cam_pos, cam_mat = sim.camera_pose(camera)
    p = cam_mat.T @ (np.asarray(point) - cam_pos)  # MuJoCo camera: x right, y up, looks -z
    return np.array([cx + fx * p[0] / -p[2], cy - fy * p[1] / -p[2]])


@pytest.mark.parametrize('camera', ['front', 'side'])
def test_intrinsics_match_the_rendered_cube(sim, camera):
    sim.reset(seed=0, cube_pos=(0.5, 0.05), render=False)
    img = sim.render(256, camera).astype(int)
    red = (img[..., 0] > 150) & (img[..., 1] < 80) & (img[..., 2] < 80)
    assert red.sum() > 20
    rows, cols = np.nonzero(red)
    uv = _project(sim, sim.observe(render=False).cube_pos, camera, 256)
    assert np.linalg.norm(uv - (cols.mean(), rows.mean())) < 3.0


def test_front_camera_separates_the_three_motion_axes(sim):
    """Moving along x, y and z must move the gripper in clearly different image directions."""
    sim.reset(seed=0, render=False)
    home = sim.observe(render=False).ee_pos
    flows = [_project(sim, home + 0.05 * e, 'front', 128) - _project(sim, home, 'front', 128)
             for e in np.eye(3)]
    for i in range(3):
        assert np.linalg.norm(flows[i]) > 3.0  # pixels at 128 px
        for j in range(i + 1, 3):
            cos = abs(flows[i] @ flows[j]) / np.linalg.norm(flows[i]) / np.linalg.norm(flows[j])
            assert np.degrees(np.arccos(cos)) > 35.0, (i, j)


def test_camera_optical_frames_for_tf_look_where_the_camera_looks():
    """Each camera's TF optical frame (z forward, y down) from its MuJoCo pose."""
    from jepa_ros.ros.tf import camera_optical_pose
    from jepa_ros.sim import SimArm, SimConfig
    from jepa_ros.sim.geometry import quat_to_mat
    with SimArm(SimConfig(image_size=64)) as sim:
        sim.reset(seed=0, render=False)
        cube = sim.observe(render=False).cube_pos
        for camera in ('front', 'side'):
            pos, quat = camera_optical_pose(sim, camera)
            _, mj = sim.camera_pose(camera)
            opt = quat_to_mat(quat)
            np.testing.assert_allclose(opt[:, 2], -mj[:, 2], atol=1e-9)   # z: viewing axis
            np.testing.assert_allclose(opt[:, 1], -mj[:, 1], atol=1e-9)   # y: image down
            to_cube = (cube - pos) / np.linalg.norm(cube - pos)
            assert to_cube @ opt[:, 2] > 0.8, camera       # the cube is in front of it
