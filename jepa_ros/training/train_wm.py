# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
``jepa-ros train-wm``: a compact JEPA world model trained end to end from pixels.

Encoder and predictor learn together (no frozen or pretrained encoder, no EMA target, no
stop-gradient) from three terms on clips of ``history + rollout_steps`` frames:

- teacher forcing: from frames <= t (causal) and the actions, predict the latents of t+1 (MSE);
- rollout: from the first ``history`` frames, feed the predictions back for ``rollout_steps``
  frames (MSE against the encoded frames), as the planner will use the model;
- SIGReg (``training/sigreg.py``) on the batch's latents, weight ``sigreg_weight``: without it
  the cheapest solution is a constant latent (zero prediction error).

Collapse diagnostics (image-dependent spread, effective rank) are logged with the losses and
checked by the CollapseGuard. Actions and states are normalised with statistics of the training
episodes (stored in the model). Resumable (``checkpoint.pt``, weights-only), DDP via torchrun,
CSV/PNG curves, a progress bar on a terminal; the model is safetensors + config.json with
``"family": "compact"``, loadable by the planner's ``checkpoint:`` like any other.
"""

import dataclasses
from pathlib import Path
import sys
from typing import Callable, Optional, Tuple

NAME = 'train-wm'
HELP = ('Train a compact JEPA world model end to end (encoder + predictor, prediction loss '
        '+ SIGReg).')
KIND = 'jepa_ros.train_wm'


@dataclasses.dataclass
class TrainWMConfig:
    """End-to-end world-model training (defaults sized for 2 CPU cores: about an hour)."""

    data: str = 'data/play'
    out: str = 'runs/wm'
    views: int = 0                       # 0: every view the episodes hold
    cameras: Tuple[str, ...] = ()        # or views by camera name, e.g. ['front', 'side']
    image_size: int = 64
    patch_size: int = 8
    enc_dim: int = 128
    enc_depth: int = 4
    enc_heads: int = 4
    latent_dim: int = 64
    latent_tokens: int = 1               # summary tokens per view (1: CLS only)
    pred_dim: int = 128
    pred_depth: int = 4
    pred_heads: int = 4
    history: int = 2                     # context frames of the rollout loss
    rollout_steps: int = 2
    frame_stride: int = 1
    rollout_weight: float = 1.0
    sigreg_weight: float = 0.1
    sigreg_projections: int = 256
    # 'appearance': each training clip under a random scene appearance, one per clip and view
    # (appearance_aug.py, the sim's 'train' colour and light ranges); 'none': as recorded
    augment: str = 'none'
    # with augment: MSE between the latents of two appearances of each clip's first frame
    invariance_weight: float = 0.0
    # with augment: the share of each batch's clips seen under a random appearance (the rest
    # as recorded, so the nominal scene keeps its weight)
    augment_fraction: float = 1.0
    # a compact model folder or shipped name whose weights and normalisation start this run
    # (fine-tuning; same architecture and cameras; a fresh optimiser and lr schedule)
    init_from: str = ''
    batch_size: int = 32
    steps: int = 3000
    lr: float = 5e-4
    final_lr_ratio: float = 0.05
    warmup_steps: int = 100
    weight_decay: float = 0.04
    grad_clip: float = 1.0
    val_fraction: float = 0.1
    val_clips: int = 128
    eval_every: int = 250
    log_every: int = 50
    checkpoint_every: int = 250
    snapshot_every: int = 0
    stop_at: int = 0
    seed: int = 0
    device: str = 'auto'
    dtype: str = 'fp32'
    resume: bool = True
    max_episodes: int = 0
    threads: int = 0

    @property
    def clip_len(self) -> int:
        """Frames per training clip."""
        return self.history + self.rollout_steps

    def validate(self):
        """Raise ConfigError on settings that cannot work."""
        from jepa_ros.utils.config import ConfigError
        for name in ('image_size', 'batch_size', 'steps', 'log_every', 'checkpoint_every',
                     'eval_every', 'frame_stride', 'history', 'sigreg_projections'):
            if getattr(self, name) <= 0:
                raise ConfigError(f'TrainWMConfig.{name} must be positive')
        if self.rollout_steps < 1:
            raise ConfigError('TrainWMConfig.rollout_steps must be >= 1')
        if self.batch_size < 2:
            raise ConfigError('TrainWMConfig.batch_size must be >= 2 (BatchNorm and SIGReg '
                              'need a batch)')
        if self.sigreg_weight < 0 or self.rollout_weight < 0:
            raise ConfigError('TrainWMConfig loss weights must be >= 0')
        if not 0 <= self.val_fraction < 1:
            raise ConfigError('TrainWMConfig.val_fraction must be in [0, 1)')
        if self.dtype not in ('fp32', 'bf16'):
            raise ConfigError("TrainWMConfig.dtype must be 'fp32' or 'bf16'")
        if self.augment not in ('none', 'appearance'):
            raise ConfigError(f"TrainWMConfig.augment must be 'none' or 'appearance', got "
                              f'{self.augment!r}')
        if self.invariance_weight < 0:
            raise ConfigError('TrainWMConfig.invariance_weight must be >= 0')
        if self.invariance_weight > 0 and self.augment == 'none':
            raise ConfigError('TrainWMConfig.invariance_weight needs augment appearance (two '
                              'appearances of the same clip)')
        if not 0 < self.augment_fraction <= 1:
            raise ConfigError('TrainWMConfig.augment_fraction must be in (0, 1]')
        if self.views < 0:
            raise ConfigError('TrainWMConfig.views must be >= 0 (0: every view in the data)')


def add_arguments(parser):
    """Add one option per TrainWMConfig field (and ``--config`` YAML)."""
    from jepa_ros.utils.config import add_arguments as add_cfg
    parser.add_argument('--config', default=None, help='YAML file with TrainWMConfig keys')
    add_cfg(parser, TrainWMConfig)
    return parser


def build_net(cfg: TrainWMConfig, num_views: int, action_dim: int = 7, state_dim: int = 7):
    """Return a fresh CompactWorldModelNet for ``cfg`` and the data's action/state sizes."""
    from jepa_ros.models.compact import CompactConfig, CompactWorldModelNet
    from jepa_ros.utils.config import ConfigError
    from jepa_ros.models.config import CheckpointError
    try:
        return CompactWorldModelNet(CompactConfig(
            img_size=cfg.image_size, patch_size=cfg.patch_size, enc_dim=cfg.enc_dim,
            enc_depth=cfg.enc_depth, enc_heads=cfg.enc_heads, latent_dim=cfg.latent_dim,
            latent_tokens=cfg.latent_tokens, num_views=int(num_views), pred_dim=cfg.pred_dim,
            pred_depth=cfg.pred_depth, pred_heads=cfg.pred_heads,
            action_dim=int(action_dim), state_dim=int(state_dim),
            max_frames=max(8, cfg.clip_len)))
    except CheckpointError as exc:
        raise ConfigError(f'train-wm: {exc}') from None


