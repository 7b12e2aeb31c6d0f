# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
``jepa-ros train-ac``: the V-JEPA 2-AC objective on a frozen encoder.

Every frame is encoded once (layer-normed tokens, cached in RAM); the action-conditioned
predictor then learns from clips with a teacher-forcing loss (true tokens of steps 0..T-2 predict
steps 1..T-1) plus a rollout loss (from step 0 alone, its own predictions fed back for
``rollout_steps`` steps), both L1. Actions and states are normalised with statistics of the
training episodes, stored as ``extra['normalization']`` in the saved model so
``VJEPA2WorldModel.from_checkpoint(OUT/model)`` plans with the same scaling. Validation reports
the loss relative to the copy-last-frame baseline. DDP via ``torchrun``; resumable.
"""

import dataclasses
from pathlib import Path
import sys
from typing import Callable, List, Optional, Tuple

NAME = 'train-ac'
HELP = 'Train the action-conditioned predictor (V-JEPA 2-AC objective) on a frozen encoder.'


@dataclasses.dataclass
class TrainACConfig:
    """AC training settings (defaults sized for a shared 2-core CPU: about 35-55 minutes)."""

    data: str = 'data/play'
    out: str = 'runs/ac'
    encoder: str = 'runs/pretrain/model'
    predictor_preset: str = 'tiny'
    pred_depth: int = 0
    pred_dim: int = 0
    residual: bool = True  # predict token changes (start at the copy baseline): PredictorConfig
    # Camera views per step: 0 uses every view the episodes hold (see Episode.extra_frames),
    # 1 only the first camera; a multi-view model tags each view's tokens (num_views).
    views: int = 0
    # Or pick views by camera name (as recorded in the episodes' metadata), e.g. ['side'].
    cameras: Tuple[str, ...] = ()
    image_size: int = 64
    clip_len: int = 3
    frame_stride: int = 1
    rollout_steps: int = 2
    rollout_weight: float = 1.0
    batch_size: int = 32
    steps: int = 2000
    lr: float = 1e-3
    final_lr_ratio: float = 0.05
    warmup_steps: int = 100
    weight_decay: float = 0.04
    grad_clip: float = 1.0
    val_fraction: float = 0.1
    val_clips: int = 256
    eval_every: int = 250
    log_every: int = 50
    checkpoint_every: int = 250
    snapshot_every: int = 0   # >0: also keep OUT/snapshots/step_N (a model folder) for curves
    stop_at: int = 0          # >0: end this run at that step (the schedule still spans `steps`)
    seed: int = 0
    device: str = 'auto'
    dtype: str = 'fp32'
    resume: bool = True
    max_episodes: int = 0
    threads: int = 0

    def validate(self):
        """Raise ConfigError on settings that cannot work."""
        from jepa_ros.utils.config import ConfigError
        for name in ('image_size', 'batch_size', 'steps', 'log_every', 'checkpoint_every',
                     'eval_every', 'frame_stride'):
            if getattr(self, name) <= 0:
                raise ConfigError(f'TrainACConfig.{name} must be positive')
        if self.clip_len < 2:
            raise ConfigError('TrainACConfig.clip_len must be >= 2 (one action at least)')
        if self.rollout_steps < 0 or self.rollout_steps > self.clip_len - 1:
            raise ConfigError(f'TrainACConfig.rollout_steps must be in [0, clip_len - 1 = '
                              f'{self.clip_len - 1}]')
        if not 0 <= self.val_fraction < 1:
            raise ConfigError('TrainACConfig.val_fraction must be in [0, 1)')
        if self.dtype not in ('fp32', 'bf16'):
            raise ConfigError("TrainACConfig.dtype must be 'fp32' or 'bf16'")
        if self.views < 0:
            raise ConfigError('TrainACConfig.views must be >= 0 (0: every view in the data)')


def add_arguments(parser):
    """Add one option per TrainACConfig field (and ``--config`` YAML)."""
    from jepa_ros.utils.config import add_arguments as add_cfg
    parser.add_argument('--config', default=None, help='YAML file with TrainACConfig keys')
    add_cfg(parser, TrainACConfig)
    return parser


def build_predictor(cfg: TrainACConfig, encoder, num_views: int = 1):
    """Return a fresh ACPredictor sized for ``encoder`` tokens at ``cfg.image_size``."""
    from jepa_ros.models import ACPredictor, predictor_preset
    over = {'img_size': cfg.image_size, 'patch_size': encoder.config.patch_size,
            'residual': cfg.residual, 'num_views': int(num_views)}
    if cfg.pred_depth > 0:
        over['depth'] = cfg.pred_depth
    if cfg.pred_dim > 0:
        over['embed_dim'] = cfg.pred_dim
    return ACPredictor(predictor_preset(cfg.predictor_preset,
                                        encoder_dim=encoder.config.embed_dim, **over))


def episode_cameras(episode) -> List[str]:
    """Return the camera name of every view of an episode (first camera first)."""
    meta = episode.metadata or {}
    if meta.get('views'):
        return list(meta['views'])
    names = [(meta.get('camera') or {}).get('name') or 'camera']
    return names + [f'view{i}' for i in range(1, episode.num_views)]


def view_indices(cfg: TrainACConfig, episodes) -> List[int]:
    """Return which views of the episodes to train on; ValueError when they lack them."""
    if cfg.cameras:
        out = []
        for name in cfg.cameras:
            missing = [i for i, ep in enumerate(episodes) if name not in episode_cameras(ep)]
            if missing:
                raise ValueError(f'camera {name!r} is not recorded in {len(missing)} episode(s) '
                                 f'of {cfg.data} (they hold '
                                 f'{", ".join(episode_cameras(episodes[missing[0]]))})')
            idx = {episode_cameras(ep).index(name) for ep in episodes}
            if len(idx) > 1:
                raise ValueError(f'camera {name!r} is not the same view in every episode')
            out.append(idx.pop())
        return out
    return list(range(data_views(cfg, episodes)))


def data_views(cfg: TrainACConfig, episodes) -> int:
    """Return how many views to train on; raise ValueError when the episodes lack them."""
    have = min(ep.num_views for ep in episodes)
    want = cfg.views or have
    if want > have:
        raise ValueError(f'TrainACConfig.views={cfg.views} but some episodes in {cfg.data} hold '
                         f'only {have} camera view(s); record more with `jepa-ros collect '
                         '--extra-cameras side` or use --views 1')
    if len({ep.num_views for ep in episodes}) > 1 and not cfg.views:
        raise ValueError(f'episodes in {cfg.data} hold different numbers of views; pass '
                         '--views N to use the first N of each')
    return want


def prepare_features(cfg: TrainACConfig, paths, encoder, device, log=print, views=None):
    """
    Load episodes at ``cfg.image_size``, encode every frame; return (episodes, tokens, views).

    ``views`` (indices into each episode's views) defaults to ``view_indices(cfg, episodes)``.

    With V views, each view is encoded alone and the tokens are concatenated view by view
    ([T, V * N, D]), the layout the multi-view predictor and world model use.
    """
    import time
    import torch
    from jepa_ros.data import load_episodes
    from jepa_ros.training.features import encode_episode_frames
    t0 = time.perf_counter()
    span = (cfg.clip_len - 1) * cfg.frame_stride + 1
    episodes = load_episodes(paths, cfg.image_size, min_steps=span)
    if not episodes:
        return episodes, [], views or [0]
    if views is None:
        views = view_indices(cfg, episodes)
    tokens = []
    for ep in episodes:
        frames = ep.views()
        tokens.append(torch.cat([encode_episode_frames(encoder, frames[i], device)
                                 for i in views], dim=1))
        ep.frames = ep.frames[:0]    # frames are no longer needed; keep RAM for tokens
        ep.extra_frames = []
    n = sum(len(t) for t in tokens)
    log(f'encoded {n} frames x {len(views)} view(s) of {len(episodes)} episodes in '
        f'{time.perf_counter() - t0:.1f} s')
    return episodes, tokens, views


def train(cfg: TrainACConfig, stop_after: Optional[int] = None,
          log: Callable[[str], None] = print):
    """
    Run (or resume) AC training; return a summary dict.

    ``stop_after`` ends this process after that many steps (simulating a killed run).
    """
    import numpy as np
    import torch
    from jepa_ros.data import list_episodes, split_episodes
    from jepa_ros.models import save_model
    from jepa_ros.training import checkpoint as ckpt
    from jepa_ros.training import distributed as dd
    from jepa_ros.training.common import autocast, params_digest, RateMeter, write_json
    from jepa_ros.training.curves import CurveLog
    from jepa_ros.training.ema import lr_at
    from jepa_ros.training.features import FeatureClips, load_encoder
    from jepa_ros.training.losses import ac_losses
    from jepa_ros.training.normalization import compute_normalization
    from jepa_ros.utils.config import to_dict

    cfg.validate()
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    ctx = dd.init_distributed(cfg.device)
    out = Path(cfg.out)
    if ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
    # Read (and vet) a checkpoint to resume from before minutes go into loading data.
    state = (ckpt.load_checkpoint(out / ckpt.CHECKPOINT_NAME, kind='jepa_ros.train_ac')
             if cfg.resume else None)
    paths = list_episodes(cfg.data)
    if cfg.max_episodes > 0:
        paths = paths[:cfg.max_episodes]
    train_paths, val_paths = split_episodes(paths, cfg.val_fraction, seed=cfg.seed)
    encoder = load_encoder(cfg.encoder, cfg.image_size, ctx.device)
    episodes, tokens, views = prepare_features(cfg, train_paths, encoder, ctx.device,
                                               log if ctx.is_main else (lambda *_: None))
    if not episodes:
        from jepa_ros.data.episode import EpisodeError
        if not train_paths:
            raise EpisodeError(f'no episode_*.npz files in {cfg.data}: point --data at a folder '
                               'made by jepa-ros collect, import-bag or the recorder node')
        raise EpisodeError(f'no usable training episode in {cfg.data}: all {len(train_paths)} '
                           'episode files are unreadable, corrupt or too short (see the '
                           'warnings above); record or collect them again')
    env_eps = [e for e in episodes if isinstance(e.metadata.get('action_space'), dict)]
    if env_eps:
        from jepa_ros.utils.config import ConfigError
        raise ConfigError(f'{cfg.data} holds episodes of {env_eps[0].metadata.get("env")} '
                          f'(its own action box): train-ac trains the V-JEPA 2-AC predictor on '
                          f'the 7-D end-effector states of the arm; use jepa-ros train-wm '
                          f'for other environments')
    data = FeatureClips(episodes, tokens, cfg.clip_len, cfg.frame_stride)
    val = None
    if val_paths and ctx.is_main:
        v_eps, v_tok, _ = prepare_features(cfg, val_paths, encoder, ctx.device,
                                           lambda *_: None, views=views)
        if v_eps:
            val = FeatureClips(v_eps, v_tok, cfg.clip_len, cfg.frame_stride)
    norm = compute_normalization(np.concatenate([e.states for e in episodes]),
                                 np.concatenate([e.actions for e in episodes]))
    n_tok = tokens[0].shape[1]
    torch.manual_seed(cfg.seed)
    predictor = build_predictor(cfg, encoder, len(views)).to(ctx.device)
    if predictor.config.tokens_per_frame != n_tok:
        raise ValueError(f'predictor expects {predictor.config.tokens_per_frame} tokens per '
                         f'frame, the encoder gives {n_tok}; check image_size / patch_size')

    class ACLoss(torch.nn.Module):
        """Both V-JEPA 2-AC losses in one forward, so DDP sees a single call."""

        def __init__(self, pred):
            super().__init__()
            self.pred = pred

        def forward(self, z, a, s):
            return ac_losses(self.pred, z, a, s, n_tok, cfg.rollout_steps)

    module = ACLoss(predictor)
    extr = getattr(predictor, 'extrinsics_encoder', None)
    if extr is not None and not predictor.config.use_extrinsics:
        extr.requires_grad_(False)   # never used: DDP would wait forever for its gradients
    trainable = [p for p in predictor.parameters() if p.requires_grad]
    decay = [p for p in trainable if p.ndim >= 2]
    no_decay = [p for p in trainable if p.ndim < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': cfg.weight_decay},
                             {'params': no_decay, 'weight_decay': 0.0}], lr=cfg.lr,
                            betas=(0.9, 0.95))
    sampler = np.random.default_rng([cfg.seed, ctx.rank])
    step = 0
    best_val = float('inf')
    if state is not None:
        predictor.load_state_dict(state['predictor'])
        opt.load_state_dict(state['optimizer'])
        step = int(state['step'])
        best_val = float(state.get('best_val', best_val))
        rngs = state['rng']
        ckpt.restore_rng(rngs[ctx.rank] if ctx.rank < len(rngs) else rngs[0], sampler)
        norm = state['normalization']
        log(f'resumed from {out / ckpt.CHECKPOINT_NAME} at step {step}')
    ddp = dd.wrap_ddp(module, ctx)
    curves = CurveLog(out / 'curves.csv', resume_step=step) if ctx.is_main else None
    val_idx = val.fixed(cfg.val_clips, cfg.seed) if val is not None else None
    meter = RateMeter()
    end = cfg.steps if stop_after is None else min(cfg.steps, step + int(stop_after))
    if cfg.stop_at > 0:
        end = min(end, cfg.stop_at)
    extra = {'kind': 'jepa_ros.ac', 'normalization': norm, 'image_size': cfg.image_size,
             'clip_len': cfg.clip_len, 'frame_stride': cfg.frame_stride,
             'encoder_source': cfg.encoder,
             'cameras': [episode_cameras(episodes[0])[i] for i in views],
             'train_ac': to_dict(cfg), 'val_episodes': [str(p) for p in val_paths]}
    if ctx.is_main:
        log(f'train-ac: {len(episodes)} train / {len(val_paths)} val episodes, {len(data)} '
            f'clips, {sum(p.numel() for p in predictor.parameters()) / 1e6:.2f}M params, '
            f'world {ctx.world_size}')
    progress = None
    if ctx.is_main and sys.stderr.isatty():
        from tqdm import tqdm
        progress = tqdm(total=cfg.steps, initial=step, desc='train-ac', unit='step')

    @torch.no_grad()
    def validate():
        predictor.eval()
        tf, ro, base = [], [], []
        for i in range(0, len(val_idx), 64):
            z, a, s = val.get(val_idx[i:i + 64], norm, ctx.device)
            t, r = ac_losses(predictor, z, a, s, n_tok, cfg.rollout_steps)
            tf.append(t.item())
            ro.append(r.item())
            base.append((z[:, n_tok:] - z[:, :-n_tok]).abs().mean().item())
        predictor.train()
        b = float(np.mean(base))
        return {'val_teacher': float(np.mean(tf)), 'val_rollout': float(np.mean(ro)),
                'val_copy_baseline': b, 'val_ratio': float(np.mean(tf)) / max(b, 1e-12)}

    def save():
        rngs = dd.gather_objects(ckpt.capture_rng(sampler), ctx)
        if ctx.is_main:
            ckpt.save_checkpoint(out / ckpt.CHECKPOINT_NAME, {
                'predictor': predictor.state_dict(), 'optimizer': opt.state_dict(), 'step': step,
                'rng': rngs, 'normalization': norm, 'best_val': best_val, 'config': to_dict(cfg),
                'kind': 'jepa_ros.train_ac'})

    last = {}
    while step < end:
        lr = lr_at(step, cfg.steps, cfg.lr, cfg.warmup_steps, cfg.final_lr_ratio)
        for g in opt.param_groups:
            g['lr'] = lr
        z, a, s = data.sample(sampler, cfg.batch_size, norm, ctx.device)
        with autocast(ctx.device, cfg.dtype):
            teacher, rollout = ddp(z, a, s)
        loss = teacher.float() + cfg.rollout_weight * rollout.float()
        if not torch.isfinite(loss):
            raise FloatingPointError(f'AC loss became {loss.item()} at step {step}; lower --lr')
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(trainable, cfg.grad_clip)
        opt.step()
        step += 1
        meter.tick()
        if progress is not None:
            progress.update(1)
        if step % cfg.log_every == 0 or step == end:
            last = {'loss': dd.all_reduce_mean(loss.item(), ctx),
                    'teacher': dd.all_reduce_mean(teacher.item(), ctx),
                    'rollout': dd.all_reduce_mean(rollout.item(), ctx), 'lr': lr,
                    'steps_per_s': meter.rate}
            if ctx.is_main and val is not None and (step % cfg.eval_every == 0 or step == end):
                last.update(validate())
                best_val = min(best_val, last['val_teacher'])
            if ctx.is_main:
                curves.log(step, **last)
                msg = ' '.join(f'{k} {v:.4g}' for k, v in last.items() if k != 'lr')
                log(f'step {step}/{cfg.steps} {msg}')
        if step % cfg.checkpoint_every == 0 or step == end:
            save()
        if ctx.is_main and cfg.snapshot_every > 0 and step % cfg.snapshot_every == 0:
            snap = dict(extra, snapshot_step=step)
            save_model(out / 'snapshots' / f'step_{step:06d}', encoder, predictor.eval(),
                       extra=snap)
            predictor.train()
    if progress is not None:
        progress.close()
    summary = dict(last)
    summary.update(step=step, steps=cfg.steps, steps_per_s=meter.rate, rank=ctx.rank,
                   world_size=ctx.world_size, params_digest=params_digest(predictor))
    if ctx.is_main:
        keys = [k for k in ('loss', 'teacher', 'rollout', 'val_ratio') if k in last]
        curves.plot(out / 'curves.png', keys=keys, title='train-ac')
        if step >= cfg.steps:
            extra['final'] = {k: v for k, v in summary.items() if isinstance(v, (int, float))}
            save_model(out / 'model', encoder, predictor.eval(), extra=extra)
            summary['model_dir'] = str(out / 'model')
        write_json(out / 'summary.json', summary)
    dd.barrier(ctx)
    dd.shutdown(ctx)
    return summary


def run(args) -> int:
    """CLI entry: build the config from options (and ``--config`` YAML), train, return 0."""
    from jepa_ros.training.common import run_trainer
    return run_trainer(TrainACConfig, train, args, 'train-ac')


if __name__ == '__main__':
    from jepa_ros.training.common import module_main
    sys.exit(module_main(sys.modules[__name__]))
