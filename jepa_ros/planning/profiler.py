# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Wall-clock sections (encode / predictor / energy / sampling) for the planner's profile."""

import contextlib
import time

import torch


class Profiler:
    """
    Accumulate milliseconds per named section.

    With ``sync=True`` CUDA is synchronised around each section so GPU time lands in the right
    section (slower; off by default so timing never stalls the pipeline).
    """

    def __init__(self, sync: bool = False):
        self.sync = sync
        self.ms = {}

    def reset(self):
        """Forget the recorded sections."""
        self.ms = {}

    @contextlib.contextmanager
    def section(self, name: str, device=None):
        """Time the enclosed block under ``name``."""
        cuda = self.sync and device is not None and torch.device(device).type == 'cuda'
        if cuda:
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        try:
            yield
        finally:
            if cuda:
                torch.cuda.synchronize(device)
            self.ms[name] = self.ms.get(name, 0.0) + 1e3 * (time.perf_counter() - t0)