def wm_losses(net, x, a, s, history: int, rollout_steps: int, projections: int,
              generator=None):
    """Return ``(teacher, rollout, sigreg, latents)`` for images [B, T, V, 3, H, W]."""
    import torch.nn.functional as F
    from jepa_ros.training.sigreg import sigreg
    b, t = x.shape[:2]
    z = net.encode(x.flatten(0, 1)).view(b, t, -1, net.config.latent_dim)
    pred = net.predictor(z[:, :-1], a, s)
    teacher = F.mse_loss(pred, z[:, 1:])
    imagined = net.rollout(z[:, :history], a, s, rollout_steps)
    rollout = F.mse_loss(imagined, z[:, history:history + rollout_steps])
    reg = sigreg(z, projections, generator=generator)
    return teacher, rollout, reg, z


def _load_split(cfg, log):
    from jepa_ros.data import list_episodes, load_episodes, split_episodes
    from jepa_ros.data.episode import EpisodeError
    from jepa_ros.training.train_ac import view_indices
    paths = list_episodes(cfg.data)
    if cfg.max_episodes > 0:
        paths = paths[:cfg.max_episodes]
    train_paths, val_paths = split_episodes(paths, cfg.val_fraction, seed=cfg.seed)
    span = (cfg.clip_len - 1) * cfg.frame_stride + 1
    episodes = load_episodes(train_paths, cfg.image_size, min_steps=span)
    if not episodes:
        if not train_paths:
            raise EpisodeError(f'no episode_*.npz files in {cfg.data}: point --data at a folder '
                               'made by jepa-ros collect, import-bag or the recorder node')
        raise EpisodeError(f'no usable training episode in {cfg.data}: all {len(train_paths)} '
                           'episode files are unreadable, corrupt or too short')
    views = view_indices(cfg, episodes)
    val = load_episodes(val_paths, cfg.image_size, min_steps=span) if val_paths else []
    return episodes, val, views, val_paths, action_space(episodes + val)


