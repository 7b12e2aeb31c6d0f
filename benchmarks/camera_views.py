#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Write docs/images/camera_views.png: what the model sees (64 px) from the front and side cameras."""

import sys

import cv2
import numpy as np

from jepa_ros.sim import SimArm, SimConfig


def main(out='docs/images/camera_views.png', seed=3):
    tiles = []
    with SimArm(SimConfig(image_size=64)) as sim:
        sim.reset(seed=seed)
        for cam in ('front', 'side'):
            im = cv2.resize(sim.render(size=64, camera=cam), (256, 256),
                            interpolation=cv2.INTER_NEAREST)
            tiles.append(cv2.putText(im.copy(), f'{cam} (64 px)', (6, 18),
                                     cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1))
    cv2.imwrite(out, cv2.cvtColor(np.concatenate(tiles, axis=1), cv2.COLOR_RGB2BGR))
    print(f'wrote {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main(*sys.argv[1:2]))
