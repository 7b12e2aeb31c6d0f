# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Embedded MuJoCo arm (Franka Panda, table, cube, fixed cameras), free of ROS.

``SimConfig`` imports without MuJoCo; ``SimArm``, ``Observation`` and ``IKResult`` load it on
first use. Rendering is headless: MUJOCO_GL defaults to EGL, or OSMesa when EGL is missing.
"""

import ctypes.util
import os

from jepa_ros.sim.config import SimConfig


def _default_gl_backend():
    """Pick a headless OpenGL backend unless the user chose one (must run before mujoco)."""
    if 'MUJOCO_GL' not in os.environ:
        has_egl = ctypes.util.find_library('EGL') is not None
        has_osmesa = ctypes.util.find_library('OSMesa') is not None
        os.environ['MUJOCO_GL'] = 'egl' if has_egl or not has_osmesa else 'osmesa'
    os.environ.setdefault('PYOPENGL_PLATFORM', os.environ['MUJOCO_GL'])


_default_gl_backend()

__all__ = ['IKResult', 'Observation', 'SimArm', 'SimConfig']


def __getattr__(name):
    if name in ('IKResult', 'Observation', 'SimArm'):
        from jepa_ros.sim import arm
        return getattr(arm, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
