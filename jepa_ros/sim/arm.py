# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
The simulated arm: reset, end-effector steps through damped-least-squares IK, rendering.

Actions follow V-JEPA 2-AC: the change of the 7-D state (x, y, z, roll, pitch, yaw, gripper)
over one control period. A step turns the measured end-effector pose plus the (clamped) action
into a pose target, solves IK on the MuJoCo site Jacobian within the joint limits, and tracks
the joint targets with the model's position actuators for ``control_dt`` seconds of physics.
"""

from dataclasses import dataclass
from typing import Optional

from jepa_ros.sim.config import SimConfig
from jepa_ros.sim.geometry import euler_to_mat, mat_to_euler, mat_to_quat, quat_to_mat
from jepa_ros.sim.geometry import rotation_error
from jepa_ros.sim.model import load_model, ModelError, ModelParts
from jepa_ros.sim.variation import apply_variation, draw_variation, SceneTargets
from jepa_ros.sim.variation import SceneVariation, variation_rng
import mujoco
import numpy as np

_ROT_WEIGHT = 0.5        # metres per radian in the IK error
_MAX_IK_STEP = 0.3       # rad per IK iteration
_RAMP_FRACTION = 0.5     # joint targets reach the new value after this share of a period
_SETTLE_TIME = 0.05      # s of physics after a reset, so the cube rests on the table
_BACKOFF_SHARES = (0.5, 0.25, 0.125)  # shares of a step tried when the whole one is unsafe
_MAX_PATH_DEVIATION = 0.005  # m: a speed-limited joint step may stray this far from its line


@dataclass
class IKResult:
    """Joint solution and how far its end-effector pose is from the target."""

    q: np.ndarray
    success: bool
    pos_err: float          # m
    rot_err: float          # rad (0 when no orientation was asked for)
    iterations: int = 0


@dataclass
class Observation:
    """State of the scene after a reset or a step (poses in the arm base frame)."""

    image: Optional[np.ndarray]   # (H, W, 3) uint8 RGB of the default camera, or None
    ee_pos: np.ndarray            # (3,) m
    ee_quat: np.ndarray           # (4,) w, x, y, z
    state: np.ndarray             # (7,) x, y, z, roll, pitch, yaw, gripper
    gripper: float                # commanded closure, 0 open .. 1 closed
    finger_width: float           # measured opening between the fingers [m]
    finger_closure: float         # the same as a closure, 0 open .. 1 closed (grasp check)
    joint_pos: np.ndarray         # (n_arm,) rad
    joint_vel: np.ndarray         # (n_arm,) rad/s
    cube_pos: np.ndarray          # (3,) m (NaN when the model has no cube)
    cube_quat: np.ndarray         # (4,) w, x, y, z
    time: float                   # simulated seconds since reset


class SimArm:
    """A MuJoCo arm with an end-effector step interface; see the module docstring."""

    def __init__(self, config: Optional[SimConfig] = None):
        """Load the scene; raise ConfigError / ModelError with what to fix."""
        self.config = cfg = config if config is not None else SimConfig()
        cfg.validate()
        self.model = load_model(cfg.mjcf_path)
        self.parts = ModelParts(self.model, cfg)
        if cfg.camera not in self.parts.cameras:
            raise ModelError(f'camera {cfg.camera!r} not found')
        self.data = mujoco.MjData(self.model)
        self._ik_data = mujoco.MjData(self.model)
        self._renderers = {}
        self.n_substeps = max(1, int(round(cfg.control_dt / self.model.opt.timestep)))
        self.joint_names = tuple(cfg.arm_joints)
        self.finger_joint_names = tuple(cfg.finger_joints)
        self.joint_limits = self.parts.joint_limits.copy()
        self.camera_names = tuple(self.parts.cameras)
        self._home = np.clip(np.asarray(cfg.home_qpos, dtype=np.float64),
                             self.joint_limits[:, 0], self.joint_limits[:, 1])
        self._gripper = 0.0
        self._jacp = np.zeros((3, self.model.nv))
        self._jacr = np.zeros((3, self.model.nv))
        self.last_step_info = {}
        self._scene_targets = SceneTargets(self.model, self.parts.cube_body)
        self._variation = None
        self._rng = np.random.default_rng()   # appearance draws of seedless resets
        self.reset(seed=0, render=False)

    # ------------------------------------------------------------------ frames
    def _base_pose(self, d=None):
        d = self.data if d is None else d
        b = self.parts.base_body
        return d.xpos[b].copy(), d.xmat[b].reshape(3, 3).copy()

    def _world_to_base(self, pos, mat=None):
        bp, br = self._base_pose()
        p = br.T @ (np.asarray(pos) - bp)
        return (p, None) if mat is None else (p, br.T @ mat)

    def _base_to_world(self, pos, mat=None):
        bp, br = self._base_pose()
        p = bp + br @ np.asarray(pos, dtype=np.float64)
        return (p, None) if mat is None else (p, br @ mat)

    def ee_pose(self):
        """Return (position (3,), rotation matrix (3, 3)) of the end effector in the base frame."""
        s = self.parts.ee_site
        return self._world_to_base(self.data.site_xpos[s], self.data.site_xmat[s].reshape(3, 3))

    # ------------------------------------------------------------------ observation
    @property
    def gripper(self):
        """Commanded gripper closure (0 open .. 1 closed)."""
        return self._gripper

    def ee_state(self):
        """Return the 7-D state (x, y, z, roll, pitch, yaw, gripper) without rendering."""
        pos, mat = self.ee_pose()
        return np.concatenate([pos, mat_to_euler(mat), [self._gripper]])

    def observe(self, render=True):
        """Return the current :class:`Observation` (``render=False`` skips the image)."""
        d, p = self.data, self.parts
        pos, mat = self.ee_pose()
        if p.cube_body >= 0:
            cube_pos, cube_mat = self._world_to_base(d.xpos[p.cube_body],
                                                     d.xmat[p.cube_body].reshape(3, 3))
            cube_quat = mat_to_quat(cube_mat)
        else:
            cube_pos, cube_quat = np.full(3, np.nan), np.full(4, np.nan)
        return Observation(
            image=self.render() if render else None,
            ee_pos=pos, ee_quat=mat_to_quat(mat),
            state=np.concatenate([pos, mat_to_euler(mat), [self._gripper]]),
            gripper=float(self._gripper),
            finger_width=float(np.sum(d.qpos[p.finger_qpos])) if len(p.finger_qpos) else 0.0,
            finger_closure=self._measured_closure(),
            joint_pos=d.qpos[p.arm_qpos].copy(), joint_vel=d.qvel[p.arm_dof].copy(),
            cube_pos=cube_pos, cube_quat=cube_quat, time=float(d.time))

    # ------------------------------------------------------------------ set-up
    def reset(self, seed=None, cube_pos=None, ee_pos=None, render=True, keep_variation=False):
        """
        Put the arm at home (or ``ee_pos``), the gripper open and the cube on the table.

        With ``cube_pos=None`` the cube's x, y and yaw are drawn from ``seed``, so a seed gives
        the same scene every time. Unless ``config.variation`` is 'none' or ``keep_variation``
        is set, a new scene appearance is drawn too: from ``seed`` (the same seed gives the same
        appearance, on a stream of its own so the cube lands where it would without variation),
        or from the sim's own generator when ``seed`` is None.
        """
        if self.config.variation != 'none' and not keep_variation:
            vrng = self._rng if seed is None else variation_rng(seed)
            self._set_variation(draw_variation(self.config.variation, vrng, self.model.nlight,
                                               self.model.ncam))
        rng = np.random.default_rng(seed)
        mujoco.mj_resetData(self.model, self.data)
        self._gripper = 0.0
        self.set_joint_positions(self._home, gripper=0.0)
        if self.parts.cube_body >= 0:
            if cube_pos is None:
                xy = rng.uniform(self.config.cube_spawn_low, self.config.cube_spawn_high)
                yaw = rng.uniform(-np.pi / 4, np.pi / 4)
                self.set_cube_pose([xy[0], xy[1], self.parts.cube_half],
                                   mat_to_quat(euler_to_mat([0.0, 0.0, yaw])))
            else:
                self.set_cube_pose(cube_pos)
        if ee_pos is not None:
            self.move_ee_to(ee_pos, rpy=(0.0, 0.0, 0.0))
        self._physics(int(round(_SETTLE_TIME / self.model.opt.timestep)), None, None)
        self.data.time = 0.0
        self.last_step_info = {}
        return self.observe(render)

    @property
    def variation(self) -> Optional[SceneVariation]:
        """Scene appearance in use (None: the nominal scene)."""
        return self._variation

    def set_variation(self, variation: Optional[SceneVariation]):
        """Show ``variation`` (None: the nominal scene) until the next drawing reset."""
        self._set_variation(variation)
        m, d = self.model, self.data
        mujoco.mj_kinematics(m, d)
        mujoco.mj_comPos(m, d)
        mujoco.mj_camlight(m, d)   # camera / light poses for rendering and camera_pose()

    def _set_variation(self, variation):
        apply_variation(self.model, self._scene_targets, variation)
        self._variation = variation

    def set_joint_positions(self, q, gripper=None):
        """Teleport the arm to joint positions ``q`` (clipped to the limits), at rest."""
        q = self._check_vector(q, len(self.joint_names), 'joint positions')
        q = np.clip(q, self.joint_limits[:, 0], self.joint_limits[:, 1])
        p, d = self.parts, self.data
        d.qpos[p.arm_qpos] = q
        d.qvel[p.arm_dof] = 0.0
        d.ctrl[p.arm_act] = q
        if gripper is not None:
            self._gripper = float(np.clip(gripper, 0.0, 1.0))
        if len(p.finger_qpos):
            fq = self._finger_target(self._gripper)
            d.qpos[p.finger_qpos] = fq
            d.qvel[p.finger_dof] = 0.0
            d.ctrl[p.finger_act] = fq
        mujoco.mj_forward(self.model, d)

    def set_cube_pose(self, pos, quat=None):
        """Place the cube at ``pos`` (x, y[, z]) with ``quat`` (w, x, y, z), at rest."""
        p = self.parts
        if p.cube_body < 0:
            raise ModelError('the model has no cube (SimConfig.cube_body is empty)')
        pos = np.asarray(pos, dtype=np.float64).reshape(-1)
        if pos.size == 2:
            pos = np.array([pos[0], pos[1], p.cube_half])
        pos = self._check_vector(pos, 3, 'cube position')
        quat = np.array([1.0, 0.0, 0.0, 0.0]) if quat is None else \
            self._check_vector(quat, 4, 'cube quaternion')
        wpos, wmat = self._base_to_world(pos, quat_to_mat(quat))
        self.data.qpos[p.cube_qpos:p.cube_qpos + 3] = wpos
        self.data.qpos[p.cube_qpos + 3:p.cube_qpos + 7] = mat_to_quat(wmat)
        self.data.qvel[p.cube_dof:p.cube_dof + 6] = 0.0
        mujoco.mj_forward(self.model, self.data)

    def move_ee_to(self, pos, rpy=None, gripper=None):
        """
        Teleport the arm so the end effector is at ``pos`` (and ``rpy``; default: keep it).

        For task set-up. Raises ValueError when no joint configuration within the limits
        reaches the pose; the arm is then left where it was.
        """
        if rpy is None:
            rpy = mat_to_euler(self.ee_pose()[1])
        result = self.ik(pos, rpy)
        if not result.success:
            retry = self.ik(pos, rpy, q_init=self._home)
            result = retry if retry.pos_err + retry.rot_err < result.pos_err + result.rot_err \
                else result
        if not result.success:
            raise ValueError(f'end-effector pose {np.round(pos, 4).tolist()} rpy '
                             f'{np.round(rpy, 3).tolist()} is out of reach (IK error '
                             f'{result.pos_err * 1000:.1f} mm, {result.rot_err:.3f} rad)')
        self.set_joint_positions(result.q, gripper=gripper)
        return result

    # ------------------------------------------------------------------ IK
    def fk(self, q):
        """Return the end-effector (position, rotation matrix) in the base frame at joints q."""
        p, m, d = self.parts, self.model, self._ik_data
        q = self._check_vector(q, len(self.joint_names), 'joint positions')
        d.qpos[:] = self.data.qpos
        d.qpos[p.arm_qpos] = q
        mujoco.mj_kinematics(m, d)
        return self._world_to_base(d.site_xpos[p.ee_site].copy(),
                                   d.site_xmat[p.ee_site].reshape(3, 3).copy())

    def in_workspace(self, pos, tolerance: float = 1e-3) -> bool:
        """Return True when ``pos`` (base frame) lies inside the workspace box (+ tolerance)."""
        pos = np.asarray(pos, dtype=np.float64)
        return bool(np.all(pos >= np.asarray(self.config.workspace_low) - tolerance)
                    and np.all(pos <= np.asarray(self.config.workspace_high) + tolerance))

    def ik(self, target_pos, target_rpy=None, q_init=None):
        """
        Solve damped-least-squares IK for an end-effector pose given in the base frame.

        Joint limits are always respected (each iterate is clipped to them); the result says
        whether the target was reached within ``ik_pos_tolerance`` / ``ik_rot_tolerance``.
        ``target_rpy=None`` asks for the position only. The simulation state is not changed.
        """
        cfg, p, m, d = self.config, self.parts, self.model, self._ik_data
        tpos = self._check_vector(target_pos, 3, 'IK target position')
        tpos, tmat = self._base_to_world(tpos, None if target_rpy is None else euler_to_mat(
            self._check_vector(target_rpy, 3, 'IK target rpy')))
        lo, hi = self.joint_limits[:, 0], self.joint_limits[:, 1]
        q = self.data.qpos[p.arm_qpos].copy() if q_init is None else \
            self._check_vector(q_init, len(lo), 'IK initial joints')
        q = np.clip(q, lo, hi)
        d.qpos[:] = self.data.qpos
        n_task = 3 if tmat is None else 6
        damp = cfg.ik_damping ** 2 * np.eye(n_task)
        pos_err = rot_err = np.inf
        it = 0
        for it in range(cfg.ik_max_iters + 1):
            d.qpos[p.arm_qpos] = q
            mujoco.mj_kinematics(m, d)
            ep = tpos - d.site_xpos[p.ee_site]
            pos_err = float(np.linalg.norm(ep))
            if tmat is None:
                er, rot_err = None, 0.0
            else:
                er = rotation_error(tmat, d.site_xmat[p.ee_site].reshape(3, 3))
                rot_err = float(np.linalg.norm(er))
            if (pos_err <= cfg.ik_pos_tolerance and rot_err <= cfg.ik_rot_tolerance) or \
                    it == cfg.ik_max_iters:
                break
            mujoco.mj_comPos(m, d)
            mujoco.mj_jacSite(m, d, self._jacp, self._jacr, p.ee_site)
            if er is None:
                jac, err = self._jacp[:, p.arm_dof], ep
            else:
                jac = np.vstack([self._jacp[:, p.arm_dof],
                                 _ROT_WEIGHT * self._jacr[:, p.arm_dof]])
                err = np.concatenate([ep, _ROT_WEIGHT * er])
            jjt = jac @ jac.T + damp
            dq = jac.T @ np.linalg.solve(jjt, err)
            # Drift towards the home posture in the null space, away from the joint limits.
            null = np.eye(len(q)) - jac.T @ np.linalg.solve(jjt, jac)
            dq += null @ (0.05 * (self._home - q))
            biggest = np.max(np.abs(dq))
            if biggest > _MAX_IK_STEP:
                dq *= _MAX_IK_STEP / biggest
            q = np.clip(q + dq, lo, hi)
        success = pos_err <= cfg.ik_pos_tolerance and rot_err <= cfg.ik_rot_tolerance
        return IKResult(q=q, success=bool(success), pos_err=pos_err, rot_err=rot_err,
                        iterations=it)

    # ------------------------------------------------------------------ stepping
    def clamp_to_workspace(self, pos):
        """Return (pos clipped to the workspace box, whether it was clipped)."""
        pos = np.asarray(pos, dtype=np.float64)
        out = np.clip(pos, self.config.workspace_low, self.config.workspace_high)
        return out, bool(np.any(out != pos))

    def step(self, action, render=True):
        """
        Apply one 7-D end-effector action for one control period and return the observation.

        Each component is clamped to ``max_step_translation`` / ``max_step_rotation`` / [-1, 1],
        the target position to the workspace box and the gripper to [0, 1]; a non-finite or
        wrongly sized action raises ValueError and nothing moves. ``last_step_info`` records
        what was clamped and the IK result.
        """
        a = self._check_vector(action, 7, 'action')
        cfg = self.config
        clamped = []
        da = np.concatenate([
            np.clip(a[:3], -cfg.max_step_translation, cfg.max_step_translation),
            np.clip(a[3:6], -cfg.max_step_rotation, cfg.max_step_rotation),
            np.clip(a[6:], -1.0, 1.0)])
        if np.any(da != a):
            clamped.append('action')
        pos, mat = self.ee_pose()
        target, hit_wall = self.clamp_to_workspace(pos + da[:3])
        if hit_wall:
            clamped.append('workspace')
        target_rpy = mat_to_euler(euler_to_mat(da[3:6]) @ mat)   # as apply_action
        gripper = float(np.clip(self._gripper + da[6], 0.0, 1.0))
        result = self.ik(target, target_rpy)
        if not (result.success and self._follows_step(pos, target, result.q)):
            # Out of reach (the box has corners the arm cannot reach with this orientation), or
            # so near a singularity that the speed-limited joints would leave the straight path:
            # either way the arm would move where nothing commanded (it sank 23 cm at the far
            # edge). Take the longest part of the step that the arm can follow instead.
            clamped.append('unreachable' if not result.success else 'detour')
            result, target, target_rpy = self._followable_part(pos, mat, da, result)
        joint_clamped = self._advance(result.q, gripper)
        if joint_clamped:
            clamped.append('joint_velocity')
        self.last_step_info = {'clamped': clamped, 'ik': result, 'target_pos': target,
                               'target_rpy': target_rpy}
        return self.observe(render)

    def _follows_step(self, pos, target, q):
        """Return True when one period towards joints ``q`` keeps the EE on the pos-target line."""
        q0 = self.joint_targets
        dq_max = self.config.max_joint_velocity * self.config.control_dt
        if np.all(np.abs(q - q0) <= dq_max + 1e-12):
            return True
        reached, _ = self.fk(q0 + np.clip(q - q0, -dq_max, dq_max))
        seg = target - pos
        t = float(np.clip(np.dot(reached - pos, seg) / max(np.dot(seg, seg), 1e-12), 0.0, 1.0))
        return float(np.linalg.norm(reached - (pos + t * seg))) <= _MAX_PATH_DEVIATION

    def _followable_part(self, pos, mat, da, failed):
        """Return (IK result, target pos, target rpy) for the longest followable share of da."""
        for share in _BACKOFF_SHARES:
            target, _ = self.clamp_to_workspace(pos + share * da[:3])
            target_rpy = mat_to_euler(euler_to_mat(share * da[3:6]) @ mat)
            result = self.ik(target, target_rpy)
            if result.success and self._follows_step(pos, target, result.q):
                return result, target, target_rpy
        hold = IKResult(q=self.joint_targets, success=False, pos_err=failed.pos_err,
                        rot_err=failed.rot_err, iterations=failed.iterations)
        return hold, pos, mat_to_euler(mat)

    def limit_joint_step(self, q_target):
        """
        Return (joints, what was clamped) for one period of tracking ``q_target`` safely.

        The same limits as end-effector steps: joint limits, ``max_joint_velocity``, an
        end-effector motion of at most ``max_step_translation`` per axis, and an end effector
        inside the workspace box. A step that would break the last two is shortened (by halving)
        until it does not, down to holding still.
        """
        q = self._check_vector(q_target, len(self.joint_names), 'joint targets')
        cfg = self.config
        clamped = []
        qc = np.clip(q, self.joint_limits[:, 0], self.joint_limits[:, 1])
        if np.any(qc != q):
            clamped.append('joint_limits')
        q0 = self.joint_targets
        dq_max = cfg.max_joint_velocity * cfg.control_dt
        dq = np.clip(qc - q0, -dq_max, dq_max)
        if np.any(np.abs(qc - q0) > dq_max + 1e-12):
            clamped.append('joint_velocity')
        start, _ = self.fk(q0)
        for share in (1.0,) + _BACKOFF_SHARES:
            end, _ = self.fk(q0 + share * dq)
            fast = np.any(np.abs(end - start) > cfg.max_step_translation + 1e-9)
            outside = not self.in_workspace(end) and not self._moves_inward(start, end)
            if not (fast or outside):
                break
            if share == 1.0:
                clamped += (['ee_speed'] if fast else []) + (['workspace'] if outside else [])
        else:
            share = 0.0
        return q0 + share * dq, clamped

    def _moves_inward(self, start, end):
        """Return True when ``end`` is nearer the workspace box than ``start`` (leaving it)."""
        def gap(p):
            lo, hi = np.asarray(self.config.workspace_low), np.asarray(self.config.workspace_high)
            return float(np.linalg.norm(np.maximum(lo - p, 0) + np.maximum(p - hi, 0)))
        return gap(start) > 0 and gap(end) < gap(start)

    def step_joints(self, q_target, gripper=None, render=True):
        """
        Track arm joint targets for one control period (for joint-space commands).

        Targets are limited as ``limit_joint_step`` says (joint limits, joint velocity,
        end-effector speed and workspace box); ``last_step_info['clamped']`` says which.
        Non-finite targets raise ValueError.
        """
        q, clamped = self.limit_joint_step(q_target)
        g = self._gripper if gripper is None else \
            float(np.clip(self._check_vector(gripper, 1, 'gripper')[0], 0.0, 1.0))
        self._advance(q, g)
        self.last_step_info = {'clamped': clamped}
        return self.observe(render)

    def hold(self, gripper=None, render=True):
        """Advance one control period keeping the joint targets (and the gripper, unless given)."""
        if gripper is not None:
            self._gripper = float(np.clip(self._check_vector(gripper, 1, 'gripper')[0], 0.0, 1.0))
        self._physics(self.n_substeps, None, None)
        self.last_step_info = {'clamped': []}
        return self.observe(render)

    @property
    def joint_targets(self):
        """Joint positions the arm's servos are tracking now."""
        return self.data.ctrl[self.parts.arm_act].copy()

    def _advance(self, q_target, gripper):
        """Ramp the joint targets to ``q_target`` and run one control period of physics."""
        p = self.parts
        q0 = self.data.ctrl[p.arm_act].copy()
        dq_max = self.config.max_joint_velocity * self.config.control_dt
        dq = np.clip(q_target - q0, -dq_max, dq_max)
        limited = bool(np.any(np.abs(q_target - q0) > dq_max + 1e-12))
        self._gripper = float(np.clip(gripper, 0.0, 1.0))
        self._physics(self.n_substeps, q0, dq)
        return limited

    def _physics(self, n_steps, q0, dq):
        m, d, p = self.model, self.data, self.parts
        if len(p.finger_act):
            d.ctrl[p.finger_act] = self._finger_target(self._gripper)
        n_ramp = max(1, int(_RAMP_FRACTION * n_steps))
        comp = np.concatenate([p.arm_dof, p.finger_dof]).astype(int)
        if self.config.gravity_compensation:
            mujoco.mj_forward(m, d)
        for i in range(n_steps):
            if q0 is not None:
                d.ctrl[p.arm_act] = q0 + dq * min(1.0, (i + 1) / n_ramp)
            if self.config.gravity_compensation:
                d.qfrc_applied[comp] = d.qfrc_bias[comp]
            mujoco.mj_step(m, d)
        mujoco.mj_forward(m, d)  # positions of sites/bodies for the new state

    def _measured_closure(self):
        """Return the fingers' measured closure on the command's scale (NaN without fingers)."""
        p = self.parts
        if not len(p.finger_qpos):
            return float('nan')
        lim = p.finger_limits
        span = float(np.sum(lim[:, 1] - lim[:, 0]))
        return float(np.sum(lim[:, 1] - self.data.qpos[p.finger_qpos]) / span)

    def _finger_target(self, gripper):
        lim = self.parts.finger_limits
        return lim[:, 1] - gripper * (lim[:, 1] - lim[:, 0])

    @staticmethod
    def _check_vector(value, size, what):
        try:
            v = np.asarray(value, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise ValueError(f'{what}: expected {size} numbers, got {value!r}') from exc
        if v.size != size:
            raise ValueError(f'{what}: expected {size} numbers, got {v.size}')
        if not np.all(np.isfinite(v)):
            raise ValueError(f'{what}: non-finite value in {v.tolist()}')
        return v

    # ------------------------------------------------------------------ rendering
    def _camera_id(self, camera):
        name = self.config.camera if camera is None else camera
        if name not in self.parts.cameras:
            raise ValueError(f'unknown camera {name!r}; cameras: {", ".join(self.camera_names)}')
        return self.parts.cameras[name]

    def _renderer(self, size):
        size = int(self.config.image_size if size is None else size)
        if not 16 <= size <= 1024:
            raise ValueError(f'image size must be in 16..1024, got {size}')
        r = self._renderers.get(size)
        if r is None:
            vis = self.model.vis.global_
            vis.offwidth, vis.offheight = max(vis.offwidth, size), max(vis.offheight, size)
            r = mujoco.Renderer(self.model, size, size)
            # Cheap, deterministic pictures: no shadows, reflections or skybox.
            for flag in (mujoco.mjtRndFlag.mjRND_SHADOW, mujoco.mjtRndFlag.mjRND_REFLECTION,
                         mujoco.mjtRndFlag.mjRND_SKYBOX):
                r.scene.flags[flag] = 0
            self._renderers[size] = r
        return r

    def render(self, size=None, camera=None):
        """Return an RGB image (size x size x 3, uint8) of ``camera`` (default: config.camera)."""
        cam = self._camera_id(camera)
        r = self._renderer(size)
        r.update_scene(self.data, camera=cam)
        return r.render()

    def camera_intrinsics(self, camera=None, size=None):
        """Return pinhole (fx, fy, cx, cy) in pixels of a rendered image (from the camera fovy)."""
        cam = self._camera_id(camera)
        size = int(self.config.image_size if size is None else size)
        f = 0.5 * size / np.tan(np.deg2rad(self.model.cam_fovy[cam]) / 2.0)
        return float(f), float(f), size / 2.0, size / 2.0

    def camera_pose(self, camera=None):
        """
        Return (position, rotation matrix) of a camera in the base frame (MuJoCo: looks -z).

        The pose includes the camera jitter of the current variation.
        """
        cam = self._camera_id(camera)
        return self._world_to_base(self.data.cam_xpos[cam], self.data.cam_xmat[cam].reshape(3, 3))

    def close(self):
        """Free the OpenGL contexts (call it; garbage collection at exit may be too late)."""
        for r in self._renderers.values():
            r.close()
        self._renderers.clear()

    def __enter__(self):
        """Use as a context manager that closes the renderers."""
        return self

    def __exit__(self, *exc):
        """Close the renderers."""
        self.close()
