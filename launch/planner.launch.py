# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Launch the jepa_ros planner on a real robot.

Remap the camera, pose and joint-state topics to your drivers and choose how commands reach the arm
(MoveIt Servo twist, pose target, or ros2_control's joint_trajectory_controller), e.g.

  ros2 launch jepa_ros planner.launch.py image_topic:=/camera/color/image_raw \
      pose_topic:=/franka/ee_pose command_mode:=twist \
      twist_topic:=/servo_node/delta_twist_cmds checkpoint:=/path/to/vitg-384.pt device:=cuda

A model trained on several cameras takes one topic per view, in its camera order:
image_topics:='/cam_front/image_raw /cam_side/image_raw' (spaces or commas between names).
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

ARGUMENTS = {
    'params_file': (PathJoinSubstitution([FindPackageShare('jepa_ros'), 'config', 'planner.yaml']),
                    'YAML with planner_node: ros__parameters:'),
    'checkpoint': ('default', 'own model name/dir, or an official V-JEPA 2-AC .pt path'),
    'device': ('auto', 'auto, cpu, cuda or cuda:N'),
    'command_mode': ('twist', 'twist, pose or joint_trajectory'),
    'use_sim_time': ('false', 'use /clock'),
    'image_topic': ('camera/image_raw', 'sensor_msgs/Image from your camera'),
    'image_topics': ('', 'multi-camera models: one image topic per view, in the model camera '
                         'order (overrides params_file; empty: image_topic alone)'),
    'pose_topic': ('ee_pose', 'geometry_msgs/PoseStamped of the end effector'),
    'joint_states_topic': ('joint_states', 'sensor_msgs/JointState (gripper)'),
    'twist_topic': ('delta_twist_cmds', 'geometry_msgs/TwistStamped out (MoveIt Servo)'),
    'pose_target_topic': ('target_pose', 'geometry_msgs/PoseStamped out (pose target)'),
    'trajectory_topic': ('joint_trajectory', 'trajectory_msgs/JointTrajectory out (ros2_control)'),
    'gripper_topic': ('gripper_command', 'std_msgs/Float64 out, 0 open .. 1 closed'),
}


def generate_launch_description():
    """Declare the arguments and the planner node."""
    args = [DeclareLaunchArgument(name, default_value=default, description=text)
            for name, (default, text) in ARGUMENTS.items()]
    planner = Node(
        package='jepa_ros',
        executable='planner_node',
        name='planner_node',
        output='screen',
        parameters=[
            LaunchConfiguration('params_file'),
            {
                'checkpoint': LaunchConfiguration('checkpoint'),
                'device': LaunchConfiguration('device'),
                'command_mode': LaunchConfiguration('command_mode'),
                'image_topics': LaunchConfiguration('image_topics'),
                'use_sim_time': LaunchConfiguration('use_sim_time'),
            },
        ],
        remappings=[
            ('camera/image_raw', LaunchConfiguration('image_topic')),
            ('ee_pose', LaunchConfiguration('pose_topic')),
            ('joint_states', LaunchConfiguration('joint_states_topic')),
            ('delta_twist_cmds', LaunchConfiguration('twist_topic')),
            ('target_pose', LaunchConfiguration('pose_target_topic')),
            ('joint_trajectory', LaunchConfiguration('trajectory_topic')),
            ('gripper_command', LaunchConfiguration('gripper_topic')),
        ],
    )
    return LaunchDescription(args + [planner])
