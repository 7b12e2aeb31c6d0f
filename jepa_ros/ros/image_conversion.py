# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
sensor_msgs/Image <-> numpy for rgb8, bgr8, rgba8, bgra8, mono8 and mono16.

Row padding (``step``) and ``is_bigendian`` are honoured. Without a conversion the array is a
read-only view of the message buffer (no copy). cv_bridge is used when it can be imported;
otherwise the numpy path gives the same arrays (colour to grey uses OpenCV's integer weights).
"""

import array
import sys

import numpy as np
from sensor_msgs.msg import Image

try:  # optional: not a dependency
    from cv_bridge import CvBridge
except ImportError:  # pragma: no cover - depends on the installation
    CvBridge = None

# encoding -> (channels, dtype, channel order)
ENCODINGS = {
    'rgb8': (3, np.uint8, 'RGB'),
    'bgr8': (3, np.uint8, 'BGR'),
    'rgba8': (4, np.uint8, 'RGBA'),
    'bgra8': (4, np.uint8, 'BGRA'),
    'mono8': (1, np.uint8, 'L'),
    'mono16': (1, np.uint16, 'L'),
}
_BRIDGE = None


def _check_encoding(encoding, what='encoding'):
    if encoding not in ENCODINGS:
        raise ValueError(f'unsupported image {what} {encoding!r}; supported: '
                         f'{", ".join(ENCODINGS)}')
    return ENCODINGS[encoding]


def _to_gray(rgb):
    """Luma as OpenCV computes it for 8-bit images (fixed point, rounded)."""
    r, g, b = (rgb[..., i].astype(np.uint32) for i in range(3))
    return ((r * 4899 + g * 9617 + b * 1868 + 8192) >> 14).astype(np.uint8)


def convert(img, src, dst):
    """Convert an (H, W[, C]) array between two supported encodings."""
    _, sdt, sorder = _check_encoding(src)
    _, ddt, dorder = _check_encoding(dst, 'desired encoding')
    if src == dst:
        return img
    if sdt != ddt:
        raise ValueError(f'cannot convert {src} to {dst}: bit depths differ')
    if sorder == 'L':
        rgb = np.repeat(img.reshape(img.shape[0], img.shape[1], 1), 3, axis=2)
        alpha = None
    else:
        rgb = img[..., [sorder.index(c) for c in 'RGB']]
        alpha = img[..., 3] if len(sorder) == 4 else None
    if dorder == 'L':
        return _to_gray(rgb)
    if len(dorder) == 4 and alpha is None:
        alpha = np.full(rgb.shape[:2], np.iinfo(ddt).max, dtype=ddt)
    channels = {'R': rgb[..., 0], 'G': rgb[..., 1], 'B': rgb[..., 2], 'A': alpha}
    return np.ascontiguousarray(np.stack([channels[c] for c in dorder], axis=-1))


def _numpy_view(msg):
    """Return the image of ``msg`` in its own encoding, a view of its buffer when possible."""
    channels, dtype, _ = _check_encoding(msg.encoding, 'message encoding')
    itemsize = np.dtype(dtype).itemsize
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    row = width * channels * itemsize
    if step < row:
        raise ValueError(f'image step {step} is smaller than width*channels*bytes = {row}')
    buf = np.frombuffer(msg.data, dtype=np.uint8) if not isinstance(msg.data, list) else \
        np.asarray(msg.data, dtype=np.uint8)
    if buf.size < step * height:
        raise ValueError(f'image data has {buf.size} bytes, expected step*height = '
                         f'{step * height}')
    rows = buf[:step * height].reshape(height, step)[:, :row]
    order = '>' if msg.is_bigendian else '<'
    pixels = rows.view(np.dtype(dtype).newbyteorder(order)) if itemsize > 1 else rows
    img = pixels.reshape(height, width, channels)
    if channels == 1:
        img = img[..., 0]
    if itemsize > 1 and (order == '>') == (sys.byteorder == 'little'):
        img = img.astype(dtype)  # native byte order for the caller
    return img


def image_to_numpy(msg, desired='rgb8', use_cv_bridge=True):
    """
    Return the pixels of a sensor_msgs/Image as an (H, W, C) or (H, W) numpy array.

    ``desired`` is an encoding from ENCODINGS or 'passthrough'. Raises ValueError for an
    unsupported encoding, an empty image, a too small ``step`` or too little data.
    """
    if desired != 'passthrough':
        _check_encoding(desired, 'desired encoding')
    _check_encoding(msg.encoding, 'message encoding')
    if int(msg.height) == 0 or int(msg.width) == 0:
        raise ValueError(f'empty image ({msg.width} x {msg.height} pixels)')
    global _BRIDGE
    if use_cv_bridge and CvBridge is not None:  # pragma: no cover - needs cv_bridge
        if _BRIDGE is None:
            _BRIDGE = CvBridge()
        return _BRIDGE.imgmsg_to_cv2(msg, desired_encoding=desired)
    img = _numpy_view(msg)
    return img if desired == 'passthrough' else convert(img, msg.encoding, desired)


def numpy_to_image(img, encoding='rgb8', header=None):
    """Build a sensor_msgs/Image (no row padding, native byte order) from a numpy array."""
    channels, dtype, _ = _check_encoding(encoding)
    img = np.asarray(img)
    if channels == 1:
        shape_ok = img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 1)
    else:
        shape_ok = img.ndim == 3 and img.shape[2] == channels
    if not shape_ok:
        want = '(H, W)' if channels == 1 else f'(H, W, {channels})'
        raise ValueError(f'{encoding} needs an array of shape {want}, got {img.shape}')
    if img.dtype != dtype:
        raise ValueError(f'{encoding} needs dtype {np.dtype(dtype).name}, got {img.dtype}')
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height, msg.width = int(img.shape[0]), int(img.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = int(sys.byteorder == 'big')
    msg.step = int(img.shape[1] * channels * img.itemsize)
    data = array.array('B')
    data.frombytes(np.ascontiguousarray(img).tobytes())
    msg.data = data
    return msg
