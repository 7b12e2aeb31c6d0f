# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Resumable training state: atomic checkpoints holding models, optimiser, step and every RNG.

A run killed at any moment resumes from the last complete checkpoint and replays the same
schedule: the step counter drives the LR and EMA schedules, and the torch, numpy and Python RNG
states (plus the data sampler's Generator) continue where they were saved.

A checkpoint in an output folder is untrusted input (anyone who can write there could plant
one), so it is read with ``torch.load(weights_only=True)``: tensors, numbers, strings and
containers only, never code. Everything saved here is kept to those types (the numpy RNG keys go
in as a tensor); checkpoints of earlier versions, which held the keys as a numpy array, still load
because numpy's plain array reconstruction is allowed as well.
"""

import io
from pathlib import Path
import pickle
import random
from typing import Any, Dict, Optional

from jepa_ros.data.episode import atomic_write_bytes
from jepa_ros.models.config import CheckpointError
import numpy as np
import torch

CHECKPOINT_NAME = 'checkpoint.pt'


def capture_rng(sampler_rng: Optional[np.random.Generator] = None) -> Dict[str, Any]:
    """Return the state of every random generator a training step touches."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {'torch': torch.get_rng_state(),
             'numpy': (name, torch.from_numpy(np.asarray(keys, dtype=np.int64)), int(pos),
                       int(has_gauss), float(cached)),
             'python': random.getstate()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    if sampler_rng is not None:
        state['sampler'] = sampler_rng.bit_generator.state
    return state


def restore_rng(state: Dict[str, Any], sampler_rng: Optional[np.random.Generator] = None):
    """Restore what ``capture_rng`` saved (the sampler state into ``sampler_rng`` in place)."""
    torch.set_rng_state(state['torch'])
    name, keys, pos, has_gauss, cached = state['numpy']
    keys = keys.numpy() if isinstance(keys, torch.Tensor) else np.asarray(keys)
    np.random.set_state((name, keys.astype(np.uint32), pos, has_gauss, cached))
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


def _numpy_array_globals():
    """Return the numpy globals that rebuild a plain array (older checkpoints hold one)."""
    core = getattr(np, '_core', None) or np.core
    return [np.ndarray, np.dtype, core.multiarray._reconstruct,
            type(np.dtype(np.uint32))]


def load_checkpoint(path, map_location='cpu', kind: Optional[str] = None
                    ) -> Optional[Dict[str, Any]]:
    """
    Load a checkpoint written by ``save_checkpoint``; return None when there is none.

    Never runs code from the file (``weights_only=True``). A file that needs anything else to
    unpickle, a truncated one, or one of another ``kind`` (e.g. a pretrain checkpoint in a
    train-ac folder) raises CheckpointError saying what to do.
    """
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.is_file():
        return None
    fix = (f'delete {path} or start afresh with --no-resume (a new run then overwrites it)')
    try:
        with torch.serialization.safe_globals(_numpy_array_globals()):
            state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        try:
            found = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
        except Exception:  # noqa: B902 - only for the message
            found = []
        if not found:  # no foreign globals: not a pickle at all, or a damaged one
            raise CheckpointError(f'cannot read {path} (truncated or corrupt: {exc}); '
                                  f'{fix}') from exc
        raise CheckpointError(
            f'refusing to load {path}: it is not a plain jepa_ros training checkpoint and '
            f'would need arbitrary Python objects to unpickle (it references '
            f'{", ".join(found[:5])}), which could run code; {fix}') from exc
    except Exception as exc:  # noqa: B902 - zip/EOF/OS errors of a damaged file
        raise CheckpointError(f'cannot read {path} (truncated or corrupt: {type(exc).__name__}: '
                              f'{exc}); {fix}') from exc
    if not isinstance(state, dict) or 'step' not in state:
        raise CheckpointError(f'{path} is not a jepa_ros training checkpoint (no step); {fix}')
    if kind is not None and state.get('kind') != kind:
        raise CheckpointError(f'{path} holds a {state.get("kind")!r} checkpoint, not {kind!r} '
                              f'(another trainer wrote into this folder?); use another --out '
                              f'or {fix}')
    return state
