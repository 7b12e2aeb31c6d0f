# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Turn the planner node's model settings into a ready world model, with errors that say what to do.

Resolves ``device: auto``, sets torch's thread count, and loads (in this order of precedence) a
``world_model`` factory, an official V-JEPA 2-AC ``.pt`` checkpoint, or a jepa_ros checkpoint
directory / name (``default`` = the shipped model) of either family: V-JEPA 2-AC
(``VJEPA2WorldModel``) or compact (``CompactWorldModel``, config.json ``"family": "compact"``).
torch is imported only when called, so the caller can set OMP variables first.
"""

import importlib
import json
import os
from pathlib import Path

from jepa_ros.utils.config import ConfigError

DEFAULT_MODEL = 'default'


def resolve_device(device: str) -> str:
    """Return a concrete torch device for auto/cpu/cuda/cuda:N; ConfigError if unusable."""
    import torch
    if device == 'auto':
        return 'cuda' if torch.cuda.is_available() else 'cpu'
    if device.startswith('cuda'):
        if not torch.cuda.is_available():
            raise ConfigError(f'device {device!r} requested but CUDA is not available here '
                              '(torch.cuda.is_available() is False): use device:=cpu or '
                              'device:=auto')
        index = int(device.split(':')[1]) if ':' in device else 0
        if index >= torch.cuda.device_count():
            raise ConfigError(f'device {device!r} requested but only '
                              f'{torch.cuda.device_count()} CUDA device(s) exist')
        return device
    if device == 'cpu':
        return device
    raise ConfigError(f'unknown device {device!r}: use auto, cpu, cuda or cuda:N')


def configure_threads(torch_threads: int, device: str) -> int:
    """
    Set torch's intra-op threads: ``torch_threads``, or 1 on CPU when it is 0; return the count.

    With a simulator on the same few cores, more torch threads spin against it (a 100x slowdown
    was measured); OMP_WAIT_POLICY=PASSIVE must be in the environment before torch loads.
    """
    import torch
    if torch_threads > 0:
        torch.set_num_threads(int(torch_threads))
    elif str(device).startswith('cpu'):
        torch.set_num_threads(1)
    return torch.get_num_threads()


def _import_factory(spec: str):
    module_name, _, func_name = spec.partition(':')
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f'world_model {spec!r}: cannot import {module_name!r}: {exc}') from exc
    factory = getattr(module, func_name, None)
    if not callable(factory):
        raise ConfigError(f'world_model {spec!r}: {module_name} has no function {func_name!r}')
    return factory


def _require_parts(encoder, predictor, where):
    if encoder is None:
        raise ConfigError(f'{where} holds no encoder: planning needs an encoder and an '
                          'action-conditioned predictor')
    if predictor is None:
        raise ConfigError(f'{where} holds no action-conditioned predictor (e.g. only a '
                          'pretrained encoder): train one with `jepa-ros train-ac` or use a '
                          'V-JEPA 2-AC checkpoint')


def checkpoint_family(checkpoint) -> str:
    """Return 'compact' or 'vjepa2_ac' for a model folder or name, '' when it is not one."""
    from jepa_ros.models.compact_checkpoint import model_family
    if not checkpoint:
        return ''
    if str(checkpoint).endswith('.pt'):
        return 'vjepa2_ac'
    try:
        return model_family(os.path.expanduser(str(checkpoint)))
    except (OSError, ValueError):
        return ''


def load_world_model(cfg, device: str):
    """
    Return ``(world_model, description)`` for an MPCNodeConfig on a resolved ``device``.

    Raises ConfigError for anything the user must fix (missing file, no predictor, bad shapes).
    """
    if cfg.world_model:
        factory = _import_factory(cfg.world_model)
        try:
            wm = factory(cfg, device)
        except Exception as exc:  # any failure of user code: one clear line
            raise ConfigError(f'world_model {cfg.world_model!r} failed: '
                              f'{type(exc).__name__}: {exc}') from exc
        for attr in ('encode', 'start', 'rollout'):
            if not callable(getattr(wm, attr, None)):
                raise ConfigError(f'world_model {cfg.world_model!r} returned a '
                                  f'{type(wm).__name__} without {attr}()')
        return wm, f'world model from {cfg.world_model}'
    from jepa_ros.models import CheckpointError, load_model, load_vjepa2, resolve_precision
    from jepa_ros.models.checkpoint import ASSETS_DIR
    from jepa_ros.planning import VJEPA2WorldModel
    ckpt = os.path.expanduser(cfg.checkpoint)
    family = checkpoint_family(ckpt)
    dtype = resolve_precision(cfg.dtype, device, family)
    if dtype == 'int8' and family == 'vjepa2_ac':
        raise ConfigError(f"dtype 'int8' is for compact models; {ckpt!r} is a V-JEPA 2-AC "
                          "model: use dtype 'fp32' or 'bf16'")
    try:
        if ckpt.endswith('.pt'):
            if not os.path.isfile(ckpt):
                raise ConfigError(f'checkpoint {ckpt!r} does not exist: give the path of an '
                                  'official V-JEPA 2-AC .pt file (e.g. vitg-384.pt)')
            encoder, predictor = load_vjepa2(ckpt, img_size=cfg.official_img_size,
                                             device=device)
            _require_parts(encoder, predictor, ckpt)
            wm = VJEPA2WorldModel(encoder, predictor, device=device, dtype=dtype,
                                  normalization=None, image_size=cfg.official_img_size)
            return wm, f'official V-JEPA 2-AC checkpoint {ckpt}'
        if ckpt == DEFAULT_MODEL and not (ASSETS_DIR / DEFAULT_MODEL).is_dir() \
                and not Path(ckpt).is_dir():
            raise ConfigError(
                f'checkpoint "default": no shipped model at {ASSETS_DIR / DEFAULT_MODEL}. Train '
                'one with scripts/train_default.sh and copy its final model folder there, or '
                'pass checkpoint:=/path/to/model_dir (jepa_ros safetensors) or '
                'checkpoint:=/path/to/official.pt')
        if not Path(ckpt).is_dir() and not (ASSETS_DIR / ckpt).is_dir():
            raise ConfigError(f'checkpoint {ckpt!r} not found: give a jepa_ros model directory '
                              f'(config.json + model.safetensors), a model name under '
                              f'{ASSETS_DIR}, or an official V-JEPA 2-AC .pt file')
        from jepa_ros.models.compact_checkpoint import model_family
        if model_family(ckpt) == 'compact':
            from jepa_ros.planning.compact_world_model import CompactWorldModel
            wm = CompactWorldModel.from_checkpoint(ckpt, device=device, dtype=dtype)
            return wm, f'jepa_ros compact model {ckpt}'
        encoder, predictor, extra = load_model(ckpt, device=device)
        _require_parts(encoder, predictor, ckpt)
        size = int(extra.get('image_size') or encoder.config.img_size)
        wm = VJEPA2WorldModel(encoder, predictor, device=device, dtype=dtype,
                              normalization=extra.get('normalization'), image_size=size)
        return wm, f'jepa_ros model {ckpt}'
    except (CheckpointError, FileNotFoundError) as exc:
        raise ConfigError(f'cannot load checkpoint {ckpt!r}: {exc}') from exc
    except ValueError as exc:  # e.g. bad normalization in the checkpoint
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f'checkpoint {ckpt!r} is unusable: {exc}') from exc


def model_cameras(cfg, world_model=None) -> tuple:
    """
    Return the camera names of the model's views, in view order, or () when unknown.

    From the world model's ``cameras`` attribute if it has one, else from a jepa_ros
    checkpoint's config.json ``extra['cameras']`` (written by multi-camera training).
    """
    names = getattr(world_model, 'cameras', None)
    if names:
        return tuple(str(n) for n in names)
    if cfg.world_model or cfg.checkpoint.endswith('.pt'):
        return ()
    from jepa_ros.models.checkpoint import CONFIG, resolve_model_dir
    try:
        meta = json.loads((resolve_model_dir(cfg.checkpoint) / CONFIG).read_text())
    except (OSError, ValueError):
        return ()
    names = (meta.get('extra') or {}).get('cameras') if isinstance(meta, dict) else None
    return tuple(str(n) for n in names) if isinstance(names, (list, tuple)) else ()


def model_image_size(world_model, fallback: int = 64) -> int:
    """Return the square input size the model expects (frames are resized to it)."""
    size = getattr(world_model, 'image_size', None)
    return int(size) if size else int(fallback)