def strided_box(space: dict, stride: int) -> dict:
    """
    Return the action box of one model step when a step spans ``stride`` env steps.

    Clips of frames ``stride`` apart carry the sum of the actions between them, so a model
    step's action lies in ``stride`` x the env's box; the planner plans in that box and the
    env runs each planned action as ``stride`` equal env actions (``action_repeat``).
    """
    k = int(stride)
    return dict(space, low=[k * float(v) for v in space['low']],
                high=[k * float(v) for v in space['high']])


def action_space(episodes):
    """
    Return the episodes' action box (None: the embedded arm's 7-D actions), the same for all.

    Episodes of another environment carry ``metadata['action_space']``; a model trains on one
    environment's actions, so mixed folders are refused with the names of two that differ.
    """
    from jepa_ros.data.episode import EpisodeError
    first = episodes[0].metadata.get('action_space')
    for ep in episodes[1:]:
        other = ep.metadata.get('action_space')
        if other != first:
            raise EpisodeError(f'the episodes mix action spaces ({first} and {other}); train '
                               'on the episodes of one environment per folder')
    return first


def init_weights(net, name_or_dir: str, cameras, log) -> dict:
    """
    Copy a compact model's weights into ``net``; return the model's normalisation (None if none).

    Fine-tuning keeps the model's action/state normalisation (its latents were learnt under it)
    and refuses a model whose architecture or cameras differ, naming the difference.
    """
    from jepa_ros.models.compact_checkpoint import load_compact
    from jepa_ros.utils.config import ConfigError, to_dict
    src, extra = load_compact(name_or_dir)
    want, have = to_dict(net.config), to_dict(src.config)
    diff = sorted(k for k in set(want) | set(have) if want.get(k) != have.get(k))
    if diff:
        what = ', '.join(f'{k} ({have.get(k)} there, {want.get(k)} here)' for k in diff)
        raise ConfigError(f'train-wm --init-from {name_or_dir}: its architecture differs from '
                          f'this run in {what}; set the same train-wm options')
    if list(extra.get('cameras') or cameras) != list(cameras):
        raise ConfigError(f'train-wm --init-from {name_or_dir}: trained on cameras '
                          f'{extra.get("cameras")}, this data has {list(cameras)}')
    net.load_state_dict(src.state_dict())
    log(f'train-wm: weights and normalisation from {name_or_dir}')
    return extra.get('normalization')


