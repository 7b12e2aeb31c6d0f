# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Multi-camera observations: match the views of one moment, or say why there is none.

A model trained on V camera views plans on one observation of V images taken together. The
planner node keeps the latest few frames of each image topic in a :class:`ViewSync`; each loop
step asks it for the newest set with one frame per topic whose header stamps lie within
``slop_s`` of each other, and holds still, with the reason, when a topic is missing or stale or
no such set exists. A few frames per topic (not just the latest) are kept so that a loop step
falling between the arrival of two views of the same capture still finds the previous complete
set instead of holding.

Goals of a V-view model travel as one image with the V views side by side (in topic order):
:func:`split_views` and :func:`tile_views` convert. Recording uses the same rule: the recorder
node records through a :class:`ViewSync`, bag import pairs whole streams with
:func:`match_stamps`, and both name the views with :func:`camera_names`. No rclpy here.
"""

from collections import deque
from dataclasses import dataclass
import math
from typing import List, Optional, Sequence, Tuple

from jepa_ros.utils.config import ConfigError
import numpy as np

DEFAULT_QUEUE = 4   # frames kept per topic
TRANSPORTS = ('compressed', 'compressedDepth', 'theora', 'zstd')   # image_transport suffixes


@dataclass
class SyncedViews:
    """One observation: a frame per topic, in topic order."""

    images: List[np.ndarray]
    stamps: List[float]     # header stamps (s)
    receipt_t: float        # receipt time of the oldest frame of the set (monotonic s)

    def stacked(self) -> np.ndarray:
        """Return the views as one (V, H, W, 3) array."""
        return np.stack(self.images)


class ViewSync:
    """Latest frames of V image topics; the newest set whose stamps agree within the slop."""

    def __init__(self, topics: Sequence[str], slop_s: float, queue: int = DEFAULT_QUEUE):
        if not topics:
            raise ValueError('ViewSync needs at least one topic')
        if not (math.isfinite(slop_s) and slop_s >= 0):
            raise ValueError(f'slop_s must be a finite number >= 0, got {slop_s}')
        self.topics = list(topics)
        self.slop_s = float(slop_s)
        self._frames = [deque(maxlen=max(1, int(queue))) for _ in self.topics]

    def add(self, index: int, stamp: float, image, receipt_t: float):
        """Store a frame of topic ``index`` with header ``stamp`` received at ``receipt_t``."""
        self._frames[index].append((float(stamp), image, float(receipt_t)))

    def clear(self):
        """Forget every frame."""
        for q in self._frames:
            q.clear()

    def get(self, now: float, timeout_s: float) -> Tuple[Optional[SyncedViews], Optional[str]]:
        """
        Return ``(views, None)`` for the newest matching set, or ``(None, reason)``.

        Reasons, in this order: a topic has sent nothing yet; a topic's latest frame was
        received more than ``timeout_s`` before ``now``; no set of one frame per topic has stamps
        within ``slop_s``; the newest matching set is older than ``timeout_s``.
        """
        missing = [t for t, q in zip(self.topics, self._frames) if not q]
        if missing:
            return None, f'no camera frame received yet on {", ".join(missing)}'
        for topic, q in zip(self.topics, self._frames):
            age = now - q[-1][2]
            if age > timeout_s:
                return None, (f'camera frame on {topic} is stale ({age:.2f} s old > '
                              f'{timeout_s:.2f} s)')
        views = self._match()
        if views is None:
            latest = ', '.join(f'{t} {q[-1][0]:.3f}' for t, q in zip(self.topics, self._frames))
            return None, (f'camera views out of sync: no frames within image_sync_slop '
                          f'{self.slop_s:g} s of each other (latest stamps: {latest})')
        age = now - views.receipt_t
        if age > timeout_s:
            return None, (f'synchronised camera views are stale ({age:.2f} s old > '
                          f'{timeout_s:.2f} s): the newer frames are out of sync')
        return views, None

    def _match(self) -> Optional[SyncedViews]:
        """Return the set with the newest first-topic frame that the other topics match."""
        first, others = self._frames[0], self._frames[1:]
        for stamp, image, receipt in reversed(first):
            chosen = [(stamp, image, receipt)]
            for q in others:
                best = min(q, key=lambda f: (abs(f[0] - stamp), -f[0]))
                chosen.append(best)
            stamps = [c[0] for c in chosen]
            if max(stamps) - min(stamps) <= self.slop_s:
                return SyncedViews([c[1] for c in chosen], stamps,
                                   min(c[2] for c in chosen))
        return None


def match_stamps(main, others, slop_s: float):
    """
    Pair each stamp of ``main`` with the nearest stamp of every stream of ``others``.

    Returns ``(index, ok)``: ``index`` (N, K) int, for each of the N main stamps the position in
    each of the K other streams of its nearest stamp (ties: the later one), -1 where ``ok`` is
    False; ``ok`` (N,) bool, True where the main stamp and the chosen ones lie within ``slop_s``
    of each other (the rule of :class:`ViewSync`). Streams need not be sorted; an empty stream
    matches nothing.
    """
    if not (math.isfinite(slop_s) and slop_s >= 0):
        raise ValueError(f'slop_s must be a finite number >= 0, got {slop_s}')
    main = np.asarray(main, dtype=np.float64).reshape(-1)
    index = np.full((len(main), len(others)), -1, dtype=np.int64)
    low, high = main.copy(), main.copy()
    ok = np.ones(len(main), dtype=bool)
    for k, other in enumerate(others):
        other = np.asarray(other, dtype=np.float64).reshape(-1)
        if not len(other):
            ok[:] = False
            continue
        order = np.argsort(other, kind='stable')
        srt = other[order]
        after = np.clip(np.searchsorted(srt, main, side='left'), 0, len(srt) - 1)
        before = np.clip(after - 1, 0, len(srt) - 1)
        pick = np.where(np.abs(srt[after] - main) <= np.abs(main - srt[before]), after, before)
        # among equal stamps take the last one (the later message)
        pick = np.searchsorted(srt, srt[pick], side='right') - 1
        index[:, k] = order[pick]
        low, high = np.minimum(low, srt[pick]), np.maximum(high, srt[pick])
    ok &= (high - low) <= slop_s + 1e-9
    index[~ok] = -1
    return index, ok


def _topic_segments(topic: str) -> List[str]:
    """Return the namespace segments of an image topic, without the image (and transport) ones."""
    parts = [p for p in str(topic).split('/') if p and p != '~']
    while parts and (parts[-1].startswith('image') or parts[-1] in TRANSPORTS):
        parts.pop()
    return parts


def camera_names(topics: Sequence[str], names: Sequence[str] = ()) -> List[str]:
    """
    Return one camera name per image topic (the names of ``metadata['views']``).

    ``names`` (a node's or import's ``view_names``) are used as given when not empty; otherwise
    each name is the topic's last namespace without a ``camera_`` prefix: ``camera/image_raw``
    gives ``camera``, ``camera_side/image_raw`` gives ``side`` (the sim's extra cameras),
    ``/cam2/color/image_raw`` gives ``color``. When those collide, the whole namespaces are used
    (``cam2_color``). Raises ConfigError when the names are not one per topic and distinct.
    """
    topics = list(topics)
    if names:
        names = [str(n) for n in names]
        if len(names) != len(topics):
            raise ConfigError(f'view_names needs one name per camera ({len(topics)}: '
                              f'{", ".join(topics)}, the main camera first), got {names}')
        if any(not n for n in names) or len(set(names)) != len(names):
            raise ConfigError(f'view_names must be distinct and not empty, got {names}')
        return names
    segments = [_topic_segments(t) or ['camera'] for t in topics]

    def short(parts):
        last = parts[-1]
        return last[len('camera_'):] if last.startswith('camera_') and last != 'camera_' \
            else last

    derived = [short(p) for p in segments]
    if len(set(derived)) != len(derived):
        derived = ['_'.join(p) for p in segments]
    if len(set(derived)) != len(derived):
        raise ConfigError(f'cannot tell the cameras of the image topics {topics} apart by name: '
                          f'set view_names (one name per camera, the main camera first)')
    return derived


def split_views(image: np.ndarray, num_views: int) -> List[np.ndarray]:
    """Return the ``num_views`` equal-width views of an image with the views side by side."""
    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(f'expected an (H, W, C) image, got shape {image.shape}')
    if num_views == 1:
        return [image]
    width = image.shape[1]
    if width % num_views:
        raise ValueError(f'expected {num_views} camera views side by side, but the width '
                         f'{width} is not a multiple of {num_views}')
    step = width // num_views
    return [image[:, i * step:(i + 1) * step] for i in range(num_views)]


def tile_views(views) -> np.ndarray:
    """Return an (H, W, 3) image or a (V, H, W, 3) observation as one image, views side by side."""
    views = np.asarray(views)
    if views.ndim == 3:
        return views
    return np.ascontiguousarray(np.concatenate(list(views), axis=1))


def check_view_count(num_views: int, topics: Sequence[str], cameras: Sequence[str] = ()):
    """
    Raise ConfigError unless ``topics`` (the node's image topics) give one per model view.

    ``cameras``: the camera names stored with the model (its checkpoint's ``extra``), if any.
    """
    if len(topics) == num_views:
        return
    which = f' ({", ".join(cameras)}, in this order)' if len(cameras) == num_views else ''
    have = ', '.join(topics)
    if num_views == 1:
        fix = 'set image_topics to one topic, or leave it empty for camera/image_raw'
    else:
        fix = (f'set the parameter image_topics to {num_views} image topics, one per camera'
               f'{which} (e.g. image_topics:="[camera/image_raw, camera_side/image_raw]")')
    raise ConfigError(f'the model takes {num_views} camera view(s){which} but the node '
                      f'subscribes to {len(topics)} image topic(s) ({have}): {fix}')
