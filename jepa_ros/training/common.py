# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Pieces shared by the two trainers: frame preprocessing, masked encoding, run bookkeeping."""

import json
from pathlib import Path
import time

from jepa_ros.models.layers import grid_positions, rope_tables
from jepa_ros.training.masking import gather_tokens
import numpy as np
import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def imagenet_normalize(x: torch.Tensor) -> torch.Tensor:
    """Return images [..., 3, H, W] in 0..1 normalised as the encoders expect."""
    shape = (1,) * (x.ndim - 3) + (3, 1, 1)
    mean = x.new_tensor(IMAGENET_MEAN).view(shape)
    std = x.new_tensor(IMAGENET_STD).view(shape)
    return (x - mean) / std


def frames_to_video(frames, device='cpu') -> torch.Tensor:
    """Turn uint8 frames [B, T, H, W, 3] (numpy or torch) into a normalised video [B,3,T,H,W]."""
    x = torch.as_tensor(np.ascontiguousarray(frames)).to(device)
    x = x.permute(0, 4, 1, 2, 3).float().div_(255.0)
    mean = x.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1, 1)
    std = x.new_tensor(IMAGENET_STD).view(1, 3, 1, 1, 1)
    return (x - mean) / std


def token_grid(encoder, frames: int, height: int, width: int):
    """Return the (T', H', W') token grid the encoder makes of a clip."""
    cfg = encoder.config
    if frames % cfg.tubelet_size:
        raise ValueError(f'clip length {frames} must be a multiple of the encoder tubelet size '
                         f'{cfg.tubelet_size}')
    if height % cfg.patch_size or width % cfg.patch_size:
        raise ValueError(f'image size {height}x{width} must be a multiple of the patch size '
                         f'{cfg.patch_size}')
    return frames // cfg.tubelet_size, height // cfg.patch_size, width // cfg.patch_size


def encode_context(encoder, video: torch.Tensor, context_idx: torch.Tensor) -> torch.Tensor:
    """
    Run the encoder on the visible tokens only (V-JEPA's context encoder).

    Masked tokens are dropped after patch embedding, and each kept token keeps the rotary
    position of its own (t, h, w) cell, so nothing of a hidden region reaches the context.
    """
    cfg = encoder.config
    _, _, t, h, w = video.shape
    grid = token_grid(encoder, t, h, w)
    x = encoder.patch_embed(video)
    tp, hp, wp = grid_positions(*grid, x.device)
    cos, sin = rope_tables(cfg.embed_dim // cfg.num_heads, tp, hp, wp)
    x = gather_tokens(x, context_idx)
    cos = cos[context_idx].unsqueeze(1)
    sin = sin[context_idx].unsqueeze(1)
    for blk in encoder.blocks:
        x, _ = blk(x, cos, sin)
    return encoder.norm(x)


def autocast(device: str, dtype: str):
    """Return an autocast context for 'bf16' (CPU or GPU), or a no-op for 'fp32'."""
    if dtype == 'fp32':
        return torch.autocast('cpu', enabled=False)
    if dtype != 'bf16':
        raise ValueError(f"dtype must be 'fp32' or 'bf16', got {dtype!r}")
    return torch.autocast('cuda' if device.startswith('cuda') else 'cpu', dtype=torch.bfloat16)


def module_main(module, argv=None) -> int:
    """
    Run a subcommand module on its own: ``python -m jepa_ros.training.pretrain ...``.

    ``torchrun`` needs a module or script to start on every rank; this makes each subcommand one
    without going through ``jepa_ros.cli``.
    """
    import argparse
    from jepa_ros.utils.errors import run_main
    name = getattr(getattr(module, '__spec__', None), 'name', None) or module.__name__
    parser = argparse.ArgumentParser(prog=f'python -m {name}',
                                     description=getattr(module, 'HELP', None))
    module.add_arguments(parser)
    return run_main(name, module.run, parser.parse_args(argv))


def run_trainer(cls, train, args, name: str) -> int:
    """Build config ``cls`` from options (over ``--config`` YAML), run ``train`` and report."""
    from jepa_ros.utils.config import from_args, load_yaml
    base = load_yaml(args.config, cls) if args.config else None
    cfg = from_args(cls, args, base=base)
    summary = train(cfg)
    print(f'{name} finished at step {summary["step"]}: {summary.get("model_dir", cfg.out)}')
    return 0


def params_digest(*modules) -> str:
    """Return a SHA-256 of all parameters and buffers (to check DDP replicas are identical)."""
    import hashlib
    h = hashlib.sha256()
    for m in modules:
        for name, t in sorted(m.state_dict().items()):
            h.update(name.encode())
            h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def write_json(path, data):
    """Write ``data`` as indented JSON (atomic, so readers never see half a file)."""
    from jepa_ros.data.episode import atomic_write_bytes
    text = json.dumps(data, indent=2, sort_keys=True).encode('utf-8')
    return atomic_write_bytes(Path(path), lambda fh: fh.write(text))


class RateMeter:
    """Steps per second over the steps run in this process (resumed steps not counted)."""

    def __init__(self):
        self.t0 = time.perf_counter()
        self.n = 0

    def tick(self):
        """Count one step."""
        self.n += 1

    @property
    def rate(self) -> float:
        """Return steps per second so far."""
        dt = time.perf_counter() - self.t0
        return self.n / dt if dt > 0 else 0.0
