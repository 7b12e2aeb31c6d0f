# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Crash-safe recording: an episode in progress is saved as small atomic chunks beside the data.

A live recorder holds its episode in memory and writes it as one episode file when it stops.
If the process is killed first (SIGKILL, power loss, OOM killer) that episode would be lost, so
every ``chunk_steps`` steps the new steps are also written to
``OUT/.recording_NNNNNN/chunk_KKKKKK.npz`` (atomically, uncompressed: a chunk costs a few
milliseconds). A crash therefore loses at most the last ``chunk_steps`` steps.
:func:`recover_recordings` turns such a folder back into ``episode_NNNNNN.npz`` (metadata
``recovered: true``); the recorder node runs it at start-up and ``jepa-ros recover DIR`` runs it
by hand. The folder is hidden, so loaders never read a half-recorded episode.
"""

import json
from pathlib import Path
import shutil
from typing import Callable, List

from jepa_ros.data.episode import (atomic_write_bytes, EPISODE_GLOB, episode_path, EpisodeError,
                                   make_episode, write_episode)
import numpy as np

RECORDING_PREFIX = '.recording_'
META_NAME = 'meta.json'
CHUNK_GLOB = 'chunk_*.npz'


def recording_dir(out_dir, index: int) -> Path:
    """Return the chunk folder of episode ``index`` under ``out_dir``."""
    return Path(out_dir) / f'{RECORDING_PREFIX}{int(index):06d}'


def recording_dirs(out_dir) -> List[Path]:
    """Return the chunk folders of unfinished recordings under ``out_dir`` (sorted)."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return []
    return sorted(p for p in out_dir.glob(RECORDING_PREFIX + '*') if p.is_dir())


def next_free_index(out_dir) -> int:
    """Return the first episode index taken neither by an episode nor by a recording."""
    used = [-1]
    for p in list(Path(out_dir).glob(EPISODE_GLOB)) + recording_dirs(out_dir):
        digits = p.name.split('_')[-1].split('.')[0]
        if digits.isdigit():
            used.append(int(digits))
    return max(used) + 1


class ChunkWriter:
    """The on-disk chunks of one episode being recorded (see the module docstring)."""

    def __init__(self, out_dir, index: int, metadata: dict, control_dt: float):
        self.out_dir = Path(out_dir)
        self.index = int(index)
        self.folder = recording_dir(out_dir, index)
        self.metadata = metadata
        self.control_dt = float(control_dt)
        self.chunks = 0

    def write(self, frames: List[np.ndarray], states: np.ndarray, times: np.ndarray):
        """Write one chunk: per-view frames (n, H, W, 3), states (n, 7), times (n,)."""
        if not self.chunks:
            self.folder.mkdir(parents=True, exist_ok=True)
            text = json.dumps({'metadata': self.metadata, 'control_dt': self.control_dt},
                              sort_keys=True, default=str).encode('utf-8')
            atomic_write_bytes(self.folder / META_NAME, lambda fh: fh.write(text))
        arrays = {'states': np.asarray(states, np.float64),
                  'times': np.asarray(times, np.float64)}
        for i, f in enumerate(frames):
            arrays['frames' if i == 0 else f'frames_view{i}'] = np.asarray(f, np.uint8)
        path = self.folder / f'chunk_{self.chunks:06d}.npz'
        atomic_write_bytes(path, lambda fh: np.savez(fh, **arrays))
        self.chunks += 1

    def discard(self):
        """Remove the chunks (the episode was written, or had too few steps to keep)."""
        shutil.rmtree(self.folder, ignore_errors=True)
        self.chunks = 0


def _read_chunks(folder: Path):
    """Return (per-view frame lists, states, times, chunks read, chunks skipped)."""
    views, states, times = None, [], []
    files = sorted(folder.glob(CHUNK_GLOB))
    read = 0
    for path in files:
        try:
            with np.load(path, allow_pickle=False) as data:
                keys = ['frames'] + sorted((k for k in data.files if k.startswith('frames_view')),
                                           key=lambda k: int(k[len('frames_view'):]))
                chunk = [data[k] for k in keys]
                s, t = data['states'], data['times']
        except Exception:  # noqa: B902 - a damaged chunk ends what can be recovered
            break
        if views is None:
            views = [[] for _ in chunk]
        if len(chunk) != len(views) or len(s) != len(t) or any(len(f) != len(t) for f in chunk):
            break
        for acc, f in zip(views, chunk):
            acc.append(f)
        states.append(s)
        times.append(t)
        read += 1
    return views, states, times, read, len(files) - read


def recover_recordings(out_dir, compress: bool = True,
                       log: Callable[[str], None] = print) -> List[Path]:
    """
    Turn every unfinished recording under ``out_dir`` into an episode; return the new files.

    A folder whose episode file already exists (the recorder died between writing it and
    removing the chunks) is only removed. One with fewer than 2 readable steps is removed with a
    log line; nothing else is ever deleted.
    """
    written = []
    for folder in recording_dirs(out_dir):
        index = int(folder.name[len(RECORDING_PREFIX):]) if \
            folder.name[len(RECORDING_PREFIX):].isdigit() else None
        if index is None:
            continue
        target = episode_path(out_dir, index)
        if target.exists():
            shutil.rmtree(folder, ignore_errors=True)
            continue
        try:
            meta = json.loads((folder / META_NAME).read_text())
        except (OSError, ValueError):
            meta = {'metadata': {}, 'control_dt': 0.1}
        views, states, times, read, skipped = _read_chunks(folder)
        n = sum(len(t) for t in times)
        if n < 2:
            log(f'unfinished recording {folder}: {n} readable step(s), nothing to recover; '
                'removed')
            shutil.rmtree(folder, ignore_errors=True)
            continue
        t = np.concatenate(times)
        metadata = dict(meta.get('metadata') or {}, recovered=True,
                        recovered_chunks=read, unreadable_chunks=skipped,
                        num_recorded_steps=n)
        try:
            episode = make_episode(np.concatenate(views[0]), np.concatenate(states),
                                   timestamps=t - t[0], metadata=metadata,
                                   control_dt=float(meta.get('control_dt', 0.1)),
                                   extra_frames=[np.concatenate(v) for v in views[1:]])
            write_episode(target, episode, compress=compress)
        except (EpisodeError, ValueError) as exc:
            log(f'unfinished recording {folder} could not be recovered ({exc}); left in place')
            continue
        shutil.rmtree(folder, ignore_errors=True)
        log(f'recovered an unfinished recording: {n} steps into {target}'
            + (f' ({skipped} unreadable chunk(s) dropped)' if skipped else ''))
        written.append(target)
    return written


def add_arguments(parser):
    """Add the ``jepa-ros recover`` options."""
    parser.add_argument('folder', help='episode folder of a recorder (its out_dir) that was '
                                       'killed while recording')
    parser.add_argument('--no-compress', dest='compress', action='store_false',
                        help='write the recovered episodes uncompressed')
    return parser


def run(args) -> int:
    """Recover every unfinished recording in ``args.folder``; return the exit status."""
    if not Path(args.folder).is_dir():
        raise FileNotFoundError(f'no episode folder {args.folder}')
    found = recording_dirs(args.folder)
    written = recover_recordings(args.folder, compress=args.compress)
    print(f'{len(found)} unfinished recording(s) in {args.folder}, {len(written)} recovered')
    return 0
