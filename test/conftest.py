# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Test-wide settings: isolated DDS traffic, headless rendering, single-threaded torch."""

import os
from pathlib import Path

import pytest

# Each test run gets its own ROS domain so parallel runs on one host cannot see each other, and
# DDS discovery stays on this host. Set before any test imports rclpy.
os.environ.setdefault('ROS_DOMAIN_ID', str(1 + os.getpid() % 100))
os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
os.environ.setdefault('MUJOCO_GL', 'egl')
os.environ.setdefault('PYOPENGL_PLATFORM', os.environ['MUJOCO_GL'])
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FIXTURE_DIR = PROJECT_ROOT.parent / 'shared' / 'fixtures' / 'vjepa2_tiny'


@pytest.fixture(scope='session')
def project_root():
    """Root of the jepa_ros checkout."""
    return PROJECT_ROOT


@pytest.fixture(scope='session')
def vjepa2_tiny_dir():
    """Folder of the official-model parity fixture; skips cleanly when it is absent."""
    if not (FIXTURE_DIR / 'checkpoint.pt').is_file():
        pytest.skip(f'parity fixture not found at {FIXTURE_DIR} (../shared/fixtures/vjepa2_tiny)')
    return FIXTURE_DIR


@pytest.fixture(scope='session')
def tiny_models():
    """Return a seeded random tiny encoder and AC predictor (eval mode) for planner tests."""
    import torch
    from jepa_ros.models import ACPredictor, encoder_preset, predictor_preset, VJEPA2Encoder
    torch.manual_seed(0)
    enc = VJEPA2Encoder(encoder_preset('tiny')).eval()
    pred = ACPredictor(predictor_preset('tiny', encoder_dim=enc.config.embed_dim)).eval()
    return enc, pred
