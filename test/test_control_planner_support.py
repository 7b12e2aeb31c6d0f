# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Planner-node support logic without ROS: limits, images, model loading, IK, pose codes."""

import os

from jepa_ros.control import action_to_command, limit_command, MPCNodeConfig
from jepa_ros.control.commands import fit_image
from jepa_ros.control.loading import configure_threads, load_world_model, resolve_device
from jepa_ros.control.pose_goal import decode_pose_code, pose_code_image, PoseGoalWorldModel
from jepa_ros.utils.config import ConfigError, from_dict
import numpy as np
import pytest
import torch

torch.set_num_threads(1)
STATE = np.array([0.5, 0.0, 0.3, np.pi, 0.0, 0.0, 0.0])


def test_limit_command_scales_speed_and_moves_the_target_with_it():
    cmd = action_to_command(STATE, np.array([0.2, 0.0, 0.0, 0.0, 0.0, 0.3, 0.0]), 0.2)
    out, notes = limit_command(cmd, STATE, max_linear_speed=0.25, max_angular_speed=0.5)
    assert np.linalg.norm(out.linear_velocity) == pytest.approx(0.25)
    np.testing.assert_allclose(out.target_pos, STATE[:3] + [0.05, 0, 0])
    assert np.linalg.norm(out.angular_velocity) == pytest.approx(0.5)
    # the orientation target turned by rate * dt = 0.1 rad about z, not the planned 0.3 rad
    w = out.target_quat[0]
    from transforms3d.euler import euler2quat
    q0 = euler2quat(*STATE[3:6], axes='sxyz')
    angle = 2 * np.arccos(min(1.0, abs(float(np.dot(out.target_quat, q0)))))
    assert angle == pytest.approx(0.1, abs=1e-6) and np.isfinite(w)
    assert len(notes) == 2


def test_limit_command_clips_the_workspace_and_passes_small_commands():
    cmd = action_to_command(STATE, np.array([0.04, 0, 0, 0, 0, 0, 0.5]), 0.2)
    out, notes = limit_command(cmd, STATE, 1.0, 1.0, (0.2, -0.5, 0.0), (0.52, 0.5, 0.8))
    assert out.target_pos[0] == pytest.approx(0.52)
    assert out.linear_velocity[0] == pytest.approx(0.1)
    assert out.gripper == pytest.approx(0.5) and notes
    same, notes = limit_command(cmd, STATE, 1.0, 1.0, (0.0, -1, 0), (1.0, 1, 1))
    np.testing.assert_allclose(same.linear_velocity, cmd.linear_velocity)
    assert notes == []


def test_limit_command_turns_non_finite_into_hold():
    cmd = action_to_command(STATE, np.zeros(7), 0.2)
    cmd.target_pos = np.array([np.nan, 0, 0])
    out, notes = limit_command(cmd, STATE, 1.0, 1.0)
    assert out.hold and notes
    np.testing.assert_array_equal(out.linear_velocity, 0)


def test_fit_image_crops_or_stretches_to_the_model_size():
    img = np.zeros((48, 96, 3), np.uint8)
    img[:, 24:72] = 200  # the centre square is bright, the sides dark
    cropped = fit_image(img, 32, 'crop')
    assert cropped.shape == (32, 32, 3) and cropped.min() == 200
    stretched = fit_image(img, 32, 'stretch')
    assert stretched.shape == (32, 32, 3) and stretched.min() < 50
    assert fit_image(np.zeros((8, 8, 3), np.uint8), 16).shape == (16, 16, 3)


def test_config_checks_new_fields_and_gripper_mapping():
    cfg = MPCNodeConfig()
    assert cfg.gripper_from_position(0.04) == 0.0 and cfg.gripper_from_position(0.0) == 1.0
    assert cfg.gripper_from_position(0.01) == pytest.approx(0.75)
    for bad, match in (({'world_model': 'nocolon'}, 'world_model'),
                       ({'image_resize': 'zoom'}, 'image_resize'),
                       ({'max_linear_speed': 0}, 'max_linear_speed'),
                       ({'gripper_open_position': 0.0}, 'must differ'),
                       ({'torch_threads': -1}, 'torch_threads'),
                       ({'command_mode': 'velocity'}, 'command_mode')):
        with pytest.raises(ConfigError, match=match):
            from_dict(MPCNodeConfig, bad)


def test_device_resolution_and_threads():
    assert resolve_device('cpu') == 'cpu'
    assert resolve_device('auto') in ('cpu', 'cuda')
    with pytest.raises(ConfigError, match='unknown device'):
        resolve_device('tpu')
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match='CUDA is not available'):
            resolve_device('cuda')
    before = torch.get_num_threads()
    try:
        assert configure_threads(0, 'cpu') == 1
        assert configure_threads(2, 'cpu') == 2
    finally:
        torch.set_num_threads(before)


def _tiny_model(tmp_path, predictor=True):
    from jepa_ros.models import (ACPredictor, encoder_preset, predictor_preset, save_model,
                                 VJEPA2Encoder)
    torch.manual_seed(0)
    enc = VJEPA2Encoder(encoder_preset('tiny'))
    pred = ACPredictor(predictor_preset('tiny')) if predictor else None
    return save_model(tmp_path / ('model' if predictor else 'encoder_only'), enc, pred)


def test_load_world_model_from_a_checkpoint_dir(tmp_path):
    path = _tiny_model(tmp_path)
    wm, what = load_world_model(MPCNodeConfig(checkpoint=str(path)), 'cpu')
    assert wm.image_size == 64 and str(path) in what
    z = wm.encode(np.zeros((64, 64, 3), np.uint8))
    assert z.shape[0] == 1 and torch.isfinite(z).all()


