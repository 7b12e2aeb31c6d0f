# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Import of rosbag2 MCAP recordings: the test writes a small bag itself with rosbags."""

import math

from jepa_ros.data import list_episodes, read_episode
from jepa_ros.data.bag_import import add_arguments, import_bag, ImportConfig, quat_to_euler, run
import numpy as np
import pytest

pytest.importorskip('rosbags')


def _write_bag(path, joint_state=False, gap_after=None, bgr=False, second_camera=False):
    """
    Write 3 s of camera (15 Hz), pose (50 Hz) and gripper (20 Hz) messages to an MCAP bag.

    ``second_camera``: also ``/cam2/image`` at 15 Hz, stamped 5 ms after ``/cam/image`` with the
    frame number in the green channel; frames 10 and 11 are missing and frame 20 is 30 ms late.
    """
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import get_typestore, Stores
    ts = get_typestore(Stores.ROS2_JAZZY)
    T = ts.types
    Time, Header = T['builtin_interfaces/msg/Time'], T['std_msgs/msg/Header']

    def header(t):
        sec = int(t)
        return Header(stamp=Time(sec=100 + sec, nanosec=int(round((t - sec) * 1e9))),
                      frame_id='panda_link0')

    with Writer(path, version=9, storage_plugin=StoragePlugin.MCAP) as w:
        c_img = w.add_connection('/cam/image', T['sensor_msgs/msg/Image'].__msgtype__,
                                 typestore=ts)
        c_pose = w.add_connection('/ee', T['geometry_msgs/msg/PoseStamped'].__msgtype__,
                                  typestore=ts)
        gtype = 'sensor_msgs/msg/JointState' if joint_state else 'std_msgs/msg/Float64'
        c_grip = w.add_connection('/grip', gtype, typestore=ts)
        if second_camera:
            c_img2 = w.add_connection('/cam2/image', T['sensor_msgs/msg/Image'].__msgtype__,
                                      typestore=ts)
        msgs = []
        for k in range(45):                     # camera 15 Hz
            t = k / 15
            if gap_after is not None and gap_after < t < gap_after + 1.5:
                continue
            img = np.zeros((24, 32, 3), np.uint8)
            img[..., 0] = k                     # red channel encodes the frame number
            data = img[..., ::-1] if bgr else img
            m = T['sensor_msgs/msg/Image'](header=header(t), height=24, width=32,
                                           encoding='bgr8' if bgr else 'rgb8', is_bigendian=0,
                                           step=96, data=np.ascontiguousarray(data).reshape(-1))
            msgs.append((t, c_img, m, 'sensor_msgs/msg/Image'))
            if second_camera and k not in (10, 11):
                t2 = t + (0.03 if k == 20 else 0.005)
                img2 = np.zeros((24, 32, 3), np.uint8)
                img2[..., 1] = k
                m = T['sensor_msgs/msg/Image'](header=header(t2), height=24, width=32,
                                               encoding='rgb8', is_bigendian=0, step=96,
                                               data=img2.reshape(-1))
                msgs.append((t2, c_img2, m, 'sensor_msgs/msg/Image'))
        P = T['geometry_msgs/msg/Pose']
        for k in range(150):                    # pose 50 Hz: x = 0.1 t, yaw = 0.2 t
            t = k / 50
            yaw = 0.2 * t
            pose = P(position=T['geometry_msgs/msg/Point'](x=0.1 * t, y=0.2, z=0.3),
                     orientation=T['geometry_msgs/msg/Quaternion'](
                         x=0.0, y=0.0, z=math.sin(yaw / 2), w=math.cos(yaw / 2)))
            m = T['geometry_msgs/msg/PoseStamped'](header=header(t), pose=pose)
            msgs.append((t, c_pose, m, 'geometry_msgs/msg/PoseStamped'))
        for k in range(60):                     # gripper 20 Hz: ramps 0 -> 0.08 (closed)
            t = k / 20
            v = 0.08 * min(1.0, t / 2)
            if joint_state:
                m = T['sensor_msgs/msg/JointState'](
                    header=header(t), name=['finger_a', 'finger_b'],
                    position=np.array([0.5, v]), velocity=np.zeros(0), effort=np.zeros(0))
            else:
                m = T['std_msgs/msg/Float64'](data=v)
            msgs.append((t, c_grip, m, gtype))
        for t, conn, m, typ in sorted(msgs, key=lambda x: x[0]):
            w.write(conn, int((100 + t) * 1e9), ts.serialize_cdr(m, typ))
    return path


CFG = {'image_topic': '/cam/image', 'pose_topic': '/ee', 'gripper_topic': '/grip', 'rate': 10.0,
       'image_size': 16, 'gripper_open': 0.0, 'gripper_closed': 0.08}


