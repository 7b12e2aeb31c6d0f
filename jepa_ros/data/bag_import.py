# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
``jepa-ros import-bag``: rosbag2 recordings (MCAP or sqlite3) to episodes, without ROS.

Reads a camera topic (sensor_msgs/Image or CompressedImage), an end-effector pose topic
(geometry_msgs/PoseStamped) and a gripper topic (std_msgs/Float64, or sensor_msgs/JointState),
resamples them onto a fixed-rate clock (pose and gripper interpolated, image the latest one not
after each tick) and derives the actions from consecutive states, as V-JEPA 2-AC does for DROID.
Uses the pure-Python ``rosbags`` library, so no ROS installation is needed.
"""

import dataclasses
import math
from pathlib import Path
from typing import List

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

    def validate(self):
        """Raise ConfigError on impossible settings."""
        from jepa_ros.utils.config import ConfigError
        if self.rate <= 0 or self.image_size < 8 or self.min_steps < 2 or self.max_gap <= 0:
            raise ConfigError('ImportConfig needs rate > 0, image_size >= 8, min_steps >= 2, '
                              'max_gap > 0')
        if self.gripper_open == self.gripper_closed:
            raise ConfigError('ImportConfig.gripper_open and gripper_closed must differ')


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
    Read the three topics of ``bag``; return dict of time-sorted series.

    ``images`` [(t, frame)], ``poses`` (N, 8) rows of t, x, y, z, qw, qx, qy, qz, ``gripper``
    (M, 2) rows of t, value in 0..1, and ``frame_id`` of the poses.
    """
    from rosbags.highlevel import AnyReader
    from rosbags.typesys import get_typestore, Stores
    from jepa_ros.data.dataset import resize_frames
    bag = Path(bag)
    if not bag.exists():
        raise FileNotFoundError(f'bag {bag} does not exist')
    images, poses, grip = [], [], []
    frame_id = ''
    with AnyReader([bag], default_typestore=get_typestore(Stores.ROS2_JAZZY)) as reader:
        topics = {c.topic: c for c in reader.connections}
        for name, topic in (('image', cfg.image_topic), ('pose', cfg.pose_topic),
                            ('gripper', cfg.gripper_topic)):
            if topic not in topics:
                raise ValueError(f'{bag}: {name} topic {topic!r} not found; topics in the bag: '
                                 f'{sorted(topics)}')
        conns = [topics[cfg.image_topic], topics[cfg.pose_topic], topics[cfg.gripper_topic]]
        span = cfg.gripper_closed - cfg.gripper_open
        for conn, t_ns, raw in reader.messages(connections=conns):
            msg = reader.deserialize(raw, conn.msgtype)
            t = _stamp(msg, t_ns)
            if conn.topic == cfg.image_topic:
                img = decode_image(msg, conn.msgtype)
                images.append((t, resize_frames(img[None], cfg.image_size)[0]))
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
    for name, series in (('image', images), ('pose', poses), ('gripper', grip)):
        if not series:
            raise ValueError(f'{bag}: no {name} messages')
    images.sort(key=lambda x: x[0])
    return {'images': images, 'poses': np.array(sorted(poses)), 'gripper': np.array(sorted(grip)),
            'frame_id': frame_id}


def resample(series, cfg: ImportConfig):
    """
    Resample the series of ``read_bag`` at ``cfg.rate``; return a list of segments.

    Each segment is (times, frames, states). Ticks where a stream has a gap longer than
    ``cfg.max_gap`` split the recording, so no episode interpolates across a dropout.
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
        frames = np.stack([series['images'][max(0, np.searchsorted(img_t, t, 'right') - 1)][1]
                           for t in times])
        states = np.zeros((len(times), 7))
        for k, t in enumerate(times):
            i = int(np.clip(np.searchsorted(poses[:, 0], t, 'right'), 1, len(poses) - 1))
            a, b = poses[i - 1], poses[i]
            f = 0.0 if b[0] == a[0] else float(np.clip((t - a[0]) / (b[0] - a[0]), 0, 1))
            states[k, :3] = a[1:4] + f * (b[1:4] - a[1:4])
            states[k, 3:6] = quat_to_euler(*_slerp(a[4:8], b[4:8], f))
            states[k, 6] = np.interp(t, grip[:, 0], grip[:, 1])
        out.append((times, frames, states))
    return out


def import_bag(bag, out_dir, cfg: ImportConfig) -> List[Path]:
    """Convert one bag into episodes under ``out_dir``; return the written paths."""
    from jepa_ros.data.episode import episode_path, make_episode, next_episode_index
    from jepa_ros.data.episode import write_episode
    cfg.validate()
    series = read_bag(bag, cfg)
    segments = resample(series, cfg)
    if not segments:
        raise ValueError(f'{bag}: the three topics never overlap for {cfg.min_steps} ticks at '
                         f'{cfg.rate} Hz (check topics, clocks and --max-gap)')
    written = []
    idx = next_episode_index(out_dir)
    for k, (times, frames, states) in enumerate(segments):
        meta = {'source': 'rosbag2', 'bag': str(Path(bag).resolve()), 'segment': k,
                'camera': {'topic': cfg.image_topic, 'width': cfg.image_size,
                           'height': cfg.image_size},
                'robot': {'pose_topic': cfg.pose_topic, 'gripper_topic': cfg.gripper_topic,
                          'frame': series['frame_id'], 'control_dt': 1.0 / cfg.rate,
                          'state': 'x y z roll pitch yaw gripper', 'action': 'state delta'},
                'start_time': float(times[0])}
        ep = make_episode(frames, states, timestamps=times - times[0], metadata=meta)
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
        try:
            paths = import_bag(bag, args.out, cfg)
        except (ValueError, FileNotFoundError) as exc:
            print(f'error: {exc}', file=sys.stderr)
            failed += 1
            continue
        total += len(paths)
        print(f'{bag}: {len(paths)} episode(s) -> {args.out}')
    print(f'imported {total} episode(s); {failed} bag(s) failed')
    return 1 if failed else 0


if __name__ == '__main__':
    import sys
    from jepa_ros.training.common import module_main
    sys.exit(module_main(sys.modules[__name__]))
