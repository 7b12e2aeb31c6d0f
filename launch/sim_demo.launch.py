# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Launch the embedded simulated Panda, the planner and (optionally) RViz.

  ros2 launch jepa_ros sim_demo.launch.py goal_image:=/path/to/goal.png rviz:=true

On a CPU the planner takes its cpu profile (48 samples x 3 iterations) and the model's own
recommendation (the shipped default: horizon 3, L2 energy, about 70 ms per plan), so the arm
moves; arguments left empty keep the values of config/*.yaml. A model
trained on several cameras (its config.json names them, e.g. front and side) gets them without
arguments: the sim publishes the extra cameras and the planner subscribes to one topic per view.
Or name them yourself:

  ros2 launch jepa_ros sim_demo.launch.py checkpoint:=/path/to/two_view_model \
      extra_cameras:=side image_topics:='camera/image_raw camera_side/image_raw'
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

ARGUMENTS = {
    'rviz': ('false', 'start RViz'),
    'namespace': ('', 'namespace of both nodes and their topics'),
    'checkpoint': ('', 'own model name/dir or official .pt path (default: the shipped model)'),
    'device': ('', 'auto, cpu or cuda (default: auto)'),
    'planner_profile': ('', 'auto, cpu, cuda or none (default: auto, by device)'),
    'goal_image': ('', 'goal image file (or call ~/capture_goal)'),
    'use_sim_time': ('', 'true: the sim publishes /clock and both nodes follow it'),
    'extra_cameras': ('', 'more sim cameras, e.g. side (camera_side/image_raw)'),
    'image_topics': ('', 'planner image topic per model view (multi-camera)'),
}
PLANNER_PARAMETERS = {'checkpoint': 'checkpoint', 'device': 'device',
                      'planner_profile': 'planner_profile', 'goal_image': 'goal_image_path',
                      'image_topics': 'image_topics', 'use_sim_time': 'use_sim_time'}
SIM_PARAMETERS = {'extra_cameras': 'extra_cameras', 'use_sim_time': 'use_sim_time'}


def _nodes(context):
    from jepa_ros.ros.launch_params import given_overrides, sim_view_overrides
    share = FindPackageShare('jepa_ros').perform(context)
    values = {name: LaunchConfiguration(name).perform(context) for name in ARGUMENTS}
    views = sim_view_overrides(values)        # a multi-view model's cameras, when not given
    sim_over = dict(views['sim'], **given_overrides(values, SIM_PARAMETERS,
                                                    bools=('use_sim_time',)))
    if sim_over.get('use_sim_time'):
        sim_over['publish_clock'] = True     # /clock comes from the simulator
    planner_over = dict(views['planner'], **given_overrides(values, PLANNER_PARAMETERS,
                                                            bools=('use_sim_time',)))
    sim = Node(
        package='jepa_ros',
        executable='sim_arm_node',
        name='sim_arm_node',
        namespace=values['namespace'],
        output='screen',
        parameters=[PathJoinSubstitution([share, 'config', 'sim_arm.yaml'])]
        + ([sim_over] if sim_over else []),
    )
    planner = Node(
        package='jepa_ros',
        executable='planner_node',
        name='planner_node',
        namespace=values['namespace'],
        output='screen',
        parameters=[PathJoinSubstitution([share, 'config', 'planner.yaml'])]
        + ([planner_over] if planner_over else []),
    )
    rviz = Node(
        package='rviz2',
        executable='rviz2',
        name='rviz2',
        namespace=values['namespace'],
        arguments=['-d', PathJoinSubstitution([share, 'config', 'jepa_ros.rviz'])],
        condition=IfCondition(values['rviz']),
    )
    return [sim, planner, rviz]


def generate_launch_description():
    """Declare the arguments, the sim arm, the planner and RViz."""
    args = [DeclareLaunchArgument(name, default_value=default, description=text)
            for name, (default, text) in ARGUMENTS.items()]
    return LaunchDescription(args + [OpaqueFunction(function=_nodes)])