def test_import_mcap_resamples_and_derives_actions(tmp_path):
    bag = _write_bag(tmp_path / 'bag')
    assert any(p.suffix == '.mcap' for p in bag.iterdir())
    paths = import_bag(bag, tmp_path / 'eps', ImportConfig(**CFG))
    assert len(paths) == 1
    ep = read_episode(paths[0])
    assert ep.frames.shape[1:] == (16, 16, 3)
    assert 28 <= ep.num_steps <= 30
    np.testing.assert_allclose(np.diff(ep.timestamps), 0.1, atol=1e-6)
    t = ep.timestamps                           # header stamps start at 100 s (trimmed)
    np.testing.assert_allclose(ep.states[:, 0], 0.1 * t, atol=1e-4)
    np.testing.assert_allclose(ep.states[:, 5], 0.2 * t, atol=1e-4)
    np.testing.assert_allclose(ep.states[:, 6], np.minimum(1.0, t / 2), atol=0.03)
    np.testing.assert_allclose(ep.actions[:, 0], 0.01, atol=1e-4)
    np.testing.assert_allclose(ep.actions[:, 5], 0.02, atol=1e-4)
    # Each tick shows the latest camera frame not after it (red channel = frame number).
    expected = np.floor(t * 15 + 1e-6)
    np.testing.assert_allclose(ep.frames[:, 8, 8, 0], expected, atol=1)
    assert ep.metadata['robot']['frame'] == 'panda_link0'
    assert ep.metadata['source'] == 'rosbag2'


def test_joint_state_gripper_bgr_images_and_gap_split(tmp_path):
    bag = _write_bag(tmp_path / 'bag', joint_state=True, gap_after=1.0, bgr=True)
    cfg = ImportConfig(**dict(CFG, gripper_joint='finger_b', max_gap=0.5, min_steps=3))
    paths = import_bag(bag, tmp_path / 'eps', cfg)
    assert len(paths) == 2                      # the camera dropout splits the recording
    eps = [read_episode(p) for p in paths]
    assert eps[0].states[-1, 6] < eps[1].states[0, 6]
    assert eps[0].frames[0, 0, 0, 0] < 5 and eps[0].frames[0, 0, 0, 2] == 0   # BGR -> RGB


def test_missing_topic_is_a_clear_error(tmp_path, capsys):
    import argparse
    bag = _write_bag(tmp_path / 'bag')
    with pytest.raises(ValueError, match="'/nope' not found.*'/cam/image'"):
        import_bag(bag, tmp_path / 'eps', ImportConfig(**dict(CFG, image_topic='/nope')))
    parser = add_arguments(argparse.ArgumentParser())
    args = parser.parse_args([str(bag), '--out', str(tmp_path / 'cli'), '--image-topic',
                              '/cam/image', '--pose-topic', '/ee', '--gripper-topic', '/grip',
                              '--gripper-closed', '0.08', '--image-size', '16'])
    assert run(args) == 0
    assert len(list_episodes(tmp_path / 'cli')) == 1
    args.image_topic = None
    args._cfg_image_topic = '/nope'
    assert run(args) == 1
    assert 'not found' in capsys.readouterr().err


def test_second_camera_imports_as_two_view_episodes_matched_by_stamp(tmp_path, capsys):
    import argparse
    bag = _write_bag(tmp_path / 'bag', second_camera=True)
    cfg = ImportConfig(**dict(CFG, extra_image_topics=('/cam2/image',), image_sync_slop=0.02))
    stats = {}
    paths = import_bag(bag, tmp_path / 'eps', cfg, stats)
    assert len(paths) == 1 and stats == {'unsynced_frames': 3}   # frames 10, 11 and 20
    ep = read_episode(paths[0])
    assert ep.num_views == 2 and ep.extra_frames[0].shape == ep.frames.shape
    assert ep.metadata['views'] == ['cam', 'cam2'] and ep.metadata['unsynced_frames'] == 3
    assert ep.metadata['view_topics'] == ['/cam/image', '/cam2/image']
    # every step's views are one capture (red = green = frame number), never a mismatched pair
    red, green = ep.frames[:, 8, 8, 0], ep.extra_frames[0][:, 8, 8, 1]
    np.testing.assert_array_equal(red, green)
    assert not set(red.tolist()) & {10, 11, 20} and 28 <= ep.num_steps <= 30
    # the CLI, with names; a slop no set fits is a clear error
    parser = add_arguments(argparse.ArgumentParser())
    args = parser.parse_args([str(bag), '--out', str(tmp_path / 'cli'), '--image-topic',
                              '/cam/image', '--pose-topic', '/ee', '--gripper-topic', '/grip',
                              '--gripper-closed', '0.08', '--image-size', '16',
                              '--extra-image-topics', '/cam2/image', '--view-names', 'front',
                              'side', '--image-sync-slop', '0.01'])
    assert run(args) == 0
    assert '3 /cam/image frame(s) without every camera' in capsys.readouterr().out
    assert read_episode(list_episodes(tmp_path / 'cli')[0]).metadata['views'] == ['front', 'side']
    with pytest.raises(ValueError, match='image-sync-slop 0.001 s'):
        tight = ImportConfig(**dict(cfg.__dict__, image_sync_slop=0.001))
        import_bag(bag, tmp_path / 'eps', tight)
    with pytest.raises(ValueError, match="extra image topic '/cam3' not found"):
        import_bag(bag, tmp_path / 'eps', ImportConfig(**dict(CFG, extra_image_topics=('/cam3',))))


def test_quaternion_to_euler_matches_extrinsic_xyz():
    r, p, y = 0.3, -0.2, 1.1
    cr, sr, cp, sp, cy, sy = (math.cos(r / 2), math.sin(r / 2), math.cos(p / 2),
                              math.sin(p / 2), math.cos(y / 2), math.sin(y / 2))
    w = cr * cp * cy + sr * sp * sy
    x = sr * cp * cy - cr * sp * sy
    yy = cr * sp * cy + sr * cp * sy
    z = cr * cp * sy - sr * sp * cy
    np.testing.assert_allclose(quat_to_euler(w, x, yy, z), (r, p, y), atol=1e-9)
