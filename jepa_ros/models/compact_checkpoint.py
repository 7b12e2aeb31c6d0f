# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Save / load compact world models: the same folder format as the V-JEPA 2-AC family.

``config.json`` says ``"family": "compact"`` and holds the CompactConfig under ``"compact"``;
``model.safetensors`` the weights (encoder.*, predictor.*). No pickle. Each family's loader
refuses the other's folders with a message that names the right one.
"""

import os
from pathlib import Path

from jepa_ros.models.checkpoint import (_jsonable, _read_config, CONFIG, FORMAT,
                                        resolve_model_dir, VERSION, WEIGHTS, write_model_files)
from jepa_ros.models.compact import CompactConfig, CompactWorldModelNet, FAMILY
from jepa_ros.models.config import CheckpointError
from jepa_ros.models.official import load_strict
from jepa_ros.utils.config import ConfigError, from_dict, to_dict
from safetensors import SafetensorError
from safetensors.torch import load_file


def model_family(name_or_dir) -> str:
    """Return the family of a model folder: 'compact' or 'vjepa2_ac' (CheckpointError if bad)."""
    directory = resolve_model_dir(name_or_dir)
    path = directory / CONFIG
    if not path.is_file():
        raise FileNotFoundError(f'model file missing: {path}')
    return str(_read_config(path).get('family') or 'vjepa2_ac')


def save_compact(directory, net: CompactWorldModelNet, extra=None) -> Path:
    """Write ``net`` to ``directory`` atomically (temporary names, then renames); return it."""
    directory = Path(os.fspath(directory)).expanduser()
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in net.state_dict().items()}
    meta = {'format': FORMAT, 'version': VERSION, 'family': FAMILY,
            'compact': to_dict(net.config), 'encoder': None, 'predictor': None,
            'extra': _jsonable(extra or {})}
    return write_model_files(directory, tensors, meta)


def load_compact(name_or_dir, device='cpu'):
    """Return ``(CompactWorldModelNet, extra)``; CheckpointError says what is wrong."""
    directory = resolve_model_dir(name_or_dir)
    cfg_path, w_path = directory / CONFIG, directory / WEIGHTS
    for p in (cfg_path, w_path):
        if not p.is_file():
            raise FileNotFoundError(f'model file missing: {p}')
    meta = _read_config(cfg_path)
    if meta.get('family') != FAMILY:
        raise CheckpointError(f'{directory} is a V-JEPA 2-AC model (family '
                              f'{meta.get("family") or "vjepa2_ac"!r}), not a compact one: load '
                              'it with jepa_ros.models.load_model or VJEPA2WorldModel')
    try:
        config = from_dict(CompactConfig, meta.get('compact') or {})
        net = CompactWorldModelNet(config)
    except (ConfigError, TypeError) as exc:
        raise CheckpointError(f'{cfg_path}: bad compact config: {exc}') from exc
    try:
        tensors = load_file(str(w_path), device='cpu')
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f'cannot read {w_path} (truncated or corrupt?): {exc}') from exc
    load_strict(net, tensors, str(w_path))
    return net.to(device).eval(), meta.get('extra') or {}