@pytest.mark.parametrize('checkpoint, match', [
    ('/nonexistent/model_dir', 'not found'),
    ('/nonexistent/vitg.pt', 'does not exist'),
    ('no_such_model_name', 'not found'),
])
def test_load_world_model_errors_say_what_to_fix(checkpoint, match):
    with pytest.raises(ConfigError, match=match):
        load_world_model(MPCNodeConfig(checkpoint=checkpoint), 'cpu')


def test_default_checkpoint_explains_how_to_get_one(tmp_path, monkeypatch):
    import jepa_ros.models.checkpoint as checkpoint
    monkeypatch.setattr(checkpoint, 'ASSETS_DIR', tmp_path)   # as if nothing were shipped
    with pytest.raises(ConfigError, match='train_default.sh'):
        load_world_model(MPCNodeConfig(), 'cpu')


def test_shipped_default_model_loads_with_its_normalisation():
    wm, description = load_world_model(MPCNodeConfig(), 'cpu')
    assert 'default' in description and wm.normalization is not None
    # dtype auto: a compact model plans with its predictor in int8 on a CPU, as eval does
    assert wm.dtype == 'int8'
    fp32, _ = load_world_model(MPCNodeConfig(dtype='fp32'), 'cpu')
    assert fp32.dtype == 'fp32'


def test_checkpoint_without_predictor_is_rejected(tmp_path):
    path = _tiny_model(tmp_path, predictor=False)
    with pytest.raises(ConfigError, match='no action-conditioned predictor'):
        load_world_model(MPCNodeConfig(checkpoint=str(path)), 'cpu')


def test_world_model_factory_is_imported_and_checked():
    cfg = MPCNodeConfig(world_model='jepa_ros.control.pose_goal:make_world_model')
    wm, what = load_world_model(cfg, 'cpu')
    assert isinstance(wm, PoseGoalWorldModel) and 'pose_goal' in what
    for spec, match in (('no_such_module_xyz:f', 'cannot import'),
                        ('jepa_ros.control.pose_goal:nothing', 'no function'),
                        ('os.path:join', 'failed'),
                        ('jepa_ros.control.config:MPCNodeConfig', 'without')):
        with pytest.raises(ConfigError, match=match):
            load_world_model(MPCNodeConfig(world_model=spec), 'cpu')


def test_pose_code_round_trip_survives_resizing():
    pos = np.array([0.55, -0.12, 0.21])
    img = pose_code_image(pos, gripper=0.4, size=64)
    state = decode_pose_code(img)
    np.testing.assert_allclose(state[:3], pos, atol=1e-4)
    assert state[6] == pytest.approx(0.4, abs=0.01)
    np.testing.assert_allclose(decode_pose_code(fit_image(img, 32))[:3], pos, atol=1e-4)
    np.testing.assert_allclose(decode_pose_code(fit_image(img, 128))[:3], pos, atol=1e-4)
    camera_like = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    assert np.isnan(decode_pose_code(camera_like)).all()
    with pytest.raises(ValueError, match='outside'):
        pose_code_image([5.0, 0, 0])


def test_pose_goal_model_has_its_optimum_at_the_goal():
    from jepa_ros.planning import CEMPlanner, PlannerConfig
    wm = PoseGoalWorldModel()
    goal = pose_code_image([0.53, 0.02, 0.3])
    planner = CEMPlanner(wm, PlannerConfig(horizon=1, samples=64, iterations=4, topk=8))
    camera = np.zeros((64, 64, 3), np.uint8)
    state = STATE.copy()
    for _ in range(6):
        plan = planner.plan(camera, state, goal)
        assert plan.ok and np.isnan(plan.current_energy)  # the model cannot see the camera
        state[:3] += plan.first_action[:3]
    assert np.linalg.norm(state[:3] - [0.53, 0.02, 0.3]) < 0.01


def test_ik_reaches_a_nearby_target_and_refuses_garbage():
    from jepa_ros.control.ik import ArmIK
    from jepa_ros.control.config import PANDA_ARM_JOINTS
    ik = ArmIK(PANDA_ARM_JOINTS)
    try:
        q0 = ik.sim.data.qpos[ik.sim.parts.arm_qpos].copy()
        pos, mat = ik.sim.ee_pose()
        from jepa_ros.sim.geometry import mat_to_quat
        q = ik.solve(q0, pos + [0.02, 0.01, -0.01], mat_to_quat(mat))
        assert q.shape == (7,) and np.abs(q - q0).max() < 0.3
        with pytest.raises(ValueError, match='unusable'):
            ik.solve(np.full(7, np.nan), pos, mat_to_quat(mat))
        with pytest.raises(ValueError, match='did not reach'):
            ik.solve(q0, pos + [3.0, 0, 0], mat_to_quat(mat))
    finally:
        ik.close()
    with pytest.raises(ConfigError, match='joint_trajectory'):
        ArmIK(['not_a_joint'])


def test_omp_policy_is_set_by_the_test_environment():
    assert os.environ.get('OMP_WAIT_POLICY') == 'PASSIVE'


def test_official_checkpoint_loads_and_plans(vjepa2_tiny_dir):
    from jepa_ros.planning import CEMPlanner, PlannerConfig
    cfg = MPCNodeConfig(checkpoint=str(vjepa2_tiny_dir / 'checkpoint.pt'), official_img_size=256)
    wm, what = load_world_model(cfg, 'cpu')
    assert 'official' in what and wm.image_size == 256 and wm.normalization is None
    planner = CEMPlanner(wm, PlannerConfig(horizon=1, samples=8, iterations=1, topk=2))
    frame = np.random.default_rng(0).integers(0, 255, (256, 256, 3), dtype=np.uint8)
    plan = planner.plan(frame, STATE, frame[::-1].copy())
    assert plan.ok and np.isfinite(plan.final_energy)
