# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Joint targets for ros2_control's joint_trajectory_controller: IK on the embedded Panda or an MJCF.

Uses :meth:`jepa_ros.sim.SimArm.ik` (damped least squares within the joint limits) on a model that
is never stepped or rendered; the current joint positions seed every solve so consecutive targets
stay on one IK branch.
"""

from typing import Optional, Sequence

from jepa_ros.sim.geometry import mat_to_euler, quat_to_mat
from jepa_ros.utils.config import ConfigError
import numpy as np


class ArmIK:
    """Solve end-effector targets (base frame) for the named arm joints."""

    def __init__(self, joint_names: Sequence[str], mjcf_path: Optional[str] = None):
        from jepa_ros.sim import SimArm, SimConfig
        from jepa_ros.sim.model import ModelError
        self.joint_names = tuple(joint_names)
        try:
            self.sim = SimArm(SimConfig(mjcf_path=mjcf_path or None,
                                        arm_joints=self.joint_names, image_size=16))
        except (ModelError, ConfigError, ValueError) as exc:
            what = mjcf_path or 'the embedded Panda model'
            raise ConfigError(f'IK for command_mode joint_trajectory: cannot use {what} with '
                              f'joints {list(self.joint_names)}: {exc}') from exc
        self.limits = np.asarray(self.sim.joint_limits, dtype=np.float64)

    def solve(self, q_current, target_pos, target_quat):
        """
        Return joint positions (in ``joint_names`` order) reaching the target pose.

        Raises ValueError when the current joints are not finite or IK does not converge; the
        caller then holds still instead of sending a partial solution.
        """
        q0 = np.asarray(q_current, dtype=np.float64)
        if q0.shape != (len(self.joint_names),) or not np.isfinite(q0).all():
            raise ValueError(f'current joint positions unusable for IK: {q0.tolist()}')
        rpy = mat_to_euler(quat_to_mat(target_quat))
        result = self.sim.ik(np.asarray(target_pos, dtype=np.float64), rpy, q_init=q0)
        if not result.success:
            raise ValueError(f'IK did not reach the target (error {result.pos_err * 1000:.1f} '
                             f'mm, {result.rot_err:.3f} rad)')
        return np.clip(result.q, self.limits[:, 0], self.limits[:, 1])

    def close(self):
        """Release the MuJoCo model."""
        self.sim.close()
