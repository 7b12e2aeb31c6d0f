# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""ROS parameters built from the config dataclasses, and config/sim_arm.yaml kept in sync."""

from jepa_ros.ros.params import declare_config, ros_params_yaml
from jepa_ros.ros.sim_arm_node import NODE_NAME, SimArmNodeConfig
from jepa_ros.sim import SimConfig
from jepa_ros.utils.config import ConfigError, from_dict
import pytest
import rclpy
from rclpy.context import Context
from rclpy.node import Node
from rclpy.parameter import Parameter
import yaml


def test_yaml_file_matches_the_dataclass_defaults(project_root):
    path = project_root / 'config' / 'sim_arm.yaml'
    text = path.read_text()
    body = ''.join(line + '\n' for line in text.splitlines() if not line.startswith('#'))
    assert body == ros_params_yaml(NODE_NAME, SimConfig(), SimArmNodeConfig()), \
        'config/sim_arm.yaml is stale: regenerate it with jepa_ros.ros.params.ros_params_yaml'
    params = yaml.safe_load(text)[NODE_NAME]['ros__parameters']
    sim_keys = set(SimConfig.__dataclass_fields__)
    assert from_dict(SimConfig, {k: v for k, v in params.items() if k in sim_keys}) == SimConfig()
    assert from_dict(SimArmNodeConfig, {k: v for k, v in params.items()
                                        if k not in sim_keys}) == SimArmNodeConfig()


@pytest.fixture()
def context():
    ctx = Context()
    rclpy.init(context=ctx)
    yield ctx
    rclpy.try_shutdown(context=ctx)


def _node(context, overrides):
    return Node('params_test', context=context,
                parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()])


def test_declared_parameters_override_defaults(context):
    node = _node(context, {'image_size': 64, 'control_dt': 1, 'workspace_low': [0.3, -0.2, 0.05],
                           'mjcf_path': '', 'arm_joints': ['a', 'b']})
    try:
        with pytest.raises(ConfigError, match='home_qpos'):
            declare_config(node, SimConfig)  # 2 joint names but 7 home positions
    finally:
        node.destroy_node()
    node = _node(context, {'image_size': 64, 'control_dt': 1, 'workspace_low': [0.3, -0.2, 0.05],
                           'mjcf_path': ''})
    try:
        cfg = declare_config(node, SimConfig)
        assert cfg.image_size == 64 and cfg.control_dt == 1.0 and cfg.mjcf_path is None
        assert cfg.workspace_low == (0.3, -0.2, 0.05)
        assert node.get_parameter('camera').value == 'front'
    finally:
        node.destroy_node()


@pytest.mark.parametrize('name, value, message', [
    ('image_size', 'big', 'SimConfig.image_size'),
    ('image_size', 8, 'SimConfig.image_size'),
    ('workspace_high', [1.0, 1.0], 'SimConfig.workspace_high'),
    ('unused', 1, None),
])
def test_bad_parameter_names_the_field(context, name, value, message):
    node = _node(context, {name: value})
    try:
        if message is None:
            assert declare_config(node, SimConfig) == SimConfig()
        else:
            with pytest.raises(ConfigError, match=message):
                declare_config(node, SimConfig)
    finally:
        node.destroy_node()


def test_extra_cameras_parameter(context):
    node = _node(context, {'extra_cameras': ['side']})
    try:
        assert declare_config(node, SimArmNodeConfig).extra_cameras == ('side',)
    finally:
        node.destroy_node()
    for bad, message in ((['side', 'side'], 'twice'), (['my camera'], 'topic name')):
        with pytest.raises(ConfigError, match=message):
            from_dict(SimArmNodeConfig, {'extra_cameras': bad})
