# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Self-supervised training: V-JEPA pretraining and V-JEPA 2-AC predictor training.

Pure PyTorch; no ROS imports. ``pretrain``, ``train_ac`` and ``evaluate`` are ``jepa-ros``
subcommands (``pretrain``, ``train-ac``, ``eval-model``); both trainers run under ``torchrun``
with DistributedDataParallel and resume from their last checkpoint.
"""

from jepa_ros.training.ema import ema_momentum, ema_update, lr_at
from jepa_ros.training.losses import (ac_losses, collapse_diagnostics, jepa_loss,
                                      layer_norm_tokens, masked_variance_hinge, variance_hinge)
from jepa_ros.training.masking import MaskConfig, sample_batch_masks, sample_mask
from jepa_ros.training.normalization import (check_normalization, compute_normalization,
                                             denormalize, normalize)

__all__ = [
    'MaskConfig', 'ac_losses', 'check_normalization', 'collapse_diagnostics',
    'compute_normalization', 'denormalize', 'ema_momentum', 'ema_update', 'jepa_loss',
    'layer_norm_tokens', 'lr_at', 'masked_variance_hinge', 'normalize', 'sample_batch_masks',
    'sample_mask',
    'variance_hinge',
]
