# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""MPC loop logic: command conversion, hold-still rules and config validation."""

from jepa_ros.control import action_to_command, hold_command, integrate_state, MPCNodeConfig
from jepa_ros.utils.config import ConfigError, from_dict
import numpy as np
import pytest
from transforms3d.euler import quat2euler


def test_twist_and_pose_follow_the_action():
    state = np.array([0.4, 0.0, 0.3, np.pi, 0.0, 0.0, 0.2])
    action = np.array([0.02, -0.01, 0.005, 0.0, 0.0, 0.1, 0.3])
    cmd = action_to_command(state, action, period_s=0.2)
    np.testing.assert_allclose(cmd.linear_velocity, [0.1, -0.05, 0.025])
    np.testing.assert_allclose(cmd.target_pos, [0.42, -0.01, 0.305])
    assert cmd.gripper == pytest.approx(0.5)
    # a yaw increment about the base z axis is an angular velocity about z
    np.testing.assert_allclose(cmd.angular_velocity, [0, 0, 0.5], atol=1e-9)
    rpy = quat2euler(cmd.target_quat, axes='sxyz')
    assert rpy[2] == pytest.approx(0.1)
    assert not cmd.hold


def test_gripper_is_clipped_and_angles_wrap():
    nxt = integrate_state([0, 0, 0, 3.1, 0, 0, 0.9], [0, 0, 0, 0.1, 0, 0, 0.5])
    assert nxt[6] == 1.0
    assert -np.pi <= nxt[3] <= np.pi and nxt[3] < 0


@pytest.mark.parametrize('bad', [np.nan, np.inf, -np.inf])
def test_non_finite_action_holds_still(bad):
    state = np.array([0.4, 0.0, 0.3, np.pi, 0.0, 0.0, 0.2])
    action = np.zeros(7)
    action[1] = bad
    cmd = action_to_command(state, action, period_s=0.2)
    assert cmd.hold and 'not finite' in cmd.reason
    np.testing.assert_array_equal(cmd.linear_velocity, 0)
    np.testing.assert_allclose(cmd.target_pos, state[:3])
    assert cmd.gripper == pytest.approx(0.2)


def test_wrong_shapes_are_errors():
    with pytest.raises(ValueError):
        action_to_command(np.zeros(6), np.zeros(7), 0.2)
    with pytest.raises(ValueError):
        action_to_command(np.full(7, np.nan), np.zeros(7), 0.2)


def test_hold_command_keeps_pose():
    state = np.array([0.5, 0.1, 0.2, np.pi, 0.0, 0.3, 1.0])
    cmd = hold_command(state, 0.2, 'camera is stale')
    assert cmd.hold and cmd.reason == 'camera is stale'
    np.testing.assert_allclose(quat2euler(cmd.target_quat, axes='sxyz')[2], 0.3)


def test_config_validation_names_the_field():
    assert from_dict(MPCNodeConfig, {'rate_hz': 10}).period_s == pytest.approx(0.1)
    for bad, word in [({'command_mode': 'velocity'}, 'command_mode'),
                      ({'device': 'tpu'}, 'device'), ({'rate_hz': 0}, 'rate_hz'),
                      ({'rate_hz': 'fast'}, 'rate_hz'), ({'image_timeout_s': -1}, 'image_timeout'),
                      ({'no_such_key': 1}, 'no_such_key')]:
        with pytest.raises(ConfigError, match=word):
            from_dict(MPCNodeConfig, bad)


def test_precision_auto_picks_fp32_until_bf16_is_proven(tmp_path):
    from jepa_ros.models.runtime import cpu_has_fast_bf16, resolve_precision
    amx = tmp_path / 'amx'
    amx.write_text('processor : 0\nflags\t\t: fpu sse avx512f amx_bf16 amx_tile\n')
    old = tmp_path / 'old'
    old.write_text('processor : 0\nflags\t\t: fpu sse avx2\n')
    assert cpu_has_fast_bf16(str(amx)) and not cpu_has_fast_bf16(str(old))
    assert not cpu_has_fast_bf16(str(tmp_path / 'missing'))
    assert resolve_precision('fp32', 'cuda') == 'fp32'
    assert resolve_precision('bf16', 'cpu') == 'bf16'  # asked for explicitly
    # bf16 costs plan quality (README "Planning speed"): auto is fp32 even where it is fast
    assert resolve_precision('auto', 'cuda') == 'fp32'
    assert resolve_precision('auto', 'cpu') == 'fp32'
    # compact models plan in int8 on a CPU (same closed-loop success, 0.66x the time)
    assert resolve_precision('auto', 'cpu', 'compact') == 'int8'
    assert resolve_precision('auto', 'cuda', 'compact') == 'fp32'
    assert resolve_precision('auto', 'cpu', 'vjepa2_ac') == 'fp32'
    assert resolve_precision('fp32', 'cpu', 'compact') == 'fp32'   # asked for explicitly
    with pytest.raises(ValueError, match='precision'):
        resolve_precision('int4', 'cpu')
    assert from_dict(MPCNodeConfig, {'dtype': 'auto'}).dtype == 'auto'
