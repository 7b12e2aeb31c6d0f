# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""ament_python package definition: installs nodes, the CLI, launch and config files."""

from glob import glob
import os

from setuptools import find_packages, setup

package_name = 'jepa_ros'

# Node executables (ros2 run jepa_ros <name>) and the jepa-ros command-line tool.
NODES = {
    'sim_arm_node': 'jepa_ros.ros.sim_arm_node:main',
    'planner_node': 'jepa_ros.ros.planner_node:main',
    'recorder_node': 'jepa_ros.ros.recorder_node:main',
}

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    package_data={'jepa_ros': ['sim/assets/*.xml', 'assets/**/*']},
    include_package_data=True,
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        (os.path.join('share', package_name, 'launch'), glob('launch/*.launch.py')),
        (os.path.join('share', package_name, 'config'),
         glob('config/*.yaml') + glob('config/*.rviz')),
    ],
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='jepa_ros team',
    maintainer_email='team@jepa-ros.dev',
    description='V-JEPA 2-AC style world-model planning for ROS 2 arms.',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={
        'console_scripts': [f'{name} = {target}' for name, target in NODES.items()]
        + ['jepa-ros = jepa_ros.cli:main'],
    },
)
