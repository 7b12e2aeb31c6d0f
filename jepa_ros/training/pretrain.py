# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
``jepa-ros pretrain``: V-JEPA self-supervised pretraining of the encoder on play clips.

Objective: space-time multi-block masking of tubelet tokens (optionally hiding the future
slices too), a predictor that fills the masked tokens in latent space from the visible ones, an
EMA target encoder, L1 on layer-normed targets, plus an optional variance hinge against the
collapse the first probe saw. Collapse diagnostics (feature std, effective rank and
image-dependent spread of the target features) are logged every ``log_every`` steps.
Runs unchanged under ``torchrun`` (DDP) and resumes from ``OUT/checkpoint.pt``.
"""

import copy
import dataclasses
from pathlib import Path
import sys
from typing import Callable, Optional

NAME = 'pretrain'
HELP = 'V-JEPA pretraining of the video encoder on episodes (masked latent prediction).'


@dataclasses.dataclass
class PretrainConfig:
    """Pretraining settings (defaults sized for a shared 2-core CPU: about 6-20 minutes)."""

    data: str = 'data/play'
    out: str = 'runs/pretrain'
    encoder_preset: str = 'tiny'
    image_size: int = 64
    clip_len: int = 4
    frame_stride: int = 1
    # 'video': clips of consecutive frames (V-JEPA's temporal objective); 'image': every clip is
    # one frame repeated, so nothing moves and only spatial masking remains (the single-frame
    # objective the first probe saw collapse; kept as a baseline to compare against).
    objective: str = 'video'
    batch_size: int = 24
    steps: int = 1000
    lr: float = 5e-4
    final_lr_ratio: float = 0.05
    warmup_steps: int = 60
    weight_decay: float = 0.04
    grad_clip: float = 1.0
    ema_start: float = 0.996
    ema_end: float = 0.9995
    pred_dim: int = 128
    pred_depth: int = 3
    pred_heads: int = 4
    var_weight: float = 1.0
    var_gamma: float = 0.25
    mask_short_blocks: int = 8
    mask_short_scale: float = 0.15
    mask_long_blocks: int = 2
    mask_long_scale: float = 0.7
    mask_long_prob: float = 0.5
    mask_future_prob: float = 0.5
    mask_future_slices: int = 1
    collapse_spread: float = 0.02        # warn below this image-dependent spread (collapse)
    collapse_rank_fraction: float = 0.4  # ... or below this fraction of the peak eff. rank
    stop_on_collapse: bool = False
    log_every: int = 25
    checkpoint_every: int = 200
    seed: int = 0
    device: str = 'auto'
    dtype: str = 'fp32'
    resume: bool = True
    max_episodes: int = 0
    threads: int = 0

    def validate(self):
        """Raise ConfigError on settings that cannot work."""
        from jepa_ros.utils.config import ConfigError
        for name in ('image_size', 'clip_len', 'batch_size', 'steps', 'log_every',
                     'checkpoint_every', 'frame_stride'):
            if getattr(self, name) <= 0:
                raise ConfigError(f'PretrainConfig.{name} must be positive')
        if self.batch_size < 2:
            raise ConfigError('PretrainConfig.batch_size must be >= 2 (diagnostics need a batch)')
        if not 0 < self.ema_start <= self.ema_end <= 1:
            raise ConfigError('PretrainConfig needs 0 < ema_start <= ema_end <= 1')
        if self.dtype not in ('fp32', 'bf16'):
            raise ConfigError("PretrainConfig.dtype must be 'fp32' or 'bf16'")
        if not 0 <= self.collapse_rank_fraction < 1:
            raise ConfigError('PretrainConfig.collapse_rank_fraction must be in [0, 1) (0: no '
                              f'rank check), got {self.collapse_rank_fraction}')
        if self.objective not in ('video', 'image'):
            raise ConfigError("PretrainConfig.objective must be 'video' or 'image', got "
                              f'{self.objective!r}')

    def mask_config(self):
        """Return the MaskConfig these settings describe."""
        from jepa_ros.training.masking import MaskConfig
        return MaskConfig(short_blocks=self.mask_short_blocks, short_scale=self.mask_short_scale,
                          long_blocks=self.mask_long_blocks, long_scale=self.mask_long_scale,
                          long_prob=self.mask_long_prob, future_prob=self.mask_future_prob,
                          future_slices=self.mask_future_slices).validate()


def add_arguments(parser):
    """Add ``--data``, ``--out`` and one option per PretrainConfig field."""
    from jepa_ros.utils.config import add_arguments as add_cfg
    parser.add_argument('--config', default=None, help='YAML file with PretrainConfig keys')
    add_cfg(parser, PretrainConfig)
    return parser


def hold_one_frame(frames, rng):
    """Return clips [B, T, ...] made of one random frame of each clip repeated T times."""
    import numpy as np
    pick = rng.integers(0, frames.shape[1], size=len(frames))
    return np.repeat(frames[np.arange(len(frames)), pick][:, None], frames.shape[1], axis=1)


def _build(cfg, grid):
    import torch
    from jepa_ros.models import encoder_preset, VJEPA2Encoder
    from jepa_ros.training.common import encode_context
    from jepa_ros.training.mask_predictor import MaskPredictor

    class JEPA(torch.nn.Module):
        """Context encoder + mask predictor, one module so DDP syncs both."""

        def __init__(self):
            super().__init__()
            self.encoder = VJEPA2Encoder(encoder_preset(cfg.encoder_preset,
                                                        img_size=cfg.image_size))
            self.predictor = MaskPredictor(self.encoder.config.embed_dim, grid,
                                           pred_dim=cfg.pred_dim, depth=cfg.pred_depth,
                                           num_heads=cfg.pred_heads)

        def forward(self, video, context_idx, target_idx):
            z = encode_context(self.encoder, video, context_idx)
            return self.predictor(z, context_idx, target_idx), z

    return JEPA()


def train(cfg: PretrainConfig, stop_after: Optional[int] = None,
          log: Callable[[str], None] = print):
    """
    Run (or resume) pretraining; return a summary dict.

    ``stop_after`` ends this process after that many steps of the schedule (the schedule itself
    still spans ``cfg.steps``), which is how tests simulate a run killed mid-way.
    """
    import numpy as np
    import torch
    from jepa_ros.data import ClipDataset, list_episodes
    from jepa_ros.models import save_model
    from jepa_ros.training import checkpoint as ckpt
    from jepa_ros.training import distributed as dd
    from jepa_ros.training.common import (autocast, frames_to_video, params_digest, RateMeter,
                                          token_grid, write_json)
    from jepa_ros.training.collapse_guard import CollapseGuard
    from jepa_ros.training.curves import CurveLog
    from jepa_ros.training.ema import ema_momentum, ema_update, lr_at
    from jepa_ros.training.losses import (collapse_diagnostics, jepa_loss, layer_norm_tokens,
                                          masked_variance_hinge)
    from jepa_ros.training.masking import gather_tokens, sample_batch_masks
    from jepa_ros.utils.config import to_dict

    cfg.validate()
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    ctx = dd.init_distributed(cfg.device)
    out = Path(cfg.out)
    if ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
    # Read (and vet) a checkpoint to resume from before minutes go into loading data.
    state = (ckpt.load_checkpoint(out / ckpt.CHECKPOINT_NAME, kind='jepa_ros.pretrain')
             if cfg.resume else None)
    paths = list_episodes(cfg.data)
    if cfg.max_episodes > 0:
        paths = paths[:cfg.max_episodes]
    data = ClipDataset(cfg.data, clip_len=cfg.clip_len, frame_stride=cfg.frame_stride,
                       image_size=cfg.image_size, paths=paths)
    if any(ep.num_views > 1 for ep in data.episodes):
        # Multi-camera episodes: every camera's video is a clip source of its own, so the
        # encoder learns all the viewpoints a multi-view predictor will read.
        from jepa_ros.data.dataset import split_views
        data = ClipDataset(split_views(data.episodes), clip_len=cfg.clip_len,
                           frame_stride=cfg.frame_stride)
    h, w = data.image_size
    torch.manual_seed(cfg.seed)
    # Built once to read the tubelet/patch sizes, then for real with the right grid.
    from jepa_ros.models import encoder_preset
    enc_cfg = encoder_preset(cfg.encoder_preset, img_size=cfg.image_size)
    grid = token_grid(type('E', (), {'config': enc_cfg})(), cfg.clip_len, h, w)
    torch.manual_seed(cfg.seed)
    model = _build(cfg, grid).to(ctx.device)
    target = copy.deepcopy(model.encoder).requires_grad_(False).eval()
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and 'mask_token' not in n]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2 or 'mask_token' in n]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': cfg.weight_decay},
                             {'params': no_decay, 'weight_decay': 0.0}], lr=cfg.lr,
                            betas=(0.9, 0.95))
    sampler = np.random.default_rng([cfg.seed, ctx.rank])
    mask_gen = torch.Generator().manual_seed(cfg.seed * 1000 + ctx.rank)
    step = 0
    if state is not None:
        model.load_state_dict(state['model'])
        target.load_state_dict(state['target'])
        opt.load_state_dict(state['optimizer'])
        step = int(state['step'])
        rng = state['rng'][ctx.rank] if ctx.rank < len(state['rng']) else state['rng'][0]
        ckpt.restore_rng(rng, sampler)
        mask_gen.set_state(rng['mask'])
        if state.get('config', {}).get('steps') != cfg.steps:
            log(f'warning: resuming a run planned for {state["config"].get("steps")} steps '
                f'with steps={cfg.steps}; the LR/EMA schedules change accordingly')
        log(f'resumed from {out / ckpt.CHECKPOINT_NAME} at step {step}')
    ddp_model = dd.wrap_ddp(model, ctx)
    # the guard's peak rank survives a resume: every rank replays the logged curve before the
    # main process rewrites it
    guard = CollapseGuard(min_spread=cfg.collapse_spread,
                          rank_fraction=cfg.collapse_rank_fraction)
    guard.restore(CurveLog.read_rows(out / 'curves.csv', max_step=step) if step > 0 else ())
    dd.barrier(ctx)
    curves = CurveLog(out / 'curves.csv', resume_step=step) if ctx.is_main else None
    meter = RateMeter()
    mcfg = cfg.mask_config()
    end = cfg.steps if stop_after is None else min(cfg.steps, step + int(stop_after))
    last = {}
    if ctx.is_main:
        log(f'pretrain: {len(data.episodes)} episodes, {len(data)} clips, grid {grid}, '
            f'{sum(p.numel() for p in model.parameters()) / 1e6:.2f}M params, '
            f'world {ctx.world_size}')
    progress = None
    if ctx.is_main and sys.stderr.isatty():
        from tqdm import tqdm
        progress = tqdm(total=cfg.steps, initial=step, desc='pretrain', unit='step')

    def save():
        rng = ckpt.capture_rng(sampler)
        rng['mask'] = mask_gen.get_state()
        rngs = dd.gather_objects(rng, ctx)
        if ctx.is_main:
            ckpt.save_checkpoint(out / ckpt.CHECKPOINT_NAME, {
                'model': model.state_dict(), 'target': target.state_dict(),
                'optimizer': opt.state_dict(),
                'step': step, 'rng': rngs, 'config': to_dict(cfg), 'kind': 'jepa_ros.pretrain'})

    while step < end:
        lr = lr_at(step, cfg.steps, cfg.lr, cfg.warmup_steps, cfg.final_lr_ratio)
        for g in opt.param_groups:
            g['lr'] = lr
        batch = data.sample(sampler, cfg.batch_size)
        frames = batch['frames']
        if cfg.objective == 'image':
            frames = hold_one_frame(frames, sampler)
        video = frames_to_video(frames, ctx.device)
        cidx, tidx = sample_batch_masks(cfg.batch_size, grid, mcfg, mask_gen)
        cidx, tidx = cidx.to(ctx.device), tidx.to(ctx.device)
        with torch.no_grad(), autocast(ctx.device, cfg.dtype):
            h_all = layer_norm_tokens(target(video).float())
        with autocast(ctx.device, cfg.dtype):
            pred, z_ctx = ddp_model(video, cidx, tidx)
        pred_loss = jepa_loss(pred.float(), gather_tokens(h_all, tidx))
        var_loss = masked_variance_hinge(layer_norm_tokens(z_ctx.float()), cidx,
                                         h_all.shape[1], cfg.var_gamma)
        loss = pred_loss + cfg.var_weight * var_loss
        if not torch.isfinite(loss):
            raise FloatingPointError(f'pretrain loss became {loss.item()} at step {step}; '
                                     'lower --lr or use --dtype fp32')
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        ema_update(target, model.encoder,
                   ema_momentum(step, cfg.steps, cfg.ema_start, cfg.ema_end))
        step += 1
        meter.tick()
        if progress is not None:
            progress.update(1)
        if step % cfg.log_every == 0 or step == end:
            diag = {k: dd.all_reduce_mean(v, ctx)   # every rank takes the same stop decision
                    for k, v in collapse_diagnostics(h_all).items()}
            last = dict(loss=dd.all_reduce_mean(pred_loss.item(), ctx),
                        var_loss=dd.all_reduce_mean(var_loss.item(), ctx), lr=lr,
                        steps_per_s=meter.rate, **diag)
            if ctx.is_main:
                curves.log(step, **last)
                log(f'step {step}/{cfg.steps} loss {last["loss"]:.4f} var {last["var_loss"]:.3f} '
                    f'spread {diag["image_spread"]:.3f} rank {diag["eff_rank"]:.1f} '
                    f'std {diag["feat_std"]:.3f} ({meter.rate:.2f} step/s)')
            msg = guard.update(diag['image_spread'], diag['eff_rank'])
            if msg is not None:
                if ctx.is_main:
                    log('warning: ' + msg)
                if cfg.stop_on_collapse:
                    save()
                    break
        if step % cfg.checkpoint_every == 0 or step == end:
            save()
    if progress is not None:
        progress.close()
    summary = dict(last)
    summary.update(step=step, steps=cfg.steps, steps_per_s=meter.rate, rank=ctx.rank,
                   world_size=ctx.world_size, params_digest=params_digest(model, target))
    if ctx.is_main:
        curves.plot(out / 'curves.png', keys=[k for k in ('loss', 'image_spread', 'eff_rank',
                                                          'lr') if k in last], title='pretrain')
        if step >= cfg.steps or (cfg.stop_on_collapse and guard.collapsed):
            save_model(out / 'model', target, None,
                       extra={'kind': 'jepa_ros.pretrain', 'pretrain': to_dict(cfg), 'step': step,
                              'image_size': cfg.image_size})
            summary['model_dir'] = str(out / 'model')
        write_json(out / 'summary.json', summary)
    dd.barrier(ctx)
    dd.shutdown(ctx)
    return summary


def run(args) -> int:
    """CLI entry: build the config from options (and ``--config`` YAML), train, return 0."""
    from jepa_ros.training.common import run_trainer
    return run_trainer(PretrainConfig, train, args, 'pretrain')


if __name__ == '__main__':
    from jepa_ros.training.common import module_main
    sys.exit(module_main(sys.modules[__name__]))
