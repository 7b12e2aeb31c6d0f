# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
World models for evaluation: the checkpoint under test, its untrained twin, a labelled fallback.

The untrained baseline has the same architecture, input size and normalisation as the model
under test but random weights, so the difference between the two is what training bought. When
the shipped ``default`` model does not exist yet, callers may fall back to a random-weight model
of the default shape; it is always labelled as such.
"""

import copy
import dataclasses
import json
from pathlib import Path
from typing import Optional

DEFAULT_MODEL = 'default'
FALLBACK_PRESET = 'tiny'      # the shape scripts/train_default.sh trains
FALLBACK_IMAGE_SIZE = 64
FALLBACK_WARNING = ('WARNING: no trained model at jepa_ros/assets/models/default yet; using a '
                    'RANDOM-WEIGHT model of the default shape. Numbers below are NOT the shipped '
                    "model's; train one with scripts/train_default.sh.")


@dataclasses.dataclass
class LoadedModel:
    """A world model and what it is (for results.json and the printed summary)."""

    world_model: object
    image_size: int
    description: str
    trained: bool
    checkpoint: str
    cameras: tuple = ()   # camera names of the model's views (from its checkpoint), if known


def random_world_model(preset: str = FALLBACK_PRESET, image_size: int = FALLBACK_IMAGE_SIZE,
                       seed: int = 0, device: str = 'cpu'):
    """Return a VJEPA2WorldModel with random weights of a named preset (seeded)."""
    import torch
    from jepa_ros.models import ACPredictor, encoder_preset, predictor_preset, VJEPA2Encoder
    from jepa_ros.planning import VJEPA2WorldModel
    enc_cfg = encoder_preset(preset, img_size=image_size)
    pred_cfg = predictor_preset(preset, encoder_dim=enc_cfg.embed_dim, img_size=image_size,
                                patch_size=enc_cfg.patch_size)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        encoder, predictor = VJEPA2Encoder(enc_cfg), ACPredictor(pred_cfg)
    return VJEPA2WorldModel(encoder, predictor, device=device, image_size=image_size)


def untrained_like(world_model, seed: int = 0):
    """Return a world model of the same architecture, size and normalisation, random weights."""
    import torch
    from jepa_ros.models import ACPredictor, VJEPA2Encoder
    from jepa_ros.planning import VJEPA2WorldModel
    from jepa_ros.planning.compact_world_model import CompactWorldModel
    if isinstance(world_model, CompactWorldModel):
        return _untrained_compact(world_model, seed)
    for part in ('encoder', 'predictor'):
        if not hasattr(world_model, part):
            raise TypeError(f'an untrained twin needs a VJEPA2WorldModel (with .{part}), got '
                            f'{type(world_model).__name__}')
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        encoder = VJEPA2Encoder(copy.deepcopy(world_model.encoder.config))
        predictor = ACPredictor(copy.deepcopy(world_model.predictor.config))
    norm = _normalization_lists(world_model)
    return VJEPA2WorldModel(encoder, predictor, device=world_model.device,
                            dtype=world_model.dtype, normalization=norm,
                            image_size=world_model.image_size)


def _normalization_lists(world_model):
    """Return the model's normalisation as plain lists (what the constructors take), or None."""
    if world_model.normalization is None:
        return None
    return {k: v.detach().cpu().tolist() for k, v in world_model.normalization.items()}


def _untrained_compact(world_model, seed: int):
    """Return a compact model of the same shape, scaling, views and action box, random weights."""
    import torch
    from jepa_ros.planning.compact_world_model import CompactWorldModel
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        net = type(world_model.net)(copy.deepcopy(world_model.config))
    norm = _normalization_lists(world_model)
    return CompactWorldModel(net, device=world_model.device, dtype=world_model.dtype,
                             normalization=norm, cameras=world_model.cameras,
                             action_space=copy.deepcopy(world_model.action_space),
                             action_repeat=world_model.action_repeat)


def load_world_model_or_fallback(checkpoint: str = DEFAULT_MODEL, device: str = 'cpu',
                                 dtype: str = 'fp32', allow_fallback: bool = True,
                                 warn=print) -> LoadedModel:
    """
    Load ``checkpoint`` (model name/dir or official .pt) as the planner node does.

    Only a missing ``default`` model may fall back (``allow_fallback``) to a random-weight model
    of the default shape, with ``FALLBACK_WARNING`` passed to ``warn``; any other problem raises
    ConfigError with what to fix.
    """
    from jepa_ros.control import MPCNodeConfig
    from jepa_ros.control.loading import load_world_model, model_image_size
    from jepa_ros.models.checkpoint import ASSETS_DIR
    if checkpoint == DEFAULT_MODEL and allow_fallback and not Path(checkpoint).is_dir() \
            and not (ASSETS_DIR / DEFAULT_MODEL).is_dir():
        warn(FALLBACK_WARNING)
        wm = random_world_model(device=device)
        return LoadedModel(wm, FALLBACK_IMAGE_SIZE,
                           f'random-weight {FALLBACK_PRESET} model (no trained default yet)',
                           trained=False, checkpoint='')
    cfg = MPCNodeConfig(checkpoint=checkpoint, device=device, dtype=dtype)
    wm, what = load_world_model(cfg, device)
    extra = _checkpoint_extra(checkpoint)
    trained = not extra.get('untrained')
    if not trained:
        what += ' (RANDOM WEIGHTS: saved untrained)'
    cameras = tuple(extra.get('cameras') or ())
    if len(cameras) != getattr(wm, 'num_views', 1):
        cameras = ()
    return LoadedModel(wm, model_image_size(wm), what, trained=trained, checkpoint=checkpoint,
                       cameras=cameras)


def _checkpoint_extra(checkpoint) -> dict:
    """Return the ``extra`` dict of a jepa_ros checkpoint ({} for other kinds)."""
    from jepa_ros.models.checkpoint import CONFIG, resolve_model_dir
    try:
        meta = json.loads((resolve_model_dir(checkpoint) / CONFIG).read_text())
    except (OSError, ValueError):
        return {}
    return meta.get('extra') or {}


def _marked_untrained(checkpoint) -> bool:
    """Return True for a jepa_ros checkpoint whose extra says ``untrained`` (save_random_model)."""
    return bool(_checkpoint_extra(checkpoint).get('untrained'))


def save_random_model(directory, seed: int = 0, preset: Optional[str] = None,
                      image_size: Optional[int] = None):
    """Write a random-weight model of the default shape (for the planner node's fallback)."""
    from jepa_ros.models import save_model
    wm = random_world_model(preset or FALLBACK_PRESET, image_size or FALLBACK_IMAGE_SIZE, seed)
    return save_model(directory, wm.encoder, wm.predictor,
                      extra={'kind': 'jepa_ros.random_weights', 'untrained': True,
                             'image_size': wm.image_size, 'seed': int(seed)})
