# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
``jepa-ros fit-probe``: fit a compact model's state probe on its own play data.

The encoder stays frozen: every frame is encoded once (plus ``augment_copies`` copies under a
random train-range appearance, so the probe reads unseen-looking scenes as well), then a small
MLP learns latents -> recorded end-effector position. Episodes are split as train-wm splits
them, and the held-out episodes' errors (median and 90th percentile, in centimetres) are
printed, stored in the probe file and written to ``probe_report.json`` next to it.
"""

import dataclasses
import sys
from typing import Tuple

HELP = ("fit a compact model's state probe (latents -> end-effector position) on play data, "
        "for the planner's goal_state_weight")


@dataclasses.dataclass
class FitProbeConfig:
    """Settings of ``jepa-ros fit-probe``."""

    model: str = 'default'               # compact model name or folder (the probe goes in it)
    # episode folders of the model's cameras (several: e.g. nominal + `collect --variation
    # train` play, for a probe that reads randomised scenes too)
    data: Tuple[str, ...] = ('data/play',)
    steps: int = 4000
    batch_size: int = 512
    lr: float = 1e-3
    hidden: int = 256
    augment_copies: int = 1              # extra encodings of every frame, random appearance
    val_fraction: float = 0.1
    seed: int = 0
    max_episodes: int = 0                # 0: all
    threads: int = 0                     # torch threads (0: torch's default)
    # what the model folder then recommends to the planner (config.json extra.planner, under
    # any device profile, below the user's own settings); weight 0 leaves it unchanged
    goal_state_weight: float = 10.0
    goal_state_deadzone: float = 0.05

    def validate(self):
        """Raise ConfigError on settings that cannot work."""
        from jepa_ros.utils.config import ConfigError
        for name in ('steps', 'batch_size', 'hidden'):
            if getattr(self, name) <= 0:
                raise ConfigError(f'FitProbeConfig.{name} must be positive')
        if self.augment_copies < 0 or self.max_episodes < 0 or self.threads < 0:
            raise ConfigError('FitProbeConfig.augment_copies, max_episodes and threads must '
                              'be >= 0')
        if not 0 < self.val_fraction < 1:
            raise ConfigError('FitProbeConfig.val_fraction must be in (0, 1): the report '
                              'needs held-out episodes')
        if not self.lr > 0:
            raise ConfigError('FitProbeConfig.lr must be > 0')
        # what the planner will accept, checked by the planner's own config
        from jepa_ros.planning.config import PlannerConfig
        PlannerConfig(goal_state_weight=self.goal_state_weight,
                      goal_state_deadzone=self.goal_state_deadzone)

    def __post_init__(self):
        self.validate()


def add_arguments(parser):
    """Add one option per FitProbeConfig field."""
    from jepa_ros.utils.config import add_arguments as add_cfg
    add_cfg(parser, FitProbeConfig)
    return parser


def encode_episodes(net, episodes, views, copies: int, generator, batch: int = 256,
                    log=None, recorded: bool = True):
    """
    Return latents [M, N*L] and the recorded end-effector positions [M, 3].

    Each frame appears as recorded (unless ``recorded`` is False), then ``copies`` times under
    random appearances.
    """
    import numpy as np
    import torch
    from jepa_ros.training.appearance_aug import random_appearance
    from jepa_ros.training.common import imagenet_normalize
    zs, ys = [], []
    passes = range(0 if recorded else 1, 1 + copies)
    total = len(episodes) * len(passes)
    done = 0
    for ep in episodes:
        recorded_views = ep.views()
        frames = np.stack([recorded_views[v] for v in views], axis=1)    # [T, V, H, W, 3]
        raw = torch.as_tensor(frames).permute(0, 1, 4, 2, 3).float().div_(255.0)
        for c in passes:
            for j in range(0, raw.shape[0], batch):
                x = raw[j:j + batch]
                if c:
                    x = random_appearance(x[:, None], generator)[:, 0]
                with torch.no_grad():
                    zs.append(net.encode(imagenet_normalize(x)).flatten(1))
            ys.append(torch.as_tensor(ep.states[:, :3], dtype=torch.float32))
            done += 1
            if log is not None and (done % 100 == 0 or done == total):
                log(f'encoded {done}/{total} episode passes')
    return torch.cat(zs), torch.cat(ys)


def errors_cm(probe, z, y) -> dict:
    """
    Return the probe's position error on (z, y): median, p90 and mean, in centimetres.

    ``constant_median_cm`` is the median error of always answering the training mean, the
    figure a probe that learned nothing would reach.
    """
    import torch
    with torch.no_grad():
        err = (probe(z) - y).norm(dim=1) * 100.0
        const = (probe.y_mean - y).norm(dim=1) * 100.0
    return {'median_cm': float(err.median()), 'p90_cm': float(torch.quantile(err, 0.9)),
            'mean_cm': float(err.mean()), 'constant_median_cm': float(const.median()),
            'frames': int(len(err))}


def train_probe(z, y, cfg: FitProbeConfig, progress: bool = False):
    """Return a StateProbe fitted to latents ``z`` [M, N*L] and positions ``y`` [M, 3]."""
    import math
    import torch
    from jepa_ros.models.state_probe import StateProbe
    torch.manual_seed(cfg.seed)
    probe = StateProbe(z.shape[1], cfg.hidden)
    probe.set_scaling(z, y)
    target = (y - probe.y_mean) / probe.y_std
    opt = torch.optim.AdamW(probe.mlp.parameters(), lr=cfg.lr, weight_decay=1e-4)
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=cfg.steps, desc='fit-probe', unit='step')
    for step in range(cfg.steps):
        for g in opt.param_groups:  # cosine decay to zero
            g['lr'] = cfg.lr * 0.5 * (1.0 + math.cos(math.pi * step / cfg.steps))
        idx = torch.randint(0, len(z), (cfg.batch_size,))
        loss = (probe.normalized(z[idx]) - target[idx]).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return probe.eval()


def recommend(model_dir, settings: dict):
    """Add planner ``settings`` to a model folder's recommendation (config.json, atomic)."""
    from jepa_ros.data.episode import atomic_write_bytes
    from jepa_ros.models.checkpoint import _read_config, CONFIG, config_text
    path = model_dir / CONFIG
    meta = _read_config(path)
    extra = meta.setdefault('extra', {})
    extra['planner'] = dict(extra.get('planner') or {}, **settings)
    text = config_text(meta).encode('utf-8')
    atomic_write_bytes(path, lambda fh: fh.write(text))


