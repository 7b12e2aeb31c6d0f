# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""A user's MJCF file with other names works; a model missing a part fails with a clear error."""

from jepa_ros.sim import SimArm, SimConfig
from jepa_ros.sim.model import EMBEDDED_SCENE, ModelError, panda_mesh_dir
from jepa_ros.utils.config import ConfigError
import numpy as np
import pytest


def _variant(tmp_path, *replacements):
    text = EMBEDDED_SCENE.read_text().replace('JEPA_ROS_MESHDIR', str(panda_mesh_dir()))
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / 'my_arm.xml'
    path.write_text(text)
    return str(path)


_NO_CUBE = ('<freejoint name="cube_joint"/>', '')


def test_custom_mjcf_with_other_names_works(tmp_path):
    path = _variant(tmp_path, ('name="ee_site"', 'name="tool_tcp"'),
                    ('camera name="front"', 'camera name="cam0"'), _NO_CUBE)
    cfg = SimConfig(mjcf_path=path, ee_site='tool_tcp', camera='cam0', side_camera='',
                    cube_body='', image_size=64)
    with SimArm(cfg) as sim:
        obs = sim.reset(seed=0)
        assert obs.image.shape == (64, 64, 3) and np.isnan(obs.cube_pos).all()
        new = sim.step([0.02, 0, 0, 0, 0, 0, 0], render=False)
        assert new.ee_pos[0] - obs.ee_pos[0] == pytest.approx(0.02, abs=0.006)
        with pytest.raises(ModelError, match='no cube'):
            sim.set_cube_pose((0.5, 0.0))


@pytest.mark.parametrize('replacement, config, message', [
    (('name="ee_site"', 'name="tool_tcp"'), {}, r"no site named 'ee_site'.*tool_tcp"),
    (('camera name="front"', 'camera name="cam0"'), {}, r"no camera named 'front'.*cam0"),
    (('name="panda_joint3" joint="panda_joint3"', 'name="a3" joint="panda_joint2"'), {},
     r"'panda_joint3' .* has no actuator"),
    (('panda_joint5"', 'wrist_a"'), {},
     r"no joint named 'panda_joint5'.*wrist_a"),
    (_NO_CUBE, {}, r"'cube' .* free joint"),
])
def test_missing_parts_give_clear_errors(tmp_path, replacement, config, message):
    path = _variant(tmp_path, replacement)
    with pytest.raises(ModelError, match=message):
        SimArm(SimConfig(mjcf_path=path, **config))


def test_missing_file_and_bad_config():
    with pytest.raises(ModelError, match='not found'):
        SimArm(SimConfig(mjcf_path='/nonexistent/arm.xml'))
    with pytest.raises(ConfigError, match='image_size'):
        SimArm(SimConfig(image_size=4))
    with pytest.raises(ConfigError, match='home_qpos'):
        SimArm(SimConfig(home_qpos=(0.0, 0.0)))
