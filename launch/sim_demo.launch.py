# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Launch the embedded simulated Panda, the planner and (optionally) RViz.

  ros2 launch jepa_ros sim_demo.launch.py goal_image:=/path/to/goal.png rviz:=true

With a model trained on the front and side cameras:

  ros2 launch jepa_ros sim_demo.launch.py checkpoint:=/path/to/two_view_model \
      extra_cameras:=side image_topics:='camera/image_raw camera_side/image_raw'
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    """Declare the arguments, the sim arm, the planner and RViz."""
    share = FindPackageShare('jepa_ros')
    args = [
        DeclareLaunchArgument('rviz', default_value='false', description='start RViz'),
        DeclareLaunchArgument('checkpoint', default_value='default',
                              description='own model name/dir or official .pt path'),
        DeclareLaunchArgument('device', default_value='auto', description='auto, cpu or cuda'),
        DeclareLaunchArgument('goal_image', default_value='',
                              description='goal image file (or call ~/capture_goal)'),
        DeclareLaunchArgument('use_sim_time', default_value='false', description='use /clock'),
        DeclareLaunchArgument('extra_cameras', default_value='',
                              description='more sim cameras, e.g. side (camera_side/image_raw)'),
        DeclareLaunchArgument('image_topics', default_value='',
                              description='planner image topic per model view (multi-camera)'),
    ]
    sim = Node(
        package='jepa_ros',
        executable='sim_arm_node',
        name='sim_arm_node',
        output='screen',
        parameters=[PathJoinSubstitution([share, 'config', 'sim_arm.yaml']),
                    {'use_sim_time': LaunchConfiguration('use_sim_time'),
                     'extra_cameras': LaunchConfiguration('extra_cameras')}],
    )
    planner = Node(
        package='jepa_ros',
        executable='planner_node',
        name='planner_node',
        output='screen',
        parameters=[
            PathJoinSubstitution([share, 'config', 'planner.yaml']),
            {
                'checkpoint': LaunchConfiguration('checkpoint'),
                'device': LaunchConfiguration('device'),
                'goal_image_path': LaunchConfiguration('goal_image'),
                'image_topics': LaunchConfiguration('image_topics'),
                'use_sim_time': LaunchConfiguration('use_sim_time'),
            },
        ],
    )
    rviz = Node(
        package='rviz2',
        executable='rviz2',
        name='rviz2',
        arguments=['-d', PathJoinSubstitution([share, 'config', 'jepa_ros.rviz'])],
        condition=IfCondition(LaunchConfiguration('rviz')),
    )
    return LaunchDescription(args + [sim, planner, rviz])