def train(cfg: TrainWMConfig, stop_after: Optional[int] = None,
          log: Callable[[str], None] = print):
    """
    Run (or resume) end-to-end training; return a summary dict.

    ``stop_after`` ends this process after that many steps (simulating a killed run).
    """
    import numpy as np
    import torch
    from jepa_ros.models.compact_checkpoint import save_compact
    from jepa_ros.training import checkpoint as ckpt
    from jepa_ros.training import distributed as dd
    from jepa_ros.training.appearance_aug import random_appearance
    from jepa_ros.training.collapse_guard import CollapseGuard
    from jepa_ros.training.common import (autocast, imagenet_normalize, params_digest,
                                          RateMeter, write_json)
    from jepa_ros.training.curves import CurveLog
    from jepa_ros.training.ema import lr_at
    from jepa_ros.training.frame_clips import FrameClips
    from jepa_ros.training.losses import collapse_diagnostics
    from jepa_ros.training.normalization import compute_normalization
    from jepa_ros.training.train_ac import episode_cameras
    from jepa_ros.utils.config import to_dict

    cfg.validate()
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    ctx = dd.init_distributed(cfg.device)
    out = Path(cfg.out)
    if ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
    state = ckpt.load_checkpoint(out / ckpt.CHECKPOINT_NAME, kind=KIND) if cfg.resume else None
    episodes, val_eps, views, val_paths, space = _load_split(cfg, log)
    # an env's proprioception cannot be rolled forward at planning time: box models see
    # actions alone (BoxSpace); the arm's 7-D state is rolled by the planner and kept
    use_states = space is None
    data = FrameClips(episodes, views, cfg.clip_len, cfg.frame_stride, use_states)
    val = (FrameClips(val_eps, views, cfg.clip_len, cfg.frame_stride, use_states)
           if val_eps else None)
    all_states = np.concatenate([e.states for e in episodes]) if use_states else np.zeros((1, 0))
    all_actions = np.concatenate([e.actions for e in episodes])
    norm = compute_normalization(all_states, all_actions)
    cameras = [episode_cameras(episodes[0])[i] for i in views]
    torch.manual_seed(cfg.seed)
    net = build_net(cfg, len(views), all_actions.shape[1], all_states.shape[1]).to(ctx.device)
    decay = [p for p in net.parameters() if p.ndim >= 2]
    no_decay = [p for p in net.parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': cfg.weight_decay},
                             {'params': no_decay, 'weight_decay': 0.0}], lr=cfg.lr,
                            betas=(0.9, 0.95))
    sampler = np.random.default_rng([cfg.seed, ctx.rank])
    proj_gen = torch.Generator(device=ctx.device).manual_seed(cfg.seed * 1000 + ctx.rank)
    aug_gen = torch.Generator(device=ctx.device).manual_seed(cfg.seed * 1000 + 500 + ctx.rank)
    step = 0
    if cfg.init_from and state is None:
        norm = init_weights(net, cfg.init_from, cameras, log) or norm
    if state is not None:
        net.load_state_dict(state['net'])
        opt.load_state_dict(state['optimizer'])
        step = int(state['step'])
        rngs = state['rng']
        ckpt.restore_rng(rngs[ctx.rank] if ctx.rank < len(rngs) else rngs[0], sampler)
        norm = state['normalization']
        log(f'resumed from {out / ckpt.CHECKPOINT_NAME} at step {step}')

    class Objective(torch.nn.Module):
        """All loss terms in one forward, so DDP sees one call."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x, a, s, x_alt=None):
            out = wm_losses(self.inner, x, a, s, cfg.history, cfg.rollout_steps,
                            cfg.sigreg_projections, proj_gen)
            if x_alt is None:
                return out + (out[0].new_zeros(()),)
            z0 = out[3][:, 0]                                   # [B, N, L]
            z_alt = self.inner.encode(x_alt).view_as(z0)
            return out + (torch.nn.functional.mse_loss(z0, z_alt),)

    ddp = dd.wrap_ddp(Objective(net), ctx)
    curves = CurveLog(out / 'curves.csv', resume_step=step) if ctx.is_main else None
    guard = CollapseGuard(min_spread=0.05)
    if curves is not None:
        guard.restore(CurveLog.read_rows(out / 'curves.csv', step))
    val_idx = val.fixed(cfg.val_clips, cfg.seed) if val is not None else None
    meter = RateMeter()
    end = cfg.steps if stop_after is None else min(cfg.steps, step + int(stop_after))
    if cfg.stop_at > 0:
        end = min(end, cfg.stop_at)
    extra = {'kind': 'jepa_ros.compact', 'normalization': norm, 'image_size': cfg.image_size,
             'cameras': cameras, 'train_wm': to_dict(cfg),
             'val_episodes': [str(p) for p in val_paths],
             'planner': {'energy': 'l2', 'horizon': 3}}
    if space is not None:
        extra['action_space'] = strided_box(space, cfg.frame_stride)
        extra['action_repeat'] = int(cfg.frame_stride)
        extra['env'] = episodes[0].metadata.get('env')
    n_params = sum(p.numel() for p in net.parameters())
    if ctx.is_main:
        log(f'train-wm: {len(episodes)} train / {len(val_eps)} val episodes, {len(data)} clips '
            f'of {cfg.clip_len} frames x {len(views)} view(s) ({", ".join(cameras)}), '
            f'{n_params / 1e6:.2f}M params, world {ctx.world_size}')
    progress = None
    if ctx.is_main and sys.stderr.isatty():
        from tqdm import tqdm
        progress = tqdm(total=cfg.steps, initial=step, desc='train-wm', unit='step')

    history_slice = slice(cfg.history, cfg.history + cfg.rollout_steps)

    @torch.no_grad()
    def validate():
        net.eval()
        rows = []
        for i in range(0, len(val_idx), 32):
            x, a, s = val.get(val_idx[i:i + 32], norm, ctx.device)
            t, r, _, z = wm_losses(net, x, a, s, cfg.history, cfg.rollout_steps,
                                   cfg.sigreg_projections, proj_gen)
            copy = (z[:, 1:] - z[:, :-1]).pow(2).mean()
            copy_ro = (z[:, history_slice] - z[:, cfg.history - 1:cfg.history]).pow(2).mean()
            rows.append((t.item(), r.item(), copy.item(), copy_ro.item()))
        net.train()
        t, r, c, cr = np.mean(rows, axis=0)
        return {'val_teacher': float(t), 'val_rollout': float(r),
                'val_ratio': float(t / max(c, 1e-12)),
                'val_rollout_ratio': float(r / max(cr, 1e-12))}

    def save():
        rngs = dd.gather_objects(ckpt.capture_rng(sampler), ctx)
        if ctx.is_main:
            ckpt.save_checkpoint(out / ckpt.CHECKPOINT_NAME, {
                'net': net.state_dict(), 'optimizer': opt.state_dict(), 'step': step,
                'rng': rngs, 'normalization': norm, 'config': to_dict(cfg), 'kind': KIND})

    last = {}
    net.train()
    while step < end:
        lr = lr_at(step, cfg.steps, cfg.lr, cfg.warmup_steps, cfg.final_lr_ratio)
        for g in opt.param_groups:
            g['lr'] = lr
        x_alt = None
        if cfg.augment == 'appearance':
            raw, a, s = data.sample(sampler, cfg.batch_size, norm, ctx.device, raw=True)
            n_aug = max(1, int(round(cfg.augment_fraction * raw.shape[0])))
            x = imagenet_normalize(torch.cat([random_appearance(raw[:n_aug], aug_gen),
                                              raw[n_aug:]]))
            if cfg.invariance_weight > 0:
                x_alt = imagenet_normalize(random_appearance(raw[:, :1], aug_gen))[:, 0]
        else:
            x, a, s = data.sample(sampler, cfg.batch_size, norm, ctx.device)
        with autocast(ctx.device, cfg.dtype):
            teacher, rollout, reg, z, inv = ddp(x, a, s, x_alt)
        loss = teacher.float() + cfg.rollout_weight * rollout.float() \
            + cfg.sigreg_weight * reg.float() + cfg.invariance_weight * inv.float()
        if not torch.isfinite(loss):
            raise FloatingPointError(f'world-model loss became {loss.item()} at step {step}; '
                                     'lower --lr')
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
        opt.step()
        step += 1
        meter.tick()
        if progress is not None:
            progress.update(1)
        if step % cfg.log_every == 0 or step == end:
            diag = collapse_diagnostics(z.flatten(0, 1))
            last = {'loss': dd.all_reduce_mean(loss.item(), ctx),
                    'teacher': dd.all_reduce_mean(teacher.item(), ctx),
                    'rollout': dd.all_reduce_mean(rollout.item(), ctx),
                    'sigreg': dd.all_reduce_mean(reg.item(), ctx), 'lr': lr,
                    **({'invariance': dd.all_reduce_mean(inv.item(), ctx)}
                       if x_alt is not None else {}),
                    'image_spread': diag['image_spread'], 'eff_rank': diag['eff_rank'],
                    'steps_per_s': meter.rate}
            if ctx.is_main and val is not None and (step % cfg.eval_every == 0 or step == end):
                last.update(validate())
            if ctx.is_main:
                curves.log(step, **last)
                msg = ' '.join(f'{k} {v:.4g}' for k, v in last.items() if k != 'lr')
                log(f'step {step}/{cfg.steps} {msg}')
                warning = guard.update(diag['image_spread'], diag['eff_rank'])
                if warning:
                    log(f'WARNING: {warning}; raise --sigreg-weight')
        if step % cfg.checkpoint_every == 0 or step == end:
            save()
        if ctx.is_main and cfg.snapshot_every > 0 and step % cfg.snapshot_every == 0:
            save_compact(out / 'snapshots' / f'step_{step:06d}', net,
                         extra=dict(extra, snapshot_step=step))
    if progress is not None:
        progress.close()
    dd.broadcast_buffers(net, ctx)
    summary = dict(last)
    summary.update(step=step, steps=cfg.steps, steps_per_s=meter.rate, rank=ctx.rank,
                   world_size=ctx.world_size, params_digest=params_digest(net))
    if ctx.is_main:
        keys = [k for k in ('teacher', 'rollout', 'sigreg', 'val_ratio', 'eff_rank')
                if k in last]
        curves.plot(out / 'curves.png', keys=keys, title='train-wm')
        if step >= cfg.steps:
            extra['final'] = {k: v for k, v in summary.items() if isinstance(v, (int, float))}
            save_compact(out / 'model', net.eval(), extra=extra)
            summary['model_dir'] = str(out / 'model')
        write_json(out / 'summary.json', summary)
    dd.barrier(ctx)
    dd.shutdown(ctx)
    return summary


def run(args) -> int:
    """CLI entry: build the config from options (and ``--config`` YAML), train, return 0."""
    from jepa_ros.training.common import run_trainer
    return run_trainer(TrainWMConfig, train, args, 'train-wm')


if __name__ == '__main__':
    from jepa_ros.training.common import module_main
    sys.exit(module_main(sys.modules[__name__]))
