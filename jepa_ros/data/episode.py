# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Episodes on disk: one ``.npz`` file per episode, written atomically.

See ``FORMAT.md`` beside this file for the layout. Everything here is numpy only (no ROS, no torch)
so recordings can be read anywhere.
"""

import dataclasses
import json
import os
from pathlib import Path
import tempfile
from typing import Any, Dict, List, Optional
import zipfile

from jepa_ros.sim.geometry import action_between
from jepa_ros.utils.errors import UserError
import numpy as np

FORMAT_NAME = 'jepa_ros.episode'
FORMAT_VERSION = 1
EPISODE_SUFFIX = '.npz'
EPISODE_GLOB = 'episode_*' + EPISODE_SUFFIX
_ARRAYS = ('frames', 'states', 'actions', 'timestamps')


class EpisodeError(UserError, ValueError):
    """An episode file is missing, truncated or inconsistent; the message names the file."""


@dataclasses.dataclass
class Episode:
    """
    One recorded episode.

    ``frames`` (T, H, W, 3) uint8 RGB, ``states`` (T, 7) float32 [x, y, z, roll, pitch, yaw,
    gripper], ``actions`` (T-1, 7) float32 (``actions[t]`` moves ``states[t]`` to
    ``states[t+1]``) for the embedded arm and ROS recordings. Episodes of another environment
    (``metadata['action_space']`` a box, see ``jepa_ros.envs``) hold that env's actions (T-1, A)
    as sent and its proprioception (T, S), any sizes (S may be 0). ``timestamps`` (T,) float64
    seconds, ``metadata`` a JSON-able dict with ``camera`` and ``robot`` entries.
    ``extra_frames`` holds the frames of further cameras (same shape as ``frames``, stored as
    ``frames_view1``, ``frames_view2``...; their names in ``metadata['views']`` after the first
    camera's): multi-view world models read all of them.
    """

    frames: np.ndarray
    states: np.ndarray
    actions: np.ndarray
    timestamps: np.ndarray
    metadata: Dict[str, Any] = dataclasses.field(default_factory=dict)
    extra_frames: List[np.ndarray] = dataclasses.field(default_factory=list)

    @property
    def num_views(self) -> int:
        """Return the number of camera views (1 + extra views)."""
        return 1 + len(self.extra_frames)

    def views(self) -> List[np.ndarray]:
        """Return every view's frames, the first camera first."""
        return [self.frames] + list(self.extra_frames)

    @property
    def num_steps(self) -> int:
        """Return the number of steps (frames and states)."""
        return int(self.states.shape[0])

    @property
    def image_size(self):
        """Return (height, width) of the frames."""
        return int(self.frames.shape[1]), int(self.frames.shape[2])

    def validate(self, name: str = 'episode') -> 'Episode':
        """Check shapes, dtypes and finiteness; raise EpisodeError that says what is wrong."""
        f, s, a, t = self.frames, self.states, self.actions, self.timestamps
        if not isinstance(f, np.ndarray) or f.dtype != np.uint8 or f.ndim != 4 or f.shape[-1] != 3:
            raise EpisodeError(f'{name}: frames must be uint8 (T, H, W, 3), got '
                               f'{getattr(f, "dtype", type(f))} {getattr(f, "shape", None)}')
        n = f.shape[0]
        if n < 2:
            raise EpisodeError(f'{name}: an episode needs at least 2 frames, got {n}')
        box = isinstance(self.metadata, dict) and isinstance(
            self.metadata.get('action_space'), dict)
        if box:  # another environment's sizes, as its metadata says
            a_dim = len(self.metadata['action_space'].get('low', ()))
            if s.ndim != 2 or s.shape[0] != n:
                raise EpisodeError(f'{name}: states must be ({n}, S), got {s.shape}')
        else:
            a_dim = 7
            if s.shape != (n, 7):
                raise EpisodeError(f'{name}: states must be ({n}, 7), got {s.shape}')
        if a.shape != (n - 1, a_dim):
            raise EpisodeError(f'{name}: actions must be ({n - 1}, {a_dim}), got {a.shape}')
        if t.shape != (n,):
            raise EpisodeError(f'{name}: timestamps must be ({n},), got {t.shape}')
        for key, arr in (('states', s), ('actions', a), ('timestamps', t)):
            if not np.all(np.isfinite(arr)):
                raise EpisodeError(f'{name}: {key} contain NaN or inf')
        if n > 1 and np.any(np.diff(t) <= 0):
            raise EpisodeError(f'{name}: timestamps must increase strictly')
        if not isinstance(self.metadata, dict):
            raise EpisodeError(f'{name}: metadata must be a dict')
        for i, extra in enumerate(self.extra_frames, 1):
            if (not isinstance(extra, np.ndarray) or extra.dtype != np.uint8
                    or extra.shape != f.shape):
                raise EpisodeError(f'{name}: view {i} frames must be uint8 {f.shape} like the '
                                   f'first view, got {getattr(extra, "dtype", type(extra))} '
                                   f'{getattr(extra, "shape", None)}')
        return self


def actions_from_states(states: np.ndarray) -> np.ndarray:
    """
    Derive V-JEPA 2-AC actions from consecutive 7-D states.

    The action is the change of state between steps (position and gripper differences, the
    relative rotation ``R_{t+1} R_t^T`` as Euler angles), as V-JEPA 2-AC derives it from DROID
    end-effector poses; :func:`jepa_ros.sim.geometry.apply_action` turns ``states[t]`` back into
    ``states[t+1]``.
    """
    states = np.asarray(states, dtype=np.float64)
    return np.stack([action_between(a, b) for a, b in zip(states[:-1], states[1:])]).astype(
        np.float32) if len(states) > 1 else np.zeros((0, 7), np.float32)


def make_episode(frames, states, timestamps=None, actions=None, metadata=None,
                 control_dt: float = 0.1, extra_frames=()) -> Episode:
    """Build and validate an Episode, deriving actions and timestamps when they are not given."""
    frames = np.ascontiguousarray(frames, dtype=np.uint8)
    states = np.asarray(states, dtype=np.float32)
    if timestamps is None:
        timestamps = np.arange(len(frames), dtype=np.float64) * float(control_dt)
    if actions is None:
        actions = actions_from_states(states)
    ep = Episode(frames=frames, states=states, actions=np.asarray(actions, dtype=np.float32),
                 timestamps=np.asarray(timestamps, dtype=np.float64),
                 metadata=dict(metadata or {}),
                 extra_frames=[np.ascontiguousarray(f, dtype=np.uint8) for f in extra_frames])
    return ep.validate()


def _fsync_dir(path: Path):
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path, writer, suffix: str = '.tmp'):
    """
    Write a file atomically: ``writer(fileobj)`` fills a temp file, which is fsynced and renamed.

    A writer killed at any moment leaves either the previous file or a ``.tmp`` leftover that no
    loader picks up, never a half-written file under the final name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.' + path.name + '.', suffix=suffix, dir=str(path.parent))
    try:
        with os.fdopen(fd, 'wb') as fh:
            writer(fh)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp creates 0600 files; give the result the permissions open() would have.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)
    return path


def write_episode(path, episode: Episode, compress: bool = True) -> Path:
    """
    Validate and write ``episode`` to ``path`` (an ``.npz``) atomically.

    ``compress`` deflates the arrays: rendered frames shrink 5-20x and still load at hundreds of
    MB/s on one core, which is what a 2-core machine with little disk wants.
    """
    path = Path(path)
    if path.suffix != EPISODE_SUFFIX:
        raise EpisodeError(f'{path}: episode files must end with {EPISODE_SUFFIX}')
    episode.validate(str(path))
    meta = dict(episode.metadata)
    meta['format'] = FORMAT_NAME
    meta['format_version'] = FORMAT_VERSION
    meta['num_steps'] = episode.num_steps
    meta['image_size'] = list(episode.image_size)
    meta_bytes = np.frombuffer(json.dumps(meta, sort_keys=True).encode('utf-8'), dtype=np.uint8)
    arrays = {'frames': episode.frames, 'states': episode.states.astype(np.float32),
              'actions': episode.actions.astype(np.float32),
              'timestamps': episode.timestamps.astype(np.float64), 'metadata': meta_bytes}
    for i, extra in enumerate(episode.extra_frames, 1):
        arrays[f'frames_view{i}'] = extra
    save = np.savez_compressed if compress else np.savez
    return atomic_write_bytes(path, lambda fh: save(fh, **arrays))


def read_episode(path, load_frames: bool = True) -> Episode:
    """
    Read and fully validate one episode; raise EpisodeError on any problem.

    The zip CRC of every member is checked by numpy while reading, so a truncated or bit-flipped
    file fails here rather than producing garbage frames.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in _ARRAYS + ('metadata',) if k not in data.files]
            if missing:
                raise EpisodeError(f'{path}: missing arrays {missing}')
            meta = json.loads(bytes(data['metadata']).decode('utf-8'))
            arrays = {k: data[k] for k in _ARRAYS if load_frames or k != 'frames'}
            extra = []
            while load_frames and f'frames_view{len(extra) + 1}' in data.files:
                extra.append(data[f'frames_view{len(extra) + 1}'])
    except EpisodeError:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile,
            UnicodeDecodeError) as exc:
        raise EpisodeError(f'{path}: cannot read episode ({type(exc).__name__}: {exc})') from exc
    except Exception as exc:  # zlib.error and friends from a damaged member
        raise EpisodeError(f'{path}: cannot read episode ({type(exc).__name__}: {exc})') from exc
    if meta.get('format') != FORMAT_NAME:
        raise EpisodeError(f'{path}: not a {FORMAT_NAME} file (format={meta.get("format")!r})')
    if int(meta.get('format_version', -1)) > FORMAT_VERSION:
        raise EpisodeError(f'{path}: format version {meta.get("format_version")} is newer than '
                           f'this reader ({FORMAT_VERSION}); update jepa_ros')
    n = int(meta.get('num_steps', -1))
    if not load_frames:
        arrays['frames'] = np.zeros((n, 1, 1, 3), np.uint8)
    ep = Episode(metadata=meta, extra_frames=extra, **arrays)
    ep.validate(str(path))
    if ep.num_steps != n:
        raise EpisodeError(f'{path}: metadata says {n} steps, arrays hold {ep.num_steps}')
    return ep


