# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
``jepa-ros import-bag``: rosbag2 recordings (MCAP or sqlite3) to episodes, without ROS.

Reads a camera topic (sensor_msgs/Image or CompressedImage), an end-effector pose topic
(geometry_msgs/PoseStamped) and a gripper topic (std_msgs/Float64, or sensor_msgs/JointState),
resamples them onto a fixed-rate clock (pose and gripper interpolated, image the latest one not
after each tick) and derives the actions from consecutive states, as V-JEPA 2-AC does for DROID.
Uses the pure-Python ``rosbags`` library, so no ROS installation is needed.

Further cameras (``extra_image_topics``) make multi-view episodes: each main-camera frame is
paired with the frame of every other camera nearest in header stamp; a frame without a full set
within ``image_sync_slop`` seconds is dropped (and counted), so no step holds mismatched views,
and a dropout longer than ``max_gap`` splits the recording as for any stream. The camera names
(``view_names``, or derived from the topics) go to ``metadata['views']``.
"""

import dataclasses
import math
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

NAME = 'import-bag'
HELP = 'Convert rosbag2 recordings (camera + EE pose + gripper) into episodes.'


@dataclasses.dataclass
class ImportConfig:
    """Bag import settings (topics, resampling, image size, gripper scaling)."""

    image_topic: str = '/camera/image_raw'
    pose_topic: str = '/ee_pose'
    gripper_topic: str = '/gripper'
    gripper_joint: str = ''
    gripper_open: float = 0.0
    gripper_closed: float = 1.0
    rate: float = 10.0
    image_size: int = 64
    max_gap: float = 1.0
    min_steps: int = 4
    compress: bool = True
    extra_image_topics: Tuple[str, ...] = ()   # further cameras: multi-view episodes
    view_names: Tuple[str, ...] = ()           # camera names, main first (default: from topics)
    image_sync_slop: float = 0.05              # s: stamps of one step's views must agree

    def validate(self):
        """Raise ConfigError on impossible settings."""
        from jepa_ros.utils.config import ConfigError
        if self.rate <= 0 or self.image_size < 8 or self.min_steps < 2 or self.max_gap <= 0:
            raise ConfigError('ImportConfig needs rate > 0, image_size >= 8, min_steps >= 2, '
                              'max_gap > 0')
        if self.gripper_open == self.gripper_closed:
            raise ConfigError('ImportConfig.gripper_open and gripper_closed must differ')
        if not math.isfinite(self.image_sync_slop) or self.image_sync_slop < 0:
            raise ConfigError(f'ImportConfig.image_sync_slop must be a number >= 0, got '
                              f'{self.image_sync_slop}')
        topics = self.image_topics()
        if any(not t for t in topics) or len(set(topics)) != len(topics):
            raise ConfigError(f'ImportConfig: the image topics must be distinct and not empty, '
                              f'got {topics} (image_topic first, then extra_image_topics)')
        self.camera_names()

    def image_topics(self) -> List[str]:
        """Return every camera's image topic, the main one first."""
        return [self.image_topic] + list(self.extra_image_topics)

    def camera_names(self) -> List[str]:
        """Return the camera names of the views (``view_names`` or derived from the topics)."""
        from jepa_ros.control.image_sync import camera_names
        return camera_names(self.image_topics(), self.view_names)


def quat_to_euler(w, x, y, z):
    """Return extrinsic-xyz Euler angles (roll, pitch, yaw) of a unit quaternion (w, x, y, z)."""
    roll = math.atan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y))
    pitch = math.asin(max(-1.0, min(1.0, 2 * (w * y - z * x))))
    yaw = math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
    return roll, pitch, yaw


def _slerp(q0, q1, f):
    q0, q1 = np.asarray(q0, float), np.asarray(q1, float)
    d = float(np.dot(q0, q1))
    if d < 0:
        q1, d = -q1, -d
    if d > 0.9995:
        q = q0 + f * (q1 - q0)
    else:
        th = math.acos(d)
        q = (math.sin((1 - f) * th) * q0 + math.sin(f * th) * q1) / math.sin(th)
    return q / np.linalg.norm(q)


