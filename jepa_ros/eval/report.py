# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Evaluation artefacts: results.json, a PNG summary and a GIF of episodes beside their goals.

The PNG has success rate per task and method (left) and the mean task distance over the
episode's steps with the success threshold dashed (right). The GIF shows, per frame, the goal
image (the active sub-goal for pick-and-place) on the left and the camera on the right.
"""

import json
import math
from pathlib import Path
from typing import List

import numpy as np

COLORS = {'planner': '#1f77b4', 'untrained': '#ff7f0e', 'random': '#7f7f7f',
          'hold': '#bcbd22', 'oracle': '#2ca02c'}


def _clean(value):
    """Return JSON-ready data: NaN/inf become None, numpy scalars plain numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_results(path, results: dict) -> Path:
    """Write results (without private ``_`` keys) as indented JSON; return the path."""
    path = Path(path)
    data = {k: v for k, v in results.items() if not k.startswith('_')}
    path.write_text(json.dumps(_clean(data), indent=1) + '\n')
    return path


def save_summary_png(path, results: dict) -> Path:
    """Draw success per task/method and distance over time; return the path."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from jepa_ros.eval.tasks import SUCCESS_THRESHOLDS

    tasks = list(results['tasks'])
    methods = results['methods']
    fig, axes = plt.subplots(1, 1 + len(tasks), figsize=(4.2 * (1 + len(tasks)), 3.6))
    ax = axes[0]
    width = 0.8 / max(1, len(methods))
    for j, m in enumerate(methods):
        rates = [100 * results['tasks'][t][m]['success_rate'] if m in results['tasks'][t]
                 else 0.0 for t in tasks]
        xs = np.arange(len(tasks)) + (j - (len(methods) - 1) / 2) * width
        ax.bar(xs, rates, width, label=m, color=COLORS.get(m))
    ax.set_xticks(np.arange(len(tasks)), tasks)
    ax.set_ylim(0, 100)
    ax.set_ylabel('success [%]')
    n = results['tasks'][tasks[0]][methods[0]]['episodes']
    ax.set_title(f'success ({n} episodes per task)')
    ax.legend(fontsize=7)
    for ax, task in zip(axes[1:], tasks):
        for m in methods:
            recs = results['tasks'][task].get(m, {}).get('records', [])
            if not recs:
                continue
            longest = max(len(r['distances_m']) for r in recs)
            # after an episode ends (success or budget), its last distance carries on
            padded = np.array([r['distances_m'] + [r['distances_m'][-1]] *
                               (longest - len(r['distances_m'])) for r in recs])
            ax.plot(padded.mean(axis=0), label=m, color=COLORS.get(m))
        ax.axhline(SUCCESS_THRESHOLDS[task], color='k', ls='--', lw=0.8)
        ax.set_title(f'{task}: mean distance to goal')
        ax.set_xlabel('step')
        ax.set_ylabel('cube' if task != 'reach' else 'end effector')
        ax.set_ylim(bottom=0)
    fig.suptitle(results['model']['description'], fontsize=9)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _label(img, text, bottom=False):
    import cv2
    out = np.ascontiguousarray(img).copy()
    scale = max(0.3, out.shape[0] / 320)
    y = out.shape[0] - 4 if bottom else int(14 * scale / 0.4)
    cv2.putText(out, text, (3, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1,
                cv2.LINE_AA)
    return out


def episode_frames(rec: dict) -> List[np.ndarray]:
    """Return side-by-side frames (goal | camera) with step and distance written on them."""
    goals = rec['goals']
    active = rec.get('goal_index') or [0]
    out = []
    for k, frame in enumerate(rec['frames']):
        g = goals[min(len(goals) - 1, active[min(k, len(active) - 1)])]
        d = rec['distances_m'][min(k, len(rec['distances_m']) - 1)]
        if g.ndim == 4:   # a multi-view goal: its views side by side, as the frames
            g = np.concatenate(list(g), axis=1)
        left = _label(g, f'goal ({rec["task"]})')
        right = _label(frame, f't={k} d={100 * d:.1f}cm')
        out.append(np.concatenate([left, right], axis=1))
    if out:
        verdict = 'SUCCESS' if rec['success'] else 'fail'
        out.extend([_label(out[-1], verdict, bottom=True)] * 5)   # hold the last frame
    return out


def save_episode_video(path, records: List[dict], fps: float = 5.0) -> Path:
    """Write the episodes one after another as a looping GIF; return the path."""
    import imageio.v3 as iio
    frames = [f for rec in records for f in episode_frames(rec)]
    if not frames:
        raise ValueError('no frames to write: run episodes with keep_frames=True')
    path = Path(path)
    iio.imwrite(path, np.stack(frames), extension='.gif', duration=int(1000 / fps), loop=0)
    return path