def episode_path(root, index: int) -> Path:
    """Return the canonical file name of episode ``index`` under ``root``."""
    return Path(root) / f'episode_{int(index):06d}{EPISODE_SUFFIX}'


def list_episodes(root) -> List[Path]:
    """Return the episode files under ``root`` (sorted; temp files of killed writers excluded)."""
    root = Path(root)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise FileNotFoundError(f'episode folder {root} does not exist')
    return sorted(p for p in root.glob(EPISODE_GLOB) if p.is_file())


def next_episode_index(root) -> int:
    """Return the first index after the existing episodes (so collection can append)."""
    root = Path(root)
    if not root.is_dir():
        return 0
    idx = []
    for p in root.glob(EPISODE_GLOB):
        try:
            idx.append(int(p.stem.split('_')[1]))
        except (IndexError, ValueError):
            continue
    return max(idx) + 1 if idx else 0


def split_episodes(paths, val_fraction: float, seed: int = 0, min_val: int = 1):
    """
    Split episode paths into (train, val) deterministically by a seeded shuffle.

    ``val_fraction`` 0 gives no validation set. With fewer than 2 episodes all go to training.
    """
    paths = list(paths)
    if val_fraction <= 0 or len(paths) < 2:
        return paths, []
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(paths))
    n_val = min(len(paths) - 1, max(min_val, int(round(val_fraction * len(paths)))))
    val = sorted(paths[i] for i in order[:n_val])
    train = sorted(paths[i] for i in order[n_val:])
    return train, val


def summarize(paths) -> Optional[Dict[str, Any]]:
    """Return counts and sizes of a set of episode files (metadata only, frames not decoded)."""
    n_ep, n_steps, size = 0, 0, 0
    for p in paths:
        ep = read_episode(p, load_frames=False)
        n_ep += 1
        n_steps += ep.num_steps
        size += os.path.getsize(p)
    return {'episodes': n_ep, 'steps': n_steps, 'bytes': size}
