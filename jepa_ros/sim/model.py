# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Load the MuJoCo model and find the parts the simulator drives.

A custom MJCF model (``SimConfig.mjcf_path``) must contain, under the names set in SimConfig:

- ``base_body``: the arm base body; poses are reported in its frame (x forward, y left, z up).
- ``ee_site``: a site at the tool centre point; its frame is the end-effector frame.
- ``arm_joints``: hinge or slide joints, each driven by a *position* actuator (MJCF
  ``<position>``, i.e. gain kp and bias -kp) whose control is the joint target.
- ``camera`` (and ``side_camera`` unless empty): fixed cameras used for rendering.
- optional ``finger_joints`` (slide or hinge, each with a position actuator; 0 = open end of
  the range is the joint's upper limit) and ``cube_body`` (a body with a free joint).

Anything missing or of the wrong kind raises :class:`ModelError` with the names the model has.
"""

import importlib.util
import os
from pathlib import Path

from jepa_ros.utils.errors import UserError
import mujoco
from mujoco import mjtBias, mjtGeom, mjtJoint, mjtObj, mjtTrn
import numpy as np

ASSET_DIR = Path(__file__).resolve().parent / 'assets'
EMBEDDED_SCENE = ASSET_DIR / 'panda_scene.xml'
_MESH_SUBDIR = Path('envs/assets/kitchen_franka/franka_assets/meshes/collision')


class ModelError(UserError, ValueError):
    """The MJCF model lacks something the simulator needs; the message says what."""


def panda_mesh_dir():
    """
    Return the folder of the low-poly Panda meshes shipped by gymnasium-robotics.

    Only the package location is looked up; none of its Python code is imported.
    """
    override = os.environ.get('JEPA_ROS_PANDA_MESH_DIR')
    if override:
        candidates = [Path(override)]
    else:
        spec = importlib.util.find_spec('gymnasium_robotics')
        locations = list(spec.submodule_search_locations or []) if spec else []
        candidates = [Path(loc) / _MESH_SUBDIR for loc in locations]
    for folder in candidates:
        if (folder / 'link0.stl').is_file():
            return folder
    raise ModelError(
        'the embedded Panda scene needs the meshes of gymnasium-robotics (Apache-2.0): install it '
        'with `pip install --no-deps gymnasium-robotics` (see requirements-nodeps.txt), or point '
        'JEPA_ROS_PANDA_MESH_DIR at a folder holding link0.stl .. link7.stl, hand.stl, finger.stl')


def load_model(mjcf_path=None):
    """Compile the embedded scene (``mjcf_path=None``) or a user's MJCF file."""
    if mjcf_path is None:
        spec = mujoco.MjSpec.from_file(str(EMBEDDED_SCENE))
        spec.meshdir = str(panda_mesh_dir())
        return spec.compile()
    path = Path(mjcf_path).expanduser()
    if not path.is_file():
        raise ModelError(f'MJCF file not found: {path} (SimConfig.mjcf_path)')
    try:
        return mujoco.MjModel.from_xml_path(str(path))
    except ValueError as exc:
        raise ModelError(f'cannot load MJCF {path}: {exc}') from exc


def _names(model, objtype, count):
    return [mujoco.mj_id2name(model, objtype, i) for i in range(count)]


def _require(model, objtype, name, what, field, count):
    idx = mujoco.mj_name2id(model, objtype, name)
    if idx < 0:
        known = ', '.join(n for n in _names(model, objtype, count) if n) or 'none'
        raise ModelError(f'the model has no {what} named {name!r} (SimConfig.{field}); '
                         f'its {what}s are: {known}')
    return idx


def _position_actuator(model, joint_id, joint_name, field):
    """Return the id of the position actuator driving ``joint_id``."""
    for a in range(model.nu):
        if int(model.actuator_trntype[a]) == int(mjtTrn.mjTRN_JOINT) and \
                model.actuator_trnid[a, 0] == joint_id:
            gain, bias = model.actuator_gainprm[a], model.actuator_biasprm[a]
            is_servo = (int(model.actuator_biastype[a]) == int(mjtBias.mjBIAS_AFFINE) and
                        gain[0] > 0 and np.isclose(bias[1], -gain[0]) and bias[0] == 0)
            if not is_servo:
                name = mujoco.mj_id2name(model, mjtObj.mjOBJ_ACTUATOR, a)
                raise ModelError(f'actuator {name!r} on joint {joint_name!r} ({field}) must be a '
                                 'position servo (MJCF <position kp=...>)')
            return a
    raise ModelError(f'joint {joint_name!r} ({field}) has no actuator; add '
                     f'<position joint="{joint_name}" kp="..."/> to the model')


class ModelParts:
    """Ids and index arrays of the bodies, joints, actuators, site and cameras in use."""

    def __init__(self, model, cfg):
        """Resolve every name of ``cfg`` in ``model``; raise ModelError when one is missing."""
        m = model
        self.base_body = _require(m, mjtObj.mjOBJ_BODY, cfg.base_body, 'body',
                                  'base_body', m.nbody)
        self.ee_site = _require(m, mjtObj.mjOBJ_SITE, cfg.ee_site, 'site', 'ee_site',
                                m.nsite)
        self.cameras = {}
        for name, field in ((cfg.camera, 'camera'), (cfg.side_camera, 'side_camera')):
            if name:
                self.cameras[name] = _require(m, mjtObj.mjOBJ_CAMERA, name, 'camera', field,
                                              m.ncam)
        for i in range(m.ncam):  # any other camera of the model is usable too
            self.cameras.setdefault(mujoco.mj_id2name(m, mjtObj.mjOBJ_CAMERA, i) or
                                    f'camera{i}', i)
        self.arm_joints = self._joints(m, cfg.arm_joints, 'arm_joints')
        self.finger_joints = self._joints(m, cfg.finger_joints, 'finger_joints')
        self.arm_qpos = m.jnt_qposadr[self.arm_joints]
        self.arm_dof = m.jnt_dofadr[self.arm_joints]
        self.finger_qpos = m.jnt_qposadr[self.finger_joints]
        self.finger_dof = m.jnt_dofadr[self.finger_joints]
        self.arm_act = np.array([_position_actuator(m, j, n, 'arm_joints')
                                 for j, n in zip(self.arm_joints, cfg.arm_joints)], dtype=int)
        self.finger_act = np.array([_position_actuator(m, j, n, 'finger_joints')
                                    for j, n in zip(self.finger_joints, cfg.finger_joints)],
                                   dtype=int)
        self.joint_limits = np.array([m.jnt_range[j] if m.jnt_limited[j] else (-np.pi, np.pi)
                                      for j in self.arm_joints], dtype=np.float64).reshape(-1, 2)
        self.finger_limits = np.array([m.jnt_range[j] for j in self.finger_joints],
                                      dtype=np.float64).reshape(-1, 2)
        self.cube_body = -1
        self.cube_qpos = self.cube_dof = -1
        if cfg.cube_body:
            self.cube_body = _require(m, mjtObj.mjOBJ_BODY, cfg.cube_body, 'body',
                                      'cube_body', m.nbody)
            jnt = m.body_jntadr[self.cube_body]
            if m.body_jntnum[self.cube_body] != 1 or \
                    int(m.jnt_type[jnt]) != int(mjtJoint.mjJNT_FREE):
                raise ModelError(f'body {cfg.cube_body!r} (SimConfig.cube_body) needs exactly one '
                                 'free joint (<freejoint/>); set cube_body to "" if there is none')
            self.cube_qpos = m.jnt_qposadr[jnt]
            self.cube_dof = m.jnt_dofadr[jnt]
        # Half height of the cube's first box geom (rest height on the table), if any.
        self.cube_half = 0.025
        if self.cube_body >= 0:
            for g in range(m.ngeom):
                if m.geom_bodyid[g] == self.cube_body and \
                        int(m.geom_type[g]) == int(mjtGeom.mjGEOM_BOX):
                    self.cube_half = float(m.geom_size[g, 2])
                    break

    @staticmethod
    def _joints(m, names, field):
        ids = []
        for name in names:
            j = _require(m, mjtObj.mjOBJ_JOINT, name, 'joint', field, m.njnt)
            if int(m.jnt_type[j]) not in (int(mjtJoint.mjJNT_HINGE), int(mjtJoint.mjJNT_SLIDE)):
                raise ModelError(f'joint {name!r} ({field}) must be a hinge or slide joint')
            ids.append(j)
        return np.array(ids, dtype=int)
