# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Device and precision helpers: CUDA when available, optional bf16/fp16 autocast, CPU always."""

import contextlib

import torch

PRECISIONS = {'fp32': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}
# what a planning world model may run in: the autocast precisions, and int8 (compact models on
# a CPU: CompactWorldModel quantises its predictor's matrix products, no autocast)
PLANNING_PRECISIONS = tuple(PRECISIONS) + ('int8',)


def default_device() -> str:
    """Return 'cuda' when a GPU is usable, else 'cpu'."""
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def cpu_has_fast_bf16(cpuinfo_path='/proc/cpuinfo') -> bool:
    """Return True when the CPU has native bf16 matrix instructions (AMX or AVX512-BF16)."""
    try:
        with open(cpuinfo_path) as fh:
            flags = set()
            for line in fh:
                if line.startswith('flags'):
                    flags.update(line.split(':', 1)[1].split())
                    break
    except OSError:
        return False
    return bool(flags & {'amx_bf16', 'avx512_bf16'})


def resolve_precision(precision: str, device: str, family: str = '') -> str:
    """
    Resolve 'auto' to a precision: int8 for compact models on a CPU, fp32 everywhere else.

    Compact models (``family`` 'compact') plan on a CPU with their predictor's matrix products
    in int8 (CompactWorldModel): 0.66x the plan time of fp32 with the same closed-loop success
    on the tuning and the held-out seeds (README "Compact world models"), and the returned
    plan's energy is still the float32 model's.
    bf16 is faster where the hardware has it (``cpu_has_fast_bf16``, CUDA), but it costs plan
    quality: on the tiny V-JEPA 2 fixture its rounding puts an energy floor of 5e-3..7e-3
    under every candidate, with candidate-dependent noise as large as the spread of the fp32
    energies near the optimum (rank correlation with fp32 0.33-0.40), so the choice between
    good candidates becomes noise (benchmarks/bench_time_to_quality.py, section bf16_rank).
    Ask for 'bf16' explicitly, preferably with
    ``PlannerConfig.final_choice='best'`` (float32 decides between the bf16 proposals).
    """
    if precision != 'auto':
        if precision not in PLANNING_PRECISIONS:
            raise ValueError(f'precision must be auto or one of '
                             f'{", ".join(PLANNING_PRECISIONS)}, got {precision!r}')
        return precision
    if family == 'compact' and torch.device(device).type == 'cpu':
        return 'int8'
    return 'fp32'


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
