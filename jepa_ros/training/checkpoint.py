# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Resumable training state: atomic checkpoints holding models, optimiser, step and every RNG.

A run killed at any moment resumes from the last complete checkpoint and replays the same
schedule: the step counter drives the LR and EMA schedules, and the torch, numpy and Python RNG
states (plus the data sampler's Generator) continue where they were saved.
"""

import io
from pathlib import Path
import random
from typing import Any, Dict, Optional

from jepa_ros.data.episode import atomic_write_bytes
import numpy as np
import torch

CHECKPOINT_NAME = 'checkpoint.pt'


def capture_rng(sampler_rng: Optional[np.random.Generator] = None) -> Dict[str, Any]:
    """Return the state of every random generator a training step touches."""
    state = {'torch': torch.get_rng_state(), 'numpy': np.random.get_state(),
             'python': random.getstate()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    if sampler_rng is not None:
        state['sampler'] = sampler_rng.bit_generator.state
    return state


def restore_rng(state: Dict[str, Any], sampler_rng: Optional[np.random.Generator] = None):
    """Restore what ``capture_rng`` saved (the sampler state into ``sampler_rng`` in place)."""
    torch.set_rng_state(state['torch'])
    np.random.set_state(state['numpy'])
    random.setstate(state['python'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])
    if sampler_rng is not None and 'sampler' in state:
        sampler_rng.bit_generator.state = state['sampler']


def save_checkpoint(path, state: Dict[str, Any]) -> Path:
    """Write ``state`` with torch.save to a temp file, fsync, then rename over ``path``."""
    buf = io.BytesIO()
    torch.save(state, buf)
    data = buf.getvalue()
    return atomic_write_bytes(path, lambda fh: fh.write(data))


def load_checkpoint(path, map_location='cpu') -> Optional[Dict[str, Any]]:
    """Load a checkpoint written by ``save_checkpoint``; return None when there is none."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.is_file():
        return None
    # Our own file: it holds numpy RNG state and config dicts, so full unpickling is needed.
    return torch.load(path, map_location=map_location, weights_only=False)