def fit(cfg: FitProbeConfig, log=print) -> dict:
    """Fit and save the probe; return the report (errors on held-out episodes)."""
    import time
    from types import SimpleNamespace
    import torch
    from jepa_ros.data import list_episodes, load_episodes, split_episodes
    from jepa_ros.data.episode import EpisodeError
    from jepa_ros.models.checkpoint import resolve_model_dir
    from jepa_ros.models.compact_checkpoint import load_compact
    from jepa_ros.models.state_probe import save_probe
    from jepa_ros.training.common import write_json
    from jepa_ros.training.train_ac import view_indices
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    t0 = time.perf_counter()
    model_dir = resolve_model_dir(cfg.model)
    net, extra = load_compact(model_dir)
    net.eval().requires_grad_(False)
    if int(net.config.state_dim) == 0 or extra.get('action_space'):
        raise EpisodeError(f'{model_dir} is a model of an action box without end-effector '
                           "states; a state probe needs the arm's recorded positions")
    paths = [p for d in cfg.data for p in list_episodes(d)]
    if cfg.max_episodes:
        paths = paths[:cfg.max_episodes]
    if len(paths) < 2:
        raise EpisodeError(f'fit-probe needs at least 2 episodes in {" ".join(cfg.data)} '
                           f'(one held out), found {len(paths)}')
    train_paths, val_paths = split_episodes(paths, cfg.val_fraction, seed=cfg.seed)
    size = int(net.config.img_size)
    train_eps = load_episodes(train_paths, size)
    val_eps = load_episodes(val_paths, size)
    if not train_eps or not val_eps:
        raise EpisodeError(f'no usable episodes in {" ".join(cfg.data)} for a train/held-out '
                           'split')
    # the model's views by camera name, as train-wm picked them (an error names what is missing)
    views = view_indices(SimpleNamespace(cameras=tuple(extra.get('cameras') or ()),
                                         views=int(net.config.num_views),
                                         data=' '.join(cfg.data)), train_eps + val_eps)
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + 7)
    log(f'fit-probe: encoding {len(train_eps)} + {len(val_eps)} episodes x '
        f'{1 + cfg.augment_copies} appearances with {model_dir.name}')
    z, y = encode_episodes(net, train_eps, views, cfg.augment_copies, gen, log=log)
    zv, yv = encode_episodes(net, val_eps, views, 0, gen)
    zva, yva = encode_episodes(net, val_eps, views, 1, gen, recorded=False)
    probe = train_probe(z, y, cfg, progress=sys.stderr.isatty())
    sub = torch.randperm(len(z), generator=gen)[:5000]
    report = {'held_out': errors_cm(probe, zv, yv),
              'held_out_appearance': errors_cm(probe, zva, yva),
              'train': errors_cm(probe, z[sub], y[sub]),
              'episodes': {'train': len(train_eps), 'held_out': len(val_eps)},
              'data': list(cfg.data), 'steps': cfg.steps, 'augment_copies': cfg.augment_copies,
              'seconds': round(time.perf_counter() - t0, 1)}
    path = save_probe(model_dir, probe, report)
    write_json(model_dir / 'probe_report.json', report)
    if cfg.goal_state_weight > 0:
        recommend(model_dir, {'goal_state_weight': cfg.goal_state_weight,
                              'goal_state_deadzone': cfg.goal_state_deadzone})
    h, ha = report['held_out'], report['held_out_appearance']
    log(f'fit-probe: held-out end-effector error median {h["median_cm"]:.1f} cm, p90 '
        f'{h["p90_cm"]:.1f} cm (random appearance: {ha["median_cm"]:.1f} / '
        f'{ha["p90_cm"]:.1f} cm); wrote {path}')
    return report


def run(args) -> int:
    """CLI entry."""
    from jepa_ros.utils.config import from_args
    fit(from_args(FitProbeConfig, args))
    return 0


if __name__ == '__main__':
    from jepa_ros.training.common import module_main
    sys.exit(module_main(sys.modules[__name__]))