def decode_image(msg, msgtype: str) -> np.ndarray:
    """Return an (H, W, 3) uint8 RGB array from a sensor_msgs Image or CompressedImage."""
    import cv2
    if msgtype.endswith('CompressedImage'):
        img = cv2.imdecode(np.frombuffer(bytes(msg.data), np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f'cannot decode a {msg.format!r} CompressedImage')
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    enc = msg.encoding.lower()
    data = np.frombuffer(bytes(msg.data), np.uint8)
    channels = {'rgb8': 3, 'bgr8': 3, 'rgba8': 4, 'bgra8': 4, 'mono8': 1, '8uc1': 1,
                '8uc3': 3}.get(enc)
    if channels is None:
        raise ValueError(f'unsupported image encoding {msg.encoding!r}; supported: rgb8, bgr8, '
                         'rgba8, bgra8, mono8 (or sensor_msgs/CompressedImage)')
    rows = data.reshape(msg.height, msg.step)[:, :msg.width * channels]
    img = rows.reshape(msg.height, msg.width, channels)
    if channels == 1:
        return np.repeat(img, 3, axis=2)
    if enc.startswith('bgr'):
        img = img[..., 2::-1] if channels == 3 else img[..., [2, 1, 0]]
    return np.ascontiguousarray(img[..., :3])


def _stamp(msg, fallback_ns):
    header = getattr(msg, 'header', None)
    if header is not None:
        ns = int(header.stamp.sec) * 1_000_000_000 + int(header.stamp.nanosec)
        if ns > 0:
            return ns * 1e-9
    return fallback_ns * 1e-9


def read_bag(bag, cfg: ImportConfig):
    """
    Read the topics of ``bag``; return dict of time-sorted series.

    ``images`` [(t, frame)], ``poses`` (N, 8) rows of t, x, y, z, qw, qx, qy, qz, ``gripper``
    (M, 2) rows of t, value in 0..1, and ``frame_id`` of the poses. With extra image topics,
    ``images`` keeps the main frames that have a full set of views (``match_views``),
    ``extra_images`` holds the other views' frames of those sets (one list per extra topic) and
    ``unsynced_frames`` counts the main frames dropped.
    """
    from rosbags.highlevel import AnyReader
    from rosbags.typesys import get_typestore, Stores
    from jepa_ros.data.dataset import resize_frames
    bag = Path(bag)
    if not bag.exists():
        raise FileNotFoundError(f'bag {bag} does not exist')
    image_topics = cfg.image_topics()
    views = {topic: [] for topic in image_topics}
    poses, grip = [], []
    frame_id = ''
    with AnyReader([bag], default_typestore=get_typestore(Stores.ROS2_JAZZY)) as reader:
        topics = {c.topic: c for c in reader.connections}
        wanted = [('image', cfg.image_topic), ('pose', cfg.pose_topic),
                  ('gripper', cfg.gripper_topic)]
        wanted += [('extra image', topic) for topic in cfg.extra_image_topics]
        for name, topic in wanted:
            if topic not in topics:
                raise ValueError(f'{bag}: {name} topic {topic!r} not found; topics in the bag: '
                                 f'{sorted(topics)}')
        conns = [topics[topic] for _, topic in wanted]
        span = cfg.gripper_closed - cfg.gripper_open
        for conn, t_ns, raw in reader.messages(connections=conns):
            msg = reader.deserialize(raw, conn.msgtype)
            t = _stamp(msg, t_ns)
            if conn.topic in views:
                img = decode_image(msg, conn.msgtype)
                views[conn.topic].append((t, resize_frames(img[None], cfg.image_size)[0]))
            elif conn.topic == cfg.pose_topic:
                p, q = msg.pose.position, msg.pose.orientation
                poses.append((t, p.x, p.y, p.z, q.w, q.x, q.y, q.z))
                frame_id = msg.header.frame_id
            else:
                if conn.msgtype.endswith('JointState'):
                    names = list(msg.name)
                    if cfg.gripper_joint:
                        if cfg.gripper_joint not in names:
                            raise ValueError(f'gripper joint {cfg.gripper_joint!r} not in '
                                             f'{names} on {cfg.gripper_topic}')
                        value = msg.position[names.index(cfg.gripper_joint)]
                    else:
                        value = msg.position[0]
                elif hasattr(msg, 'data'):
                    value = msg.data
                else:
                    raise ValueError(f'{cfg.gripper_topic}: unsupported type {conn.msgtype}; '
                                     'use std_msgs/Float64 or sensor_msgs/JointState')
                g = (float(value) - cfg.gripper_open) / span
                grip.append((t, min(1.0, max(0.0, g))))
    for name, series in [('image', views[cfg.image_topic]), ('pose', poses),
                         ('gripper', grip)] + [(f'{t} image', views[t])
                                               for t in cfg.extra_image_topics]:
        if not series:
            raise ValueError(f'{bag}: no {name} messages')
    for series in views.values():
        series.sort(key=lambda x: x[0])
    images, extra, dropped = match_views(bag, [views[t] for t in image_topics], cfg)
    return {'images': images, 'extra_images': extra, 'unsynced_frames': dropped,
            'poses': np.array(sorted(poses)), 'gripper': np.array(sorted(grip)),
            'frame_id': frame_id}


def match_views(bag, views, cfg: ImportConfig):
    """
    Pair every frame of the first camera with the nearest-stamped frame of each other camera.

    ``views``: one time-sorted [(t, frame)] list per camera, the main one first. Returns
    ``(images, extra, dropped)``: the main [(t, frame)] that have a frame of every camera within
    ``cfg.image_sync_slop`` (stamps of a set agree within it), the other cameras' frames of
    those sets (one list per extra camera) and the number of main frames dropped. ValueError
    when no frame has a full set.
    """
    from jepa_ros.control.image_sync import match_stamps
    main, others = views[0], views[1:]
    if not others:
        return main, [], 0
    index, ok = match_stamps([t for t, _ in main], [[t for t, _ in o] for o in others],
                             cfg.image_sync_slop)
    if not ok.any():
        spans = ', '.join(f'{topic} {v[0][0]:.3f}..{v[-1][0]:.3f}'
                          for topic, v in zip(cfg.image_topics(), views))
        raise ValueError(f'{bag}: no frame of {cfg.image_topic} has a frame of every other '
                         f'camera within --image-sync-slop {cfg.image_sync_slop:g} s (stamps: '
                         f'{spans}); check the topics and their clocks')
    keep = np.flatnonzero(ok)
    images = [main[i] for i in keep]
    extra = [[other[j][1] for j in index[keep, k]] for k, other in enumerate(others)]
    return images, extra, int(len(main) - len(keep))


def resample(series, cfg: ImportConfig):
    """
    Resample the series of ``read_bag`` at ``cfg.rate``; return a list of segments.

    Each segment is (times, frames, states, extra_frames), ``extra_frames`` one (T, H, W, 3)
    array per extra camera (the views of the same sets as ``frames``). Ticks where a stream has
    a gap longer than ``cfg.max_gap`` split the recording, so no episode interpolates across a
    dropout.
    """
    img_t = np.array([t for t, _ in series['images']])
    poses, grip = series['poses'], series['gripper']
    t0 = max(img_t[0], poses[0, 0], grip[0, 0])
    t1 = min(img_t[-1], poses[-1, 0], grip[-1, 0])
    if t1 <= t0:
        return []
    ticks = t0 + np.arange(int(math.floor((t1 - t0) * cfg.rate + 1e-9)) + 1) / cfg.rate

    def gap_ok(times, t):
        i = np.searchsorted(times, t, side='right')
        prev = times[max(i - 1, 0)]
        nxt = times[min(i, len(times) - 1)]
        return (t - prev) <= cfg.max_gap and (nxt - prev) <= cfg.max_gap or prev == t

    segments, cur = [], []
    for t in ticks:
        ok = gap_ok(img_t, t) and gap_ok(poses[:, 0], t) and gap_ok(grip[:, 0], t)
        if not ok:
            if cur:
                segments.append(cur)
            cur = []
            continue
        cur.append(t)
    if cur:
        segments.append(cur)
    out = []
    for seg in segments:
        if len(seg) < cfg.min_steps:
            continue
        times = np.asarray(seg)
        picks = [max(0, np.searchsorted(img_t, t, 'right') - 1) for t in times]
        frames = np.stack([series['images'][i][1] for i in picks])
        extra = [np.stack([view[i] for i in picks]) for view in series.get('extra_images', ())]
        states = np.zeros((len(times), 7))
        for k, t in enumerate(times):
            i = int(np.clip(np.searchsorted(poses[:, 0], t, 'right'), 1, len(poses) - 1))
            a, b = poses[i - 1], poses[i]
            f = 0.0 if b[0] == a[0] else float(np.clip((t - a[0]) / (b[0] - a[0]), 0, 1))
            states[k, :3] = a[1:4] + f * (b[1:4] - a[1:4])
            states[k, 3:6] = quat_to_euler(*_slerp(a[4:8], b[4:8], f))
            states[k, 6] = np.interp(t, grip[:, 0], grip[:, 1])
        out.append((times, frames, states, extra))
    return out


def import_bag(bag, out_dir, cfg: ImportConfig, stats: Optional[dict] = None) -> List[Path]:
    """
    Convert one bag into episodes under ``out_dir``; return the written paths.

    ``stats`` (a dict), when given, receives ``unsynced_frames``: main-camera frames dropped for
    want of a frame of every other camera within ``image_sync_slop``.
    """
    from jepa_ros.data.episode import episode_path, make_episode, next_episode_index
    from jepa_ros.data.episode import write_episode
    cfg.validate()
    series = read_bag(bag, cfg)
    if stats is not None:
        stats['unsynced_frames'] = series['unsynced_frames']
    segments = resample(series, cfg)
    if not segments:
        raise ValueError(f'{bag}: the topics never overlap for {cfg.min_steps} ticks at '
                         f'{cfg.rate} Hz (check topics, clocks, --max-gap and, with several '
                         f'cameras, --image-sync-slop)')
    names = cfg.camera_names()
    written = []
    idx = next_episode_index(out_dir)
    for k, (times, frames, states, extra) in enumerate(segments):
        meta = {'source': 'rosbag2', 'bag': str(Path(bag).resolve()), 'segment': k,
                'camera': {'topic': cfg.image_topic, 'width': cfg.image_size,
                           'height': cfg.image_size},
                'robot': {'pose_topic': cfg.pose_topic, 'gripper_topic': cfg.gripper_topic,
                          'frame': series['frame_id'], 'control_dt': 1.0 / cfg.rate,
                          'state': 'x y z roll pitch yaw gripper', 'action': 'state delta'},
                'start_time': float(times[0])}
        if extra:
            meta['camera']['name'] = names[0]
            meta.update(views=names, view_topics=cfg.image_topics(),
                        image_sync_slop=cfg.image_sync_slop,
                        unsynced_frames=series['unsynced_frames'])
        ep = make_episode(frames, states, timestamps=times - times[0], metadata=meta,
                          extra_frames=extra)
        written.append(write_episode(episode_path(out_dir, idx + k), ep, compress=cfg.compress))
    return written


def add_arguments(parser):
    """Add BAG (one or more), ``--out`` and one option per ImportConfig field."""
    from jepa_ros.utils.config import add_arguments as add_cfg
    parser.add_argument('bags', nargs='+', metavar='BAG',
                        help='rosbag2 folder(s) or .mcap file(s)')
    parser.add_argument('--out', required=True, help='episode folder to write (appends)')
    add_cfg(parser, ImportConfig)
    return parser


def run(args) -> int:
    """CLI entry: import each bag; report per-bag failures and return 1 if any failed."""
    import sys
    from jepa_ros.utils.config import from_args
    cfg = from_args(ImportConfig, args)
    failed = 0
    total = 0
    for bag in args.bags:
        stats = {}
        try:
            paths = import_bag(bag, args.out, cfg, stats)
        except (ValueError, FileNotFoundError) as exc:
            print(f'error: {exc}', file=sys.stderr)
            failed += 1
            continue
        total += len(paths)
        dropped = stats.get('unsynced_frames', 0)
        note = (f' ({dropped} {cfg.image_topic} frame(s) without every camera within '
                f'{cfg.image_sync_slop:g} s dropped)' if dropped else '')
        print(f'{bag}: {len(paths)} episode(s) -> {args.out}{note}')
    print(f'imported {total} episode(s); {failed} bag(s) failed')
    return 1 if failed else 0


if __name__ == '__main__':
    import sys
    from jepa_ros.training.common import module_main
    sys.exit(module_main(sys.modules[__name__]))
