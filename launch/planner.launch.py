# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Launch the jepa_ros planner on a real robot.

Remap the camera, pose and joint-state topics to your drivers and choose how commands reach the arm
(MoveIt Servo twist, pose target, or ros2_control's joint_trajectory_controller), e.g.

  ros2 launch jepa_ros planner.launch.py image_topic:=/camera/color/image_raw \
      pose_topic:=/franka/ee_pose command_mode:=twist \
      twist_topic:=/servo_node/delta_twist_cmds checkpoint:=/path/to/vitg-384.pt device:=cuda

Your ``params_file`` always wins: an argument left empty (the default) keeps the file's value,
and one you give overrides that one parameter. Planner settings follow ``planner_profile``
(auto: the cpu or cuda profile by device) unless the file sets ``planner.*`` values.

A model trained on several cameras takes one topic per view, in its camera order:
image_topics:='/cam_front/image_raw /cam_side/image_raw' (spaces or commas between names).
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

# launch argument -> planner_node parameter ('' = keep the params file's value)
PARAMETERS = {'checkpoint': 'checkpoint', 'device': 'device', 'command_mode': 'command_mode',
              'image_topics': 'image_topics', 'planner_profile': 'planner_profile',
              'use_sim_time': 'use_sim_time'}

ARGUMENTS = {
    'params_file': (PathJoinSubstitution([FindPackageShare('jepa_ros'), 'config', 'planner.yaml']),
                    'YAML with planner_node: ros__parameters:'),
    'namespace': ('', 'namespace of the node and its topics (several arms, one per namespace)'),
    'checkpoint': ('', 'own model name/dir, or an official V-JEPA 2-AC .pt path (default: the '
                       'params file, default model)'),
    'device': ('', 'auto, cpu, cuda or cuda:N (default: the params file, auto)'),
    'planner_profile': ('', 'auto, cpu, cuda or none (default: the params file, auto)'),
    'command_mode': ('', 'twist, pose or joint_trajectory (default: the params file, twist)'),
    'use_sim_time': ('', 'true: stamps and timeouts follow /clock'),
    'image_topic': ('camera/image_raw', 'sensor_msgs/Image from your camera'),
    'image_topics': ('', 'multi-camera models: one image topic per view, in the model camera '
                         'order (empty: image_topic alone)'),
    'pose_topic': ('ee_pose', 'geometry_msgs/PoseStamped of the end effector'),
    'joint_states_topic': ('joint_states', 'sensor_msgs/JointState (gripper)'),
    'twist_topic': ('delta_twist_cmds', 'geometry_msgs/TwistStamped out (MoveIt Servo)'),
    'pose_target_topic': ('target_pose', 'geometry_msgs/PoseStamped out (pose target)'),
    'trajectory_topic': ('joint_trajectory', 'trajectory_msgs/JointTrajectory out (ros2_control)'),
    'gripper_topic': ('gripper_command', 'std_msgs/Float64 out, 0 open .. 1 closed'),
}


def _planner(context):
    from jepa_ros.ros.launch_params import given_overrides
    values = {name: LaunchConfiguration(name).perform(context) for name in ARGUMENTS}
    overrides = given_overrides(values, PARAMETERS, bools=('use_sim_time',))
    return [Node(
        package='jepa_ros',
        executable='planner_node',
        name='planner_node',
        namespace=values['namespace'],
        output='screen',
        parameters=[values['params_file']] + ([overrides] if overrides else []),
        remappings=[
            ('camera/image_raw', values['image_topic']),
            ('ee_pose', values['pose_topic']),
            ('joint_states', values['joint_states_topic']),
            ('delta_twist_cmds', values['twist_topic']),
            ('target_pose', values['pose_target_topic']),
            ('joint_trajectory', values['trajectory_topic']),
            ('gripper_command', values['gripper_topic']),
        ],
    )]


def generate_launch_description():
    """Declare the arguments and the planner node."""
    args = [DeclareLaunchArgument(name, default_value=default, description=text)
            for name, (default, text) in ARGUMENTS.items()]
    return LaunchDescription(args + [OpaqueFunction(function=_planner)])
