# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
``jepa-ros eval-model``: measure a trained world model on held-out play episodes.

Two measures, written as JSON:

- latent prediction error: from the true tokens of frame t and the actions really taken, roll
  the predictor k = 1, 2, 4 steps and take the L1 error to the true tokens of frame t+k, next to
  the copy-last-frame baseline (error of just keeping frame t); ratio < 1 means the model learned
  something about motion;
- action recovery: plan one step from frame t towards frame t+1 with the CEM planner and compare
  the planned action with the one really taken (median translation error in cm, per axis, and
  gripper open/hold/close accuracy), next to the zero-action baseline.
"""

import dataclasses
import json
from pathlib import Path
import time
from typing import Tuple

NAME = 'eval-model'
HELP = 'Evaluate a trained world model on held-out episodes (latent error, action recovery).'


@dataclasses.dataclass
class EvalConfig:
    """Evaluation settings."""

    model: str = 'runs/ac/model'
    data: str = ''
    out: str = ''
    max_episodes: int = 20
    horizons: Tuple[int, ...] = (1, 2, 4)
    start_stride: int = 2
    recovery_samples: int = 40
    samples: int = 128
    iterations: int = 4
    topk: int = 12
    gripper_threshold: float = 0.1
    energy_weighting: str = 'none'   # PlannerConfig.energy_weighting of the recovery planner
    energy_weight_floor: float = 0.2
    seed: int = 0
    device: str = 'cpu'
    threads: int = 0

    def validate(self):
        """Raise ConfigError on impossible settings."""
        from jepa_ros.utils.config import ConfigError
        if not self.horizons or min(self.horizons) < 1:
            raise ConfigError('EvalConfig.horizons must be positive integers')
        if self.max_episodes < 1 or self.start_stride < 1 or self.recovery_samples < 0:
            raise ConfigError('EvalConfig needs max_episodes >= 1, start_stride >= 1, '
                              'recovery_samples >= 0')


def _gripper_class(x, thr):
    import numpy as np
    return np.where(x > thr, 1, np.where(x < -thr, -1, 0))


def evaluate(cfg: EvalConfig, log=print):
    """Run both measures; return the result dict (also written to ``cfg.out`` when set)."""
    import numpy as np
    import torch
    from jepa_ros.data import list_episodes, load_episodes
    from jepa_ros.models import load_model
    from jepa_ros.planning import CEMPlanner, PlannerConfig, VJEPA2WorldModel
    from jepa_ros.training.common import write_json
    from jepa_ros.training.features import encode_episode_frames
    from jepa_ros.training.normalization import check_normalization, normalize

    cfg.validate()
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    t_start = time.perf_counter()
    from jepa_ros.models.compact_checkpoint import model_family
    from jepa_ros.models.config import CheckpointError
    if model_family(cfg.model) == 'compact':
        raise CheckpointError(
            f'{cfg.model} is a compact (end-to-end) world model: eval-model measures V-JEPA '
            '2-AC token models. Its held-out prediction error / copy-last-frame is the val_ratio '
            'column of its training curves.csv; measure it closed loop with `jepa-ros eval '
            f'--checkpoint {cfg.model}`')
    encoder, predictor, extra = load_model(cfg.model, device=cfg.device)
    if encoder is None or predictor is None:
        raise CheckpointError(f'{cfg.model} must hold both an encoder and a predictor '
                              '(the output of `jepa-ros train-ac`)')
    if 'normalization' not in extra:
        raise CheckpointError(f'{cfg.model} has no extra["normalization"]: it is not a '
                              'trained world model; give a model folder written by train-ac')
    norm = check_normalization(extra['normalization'])
    size = int(extra.get('image_size', predictor.config.img_size))
    if cfg.data:
        paths = list_episodes(cfg.data)
        source = cfg.data
    else:
        paths = [Path(p) for p in extra.get('val_episodes', []) if Path(p).is_file()]
        source = 'the validation episodes recorded in the model'
    if not paths:
        raise ValueError(f'no held-out episodes: pass --data DIR (none found in {source})')
    hmax = max(cfg.horizons)
    episodes = load_episodes(paths[:cfg.max_episodes], size, min_steps=hmax + 1)
    if not episodes:
        raise ValueError(f'no episode in {source} has {hmax + 1} steps')
    n_tok = predictor.config.tokens_per_frame
    views = predictor.config.num_views
    short = [ep for ep in episodes if ep.num_views < views]
    if short:
        raise ValueError(f'the model reads {views} camera views but {len(short)} episode(s) in '
                         f'{source} hold fewer; evaluate on data recorded with the same '
                         'cameras (jepa-ros collect --extra-cameras ...)')
    from jepa_ros.training.train_ac import episode_cameras
    wanted = list(extra.get('cameras') or [])
    pick = list(range(views))
    if len(wanted) == views and all(c in episode_cameras(episodes[0]) for c in wanted):
        pick = [episode_cameras(episodes[0]).index(c) for c in wanted]   # by camera name

    def frames_of(ep):
        all_views = ep.views()
        return [all_views[i] for i in pick]
    errs = {k: [] for k in cfg.horizons}
    base = {k: [] for k in cfg.horizons}
    with torch.no_grad():
        for ep in episodes:
            z = torch.cat([encode_episode_frames(encoder, f, cfg.device).float()
                           for f in frames_of(ep)], dim=1)
            starts = np.arange(0, ep.num_steps - hmax, cfg.start_stride)
            if len(starts) == 0:
                continue
            a = normalize(torch.as_tensor(ep.actions, dtype=torch.float32),
                          norm['action_mean'], norm['action_std'])
            s = normalize(torch.as_tensor(ep.states, dtype=torch.float32),
                          norm['state_mean'], norm['state_std'])
            acts = torch.stack([a[t:t + hmax] for t in starts])
            sts = torch.stack([s[t:t + hmax] for t in starts])
            seq = z[starts]                                    # [B, N, D]
            for i in range(hmax):
                nxt = predictor(seq, acts[:, :i + 1], sts[:, :i + 1])[:, -n_tok:]
                seq = torch.cat([seq, nxt], 1)
                k = i + 1
                if k in errs:
                    true = z[starts + k]
                    errs[k].append((nxt - true).abs().mean((1, 2)).numpy())
                    base[k].append((z[starts] - true).abs().mean((1, 2)).numpy())
    latent = {}
    for k in cfg.horizons:
        e, b = np.concatenate(errs[k]), np.concatenate(base[k])
        latent[str(k)] = {'model_l1': float(e.mean()), 'copy_last_l1': float(b.mean()),
                          'ratio': float(e.mean() / max(b.mean(), 1e-12)),
                          'beats_copy_fraction': float(np.mean(e < b)), 'count': int(len(e))}
        log(f'{k}-step latent L1 {e.mean():.4f} vs copy-last {b.mean():.4f} '
            f'(ratio {latent[str(k)]["ratio"]:.3f})')
    recovery = None
    if cfg.recovery_samples > 0:
        wm = VJEPA2WorldModel(encoder, predictor, device=cfg.device, normalization=norm,
                              image_size=size)
        planner = CEMPlanner(wm, PlannerConfig(horizon=1, samples=cfg.samples,
                                               iterations=cfg.iterations, topk=cfg.topk,
                                               energy_weighting=cfg.energy_weighting,
                                               energy_weight_floor=cfg.energy_weight_floor,
                                               seed=cfg.seed))
        rng = np.random.default_rng(cfg.seed)
        pairs = [(e, t) for e, ep in enumerate(episodes) for t in range(ep.num_steps - 1)]
        picks = rng.choice(len(pairs), size=min(cfg.recovery_samples, len(pairs)), replace=False)
        planned, true, ms = [], [], []
        for i in picks:
            e, t = pairs[i]
            ep = episodes[e]
            planner.reset()
            vs = frames_of(ep)
            obs = np.stack([f[t] for f in vs]) if views > 1 else vs[0][t]
            goal = np.stack([f[t + 1] for f in vs]) if views > 1 else vs[0][t + 1]
            plan = planner.plan(obs, ep.states[t], goal)
            planned.append(np.asarray(plan.first_action, float))
            true.append(np.asarray(ep.actions[t], float))
            ms.append(plan.ms)
        planned, true = np.stack(planned), np.stack(true)
        d = planned[:, :3] - true[:, :3]
        gp = _gripper_class(planned[:, 6], cfg.gripper_threshold)
        gt = _gripper_class(true[:, 6], cfg.gripper_threshold)
        recovery = {
            'median_translation_error_cm': float(np.median(np.linalg.norm(d, axis=1)) * 100),
            'median_abs_error_cm_xyz': (np.median(np.abs(d), axis=0) * 100).tolist(),
            'zero_action_median_error_cm': float(
                np.median(np.linalg.norm(true[:, :3], axis=1)) * 100),
            'gripper_accuracy': float(np.mean(gp == gt)),
            'gripper_majority_baseline': float(np.max(np.bincount(gt + 1, minlength=3)) / len(gt)),
            'direction_cosine_median': float(np.median(
                (planned[:, :3] * true[:, :3]).sum(1) / np.maximum(
                    np.linalg.norm(planned[:, :3], axis=1) * np.linalg.norm(true[:, :3], axis=1),
                    1e-9))),
            'plan_ms_median': float(np.median(ms)), 'count': int(len(picks)),
            'planner': {'samples': cfg.samples, 'iterations': cfg.iterations, 'topk': cfg.topk}}
        log(f'action recovery: median error {recovery["median_translation_error_cm"]:.2f} cm '
            f'(zero action {recovery["zero_action_median_error_cm"]:.2f} cm), gripper accuracy '
            f'{recovery["gripper_accuracy"]:.2f}, {recovery["plan_ms_median"]:.0f} ms/plan')
    result = {'model': str(cfg.model), 'episodes': len(episodes), 'source': source,
              'image_size': size, 'latent_prediction': latent, 'action_recovery': recovery,
              'seconds': time.perf_counter() - t_start,
              'config': {k: list(v) if isinstance(v, tuple) else v
                         for k, v in dataclasses.asdict(cfg).items()}}
    if cfg.out:
        write_json(cfg.out, result)
    return result


def add_arguments(parser):
    """Add one option per EvalConfig field."""
    from jepa_ros.utils.config import add_arguments as add_cfg
    add_cfg(parser, EvalConfig)
    return parser


def run(args) -> int:
    """CLI entry: evaluate and print the JSON result."""
    from jepa_ros.utils.config import from_args
    result = evaluate(from_args(EvalConfig, args))
    print(json.dumps(result['latent_prediction'], indent=1))
    return 0


if __name__ == '__main__':
    import sys
    from jepa_ros.training.common import module_main
    sys.exit(module_main(sys.modules[__name__]))
