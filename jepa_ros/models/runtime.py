# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Device and precision helpers: CUDA when available, optional bf16/fp16 autocast, CPU always."""

import contextlib

import torch

PRECISIONS = {'fp32': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}


def default_device() -> str:
    """Return 'cuda' when a GPU is usable, else 'cpu'."""
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def autocast(device, precision='fp32'):
    """
    Return a context that runs the models in ``precision`` ('fp32', 'bf16' or 'fp16').

    fp32 is a no-op context; the others use torch.autocast on the device type of ``device``.
    """
    if precision not in PRECISIONS:
        raise ValueError(f'precision must be one of {", ".join(PRECISIONS)}, got {precision!r}')
    dtype = PRECISIONS[precision]
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=dtype)
