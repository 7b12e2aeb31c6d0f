# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""sensor_msgs/Image <-> numpy against hand-made messages, padding and byte order included."""

import cv2
from jepa_ros.ros import image_conversion as ic
from jepa_ros.ros.image_conversion import image_to_numpy, numpy_to_image
import numpy as np
import pytest
from sensor_msgs.msg import Image
from std_msgs.msg import Header

CHANNELS = {'rgb8': 3, 'bgr8': 3, 'rgba8': 4, 'bgra8': 4, 'mono8': 1, 'mono16': 1}


def _hand_made(pixels, encoding, pad=0, big_endian=False):
    """Build an Image row by row, the way a driver would, with ``pad`` junk bytes per row."""
    h, w = pixels.shape[:2]
    dtype = np.dtype('>u2' if big_endian else '<u2') if pixels.dtype == np.uint16 else np.uint8
    data = b''
    for row in pixels:
        data += np.ascontiguousarray(row, dtype=dtype).tobytes() + bytes([0xAB]) * pad
    msg = Image(height=h, width=w, encoding=encoding, is_bigendian=int(big_endian))
    msg.step = len(data) // h
    msg.data = data
    return msg


def _pixels(encoding, h=5, w=7, seed=0):
    rng = np.random.default_rng(seed)
    c = CHANNELS[encoding]
    if encoding == 'mono16':
        return rng.integers(0, 65535, (h, w), dtype=np.uint16)
    shape = (h, w) if c == 1 else (h, w, c)
    return rng.integers(0, 256, shape, dtype=np.uint8)


@pytest.mark.parametrize('encoding', list(CHANNELS))
@pytest.mark.parametrize('pad', [0, 3])
def test_passthrough_reads_hand_made_messages(encoding, pad):
    px = _pixels(encoding)
    out = image_to_numpy(_hand_made(px, encoding, pad), desired='passthrough')
    assert out.dtype == px.dtype and np.array_equal(out, px)


@pytest.mark.parametrize('big_endian', [False, True])
def test_mono16_honours_byte_order(big_endian):
    px = np.array([[1, 256, 65535], [4660, 0, 513]], dtype=np.uint16)
    out = image_to_numpy(_hand_made(px, 'mono16', pad=1, big_endian=big_endian), 'mono16')
    assert np.array_equal(out, px)


def test_no_copy_without_conversion():
    msg = numpy_to_image(_pixels('rgb8'), 'rgb8')
    out = image_to_numpy(msg, 'rgb8')
    assert np.shares_memory(out, np.frombuffer(msg.data, dtype=np.uint8))


_CV2 = {('bgr8', 'rgb8'): cv2.COLOR_BGR2RGB, ('rgba8', 'rgb8'): cv2.COLOR_RGBA2RGB,
        ('bgra8', 'rgb8'): cv2.COLOR_BGRA2RGB, ('mono8', 'rgb8'): cv2.COLOR_GRAY2RGB,
        ('rgb8', 'mono8'): cv2.COLOR_RGB2GRAY, ('bgr8', 'mono8'): cv2.COLOR_BGR2GRAY,
        ('rgb8', 'bgr8'): cv2.COLOR_RGB2BGR, ('rgb8', 'rgba8'): cv2.COLOR_RGB2RGBA,
        ('bgra8', 'mono8'): cv2.COLOR_BGRA2GRAY, ('mono8', 'bgra8'): cv2.COLOR_GRAY2BGRA}


@pytest.mark.parametrize('src, dst', list(_CV2))
@pytest.mark.parametrize('pad', [0, 5])
def test_conversions_match_opencv(src, dst, pad):
    """cv_bridge converts with cv2.cvtColor, so matching OpenCV means matching cv_bridge."""
    px = _pixels(src, h=9, w=11, seed=1)
    out = image_to_numpy(_hand_made(px, src, pad), desired=dst, use_cv_bridge=False)
    assert np.array_equal(out, cv2.cvtColor(px, _CV2[(src, dst)]))


def test_round_trip_keeps_header_and_values():
    header = Header(frame_id='cam')
    header.stamp.sec = 12
    for encoding in CHANNELS:
        px = _pixels(encoding, seed=2)
        msg = numpy_to_image(px, encoding, header=header)
        assert msg.header.frame_id == 'cam' and msg.header.stamp.sec == 12
        assert msg.step == px.shape[1] * CHANNELS[encoding] * px.itemsize
        assert np.array_equal(image_to_numpy(msg, 'passthrough'), px)


def test_errors_are_clear():
    px = _pixels('rgb8')
    with pytest.raises(ValueError, match="unsupported image encoding 'yuv422'"):
        numpy_to_image(px, 'yuv422')
    bad = _hand_made(px, 'rgb8')
    bad.encoding = '32FC1'
    with pytest.raises(ValueError, match='unsupported image message encoding'):
        image_to_numpy(bad)
    with pytest.raises(ValueError, match='desired encoding'):
        image_to_numpy(_hand_made(px, 'rgb8'), desired='hsv')
    short = _hand_made(px, 'rgb8')
    short.step = 7 * 3 - 1
    with pytest.raises(ValueError, match='step'):
        image_to_numpy(short)
    truncated = _hand_made(px, 'rgb8')
    truncated.data = bytes(truncated.data)[:-1]
    with pytest.raises(ValueError, match='expected step'):
        image_to_numpy(truncated)
    with pytest.raises(ValueError, match=r'\(H, W, 3\)'):
        numpy_to_image(px[..., 0], 'rgb8')
    with pytest.raises(ValueError, match='dtype uint8'):
        numpy_to_image(px.astype(np.float32), 'rgb8')
    with pytest.raises(ValueError, match='bit depths'):
        image_to_numpy(_hand_made(_pixels('mono16'), 'mono16'), 'rgb8')


@pytest.mark.skipif(ic.CvBridge is None, reason='cv_bridge not installed')
def test_cv_bridge_and_numpy_paths_agree():  # pragma: no cover - needs cv_bridge
    for src, dst in _CV2:
        msg = _hand_made(_pixels(src, seed=3), src, pad=2)
        assert np.array_equal(image_to_numpy(msg, dst, use_cv_bridge=True),
                              image_to_numpy(msg, dst, use_cv_bridge=False))
