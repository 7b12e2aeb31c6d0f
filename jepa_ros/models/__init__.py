# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
V-JEPA 2-compatible models: the video encoder, the V-JEPA 2-AC predictor and their checkpoints.

Pure PyTorch (no ROS). Official ``.pt`` checkpoints load with :func:`load_vjepa2`; jepa_ros
checkpoints (safetensors + JSON) with :func:`save_model` / :func:`load_model`.
"""

from jepa_ros.models.checkpoint import load_model, save_model
from jepa_ros.models.config import CheckpointError, encoder_preset, EncoderConfig
from jepa_ros.models.config import predictor_preset, PredictorConfig
from jepa_ros.models.encoder import VJEPA2Encoder
from jepa_ros.models.official import load_vjepa2
from jepa_ros.models.predictor import ACPredictor, PredictorCache
from jepa_ros.models.runtime import autocast, default_device, resolve_precision

__all__ = [
    'ACPredictor', 'CheckpointError', 'EncoderConfig', 'PredictorCache', 'PredictorConfig',
    'VJEPA2Encoder', 'autocast', 'default_device', 'encoder_preset', 'load_model', 'load_vjepa2',
    'predictor_preset', 'resolve_precision', 'save_model',
]
