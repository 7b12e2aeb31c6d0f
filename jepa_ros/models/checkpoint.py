# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
jepa_ros model checkpoints: ``model.safetensors`` plus ``config.json`` in one directory.

No pickle: weights are safetensors, the architecture and ``extra`` (e.g. action/state
normalisation, training metadata) are JSON. A bare name resolves to
``jepa_ros/assets/models/<name>/``.
"""

import json
import math
import os
from pathlib import Path

from jepa_ros.models.config import CheckpointError, EncoderConfig, PredictorConfig
from jepa_ros.models.encoder import VJEPA2Encoder
from jepa_ros.models.official import load_strict
from jepa_ros.models.predictor import ACPredictor
from jepa_ros.utils.config import ConfigError, from_dict, to_dict
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
import torch

FORMAT = 'jepa_ros.models'
VERSION = 1
WEIGHTS = 'model.safetensors'
CONFIG = 'config.json'
ASSETS_DIR = Path(__file__).resolve().parent.parent / 'assets' / 'models'


def _jsonable(value, where='extra'):
    """Return ``value`` as plain JSON data (tensors and arrays become lists)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().tolist()
    if hasattr(value, 'tolist') and type(value).__module__.startswith('numpy'):
        return value.tolist()
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise CheckpointError(f'{where}: keys must be strings, got {k!r}')
            out[k] = _jsonable(v, f'{where}.{k}')
        return out
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, f'{where}[{i}]') for i, v in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        raise CheckpointError(f'{where}: {value} cannot be stored in JSON')
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise CheckpointError(f'{where}: cannot store a {type(value).__name__} in JSON; '
                          'use numbers, strings, lists, dicts, tensors or arrays')


def resolve_model_dir(name_or_dir) -> Path:
    """Return the checkpoint directory for a path or a name under jepa_ros/assets/models/."""
    path = Path(os.fspath(name_or_dir)).expanduser()
    if path.is_dir():
        return path
    if path.is_file():
        hint = (f'give its folder {str(path.parent)!r} instead' if path.suffix == '.safetensors'
                else "official V-JEPA 2 .pt checkpoints load through the planner's checkpoint: "
                     'parameter, not here')
        raise CheckpointError(f'model {name_or_dir!r} is a file: a jepa_ros model is a folder '
                              f'with config.json and model.safetensors; {hint}')
    tried = [str(path)]
    if len(path.parts) == 1 and not str(name_or_dir).startswith('.'):
        named = ASSETS_DIR / str(name_or_dir)
        if named.is_dir():
            return named
        tried.append(str(named))
    raise FileNotFoundError(f'model {name_or_dir!r} not found (looked for a directory at '
                            f'{" and ".join(tried)})')


def save_model(directory, encoder=None, predictor=None, extra=None) -> Path:
    """
    Write ``encoder`` and/or ``predictor`` to ``directory`` (created if needed); return it.

    Files are written to temporary names first and renamed, so a crash never leaves a torn
    checkpoint behind under the final names.
    """
    if encoder is None and predictor is None:
        raise ValueError('save_model needs an encoder, a predictor or both')
    if encoder is not None and predictor is not None and (
            predictor.config.encoder_dim != encoder.config.embed_dim):
        raise CheckpointError(f'predictor reads width {predictor.config.encoder_dim} but the '
                              f'encoder has width {encoder.config.embed_dim}')
    directory = Path(os.fspath(directory)).expanduser()
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for prefix, module in (('encoder.', encoder), ('predictor.', predictor)):
        if module is not None:
            for k, v in module.state_dict().items():
                tensors[prefix + k] = v.detach().cpu().contiguous().clone()
    meta = {
        'format': FORMAT,
        'version': VERSION,
        'encoder': None if encoder is None else to_dict(encoder.config),
        'predictor': None if predictor is None else to_dict(predictor.config),
        'extra': _jsonable(extra or {}),
    }
    return write_model_files(directory, tensors, meta)


def config_text(meta) -> str:
    """Return a model folder's config.json text (one layout for every writer)."""
    return json.dumps(meta, indent=1, sort_keys=True) + '\n'


def write_model_files(directory: Path, tensors, meta) -> Path:
    """
    Write ``model.safetensors`` and ``config.json`` into ``directory``; return it.

    Both go to temporary names first and are renamed, so a crash never leaves a torn
    checkpoint behind under the final names.
    """
    tmp_w, tmp_c = directory / (WEIGHTS + '.tmp'), directory / (CONFIG + '.tmp')
    save_file(tensors, str(tmp_w), metadata={'format': 'pt', 'jepa_ros': FORMAT})
    tmp_c.write_text(config_text(meta))
    os.replace(tmp_w, directory / WEIGHTS)
    os.replace(tmp_c, directory / CONFIG)
    return directory


def _read_config(path):
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise CheckpointError(f'{path} is not valid JSON (truncated?): {exc}') from exc
    if not isinstance(meta, dict) or meta.get('format') != FORMAT:
        raise CheckpointError(f'{path} is not a jepa_ros model config (no "format": "{FORMAT}")')
    if meta.get('version') != VERSION:
        raise CheckpointError(f'{path}: unsupported version {meta.get("version")!r} '
                              f'(this code reads version {VERSION})')
    return meta


def load_model(name_or_dir, device='cpu'):
    """
    Load a checkpoint written by save_model; return ``(encoder, predictor, extra)``.

    Missing parts are None. Raises FileNotFoundError for a missing directory or file and
    CheckpointError for a truncated file or weights that do not fit the stored architecture.
    """
    directory = resolve_model_dir(name_or_dir)
    cfg_path, w_path = directory / CONFIG, directory / WEIGHTS
    for p in (cfg_path, w_path):
        if not p.is_file():
            raise FileNotFoundError(f'model file missing: {p}')
    meta = _read_config(cfg_path)
    if meta.get('family', 'vjepa2_ac') != 'vjepa2_ac':
        raise CheckpointError(f'{directory} is a {meta.get("family")!r} world model, not a '
                              'V-JEPA 2-AC one: load it with jepa_ros.control.loading.'
                              'load_world_model (or the planner checkpoint: parameter)')
    try:
        tensors = load_file(str(w_path), device='cpu')
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f'cannot read {w_path} (truncated or corrupt?): {exc}') from exc
    parts = {}
    for name, cls, model_cls in (('encoder', EncoderConfig, VJEPA2Encoder),
                                 ('predictor', PredictorConfig, ACPredictor)):
        sd = {k[len(name) + 1:]: v for k, v in tensors.items() if k.startswith(name + '.')}
        if meta.get(name) is None:
            if sd:
                raise CheckpointError(f'{w_path} holds {name} weights but {cfg_path} has no '
                                      f'{name} config')
            parts[name] = None
            continue
        try:
            config = from_dict(cls, meta[name])
        except ConfigError as exc:
            raise CheckpointError(f'{cfg_path}: bad {name} config: {exc}') from exc
        model = model_cls(config)
        load_strict(model, sd, f'{w_path} [{name}]')
        parts[name] = model.to(device).eval()
    stray = [k for k in tensors if not k.startswith(('encoder.', 'predictor.'))]
    if stray:
        raise CheckpointError(f'{w_path}: unexpected tensors {stray[:12]}')
    return parts['encoder'], parts['predictor'], meta.get('extra') or {}
