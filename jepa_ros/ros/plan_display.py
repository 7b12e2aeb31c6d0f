# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
What the planner node shows in RViz: the imagined path, its markers, the goal image, the landscape.

Kept apart from the node's control path: nothing here decides a command. The node owns the
publishers (lifecycle publishers, created and destroyed with its interfaces) and hands them in.
"""

from jepa_ros.control.image_sync import tile_views
from jepa_ros.ros.image_conversion import numpy_to_image
from jepa_ros.ros.planner_msgs import landscape_image, markers_msg, path_msg
import numpy as np


def active_goal_image(goal):
    """Return the image of the active goal (a GoalSequence's current one), or ``goal``."""
    from jepa_ros.planning import GoalSequence
    return goal.goals[goal.index] if isinstance(goal, GoalSequence) else goal


class PlanDisplay:
    """Publish a plan's path and markers, the goal image once per change, and the landscape."""

    def __init__(self, node, pubs, frame: str):
        self.node = node
        self.pubs = pubs              # 'path', 'markers', 'goal_image', optional 'landscape'
        self.frame = frame
        self.shown_goal = (-1, -1)    # (goal version, sub-goal index) last published

    def reset(self):
        """Publish the goal image again at the next plan (e.g. after re-activation)."""
        self.shown_goal = (-1, -1)

    def show_plan(self, plan, goal, goal_version, world_model):
        """Publish the imagined path and markers of ``plan`` and the goal image if it changed."""
        stamp = self.node.get_clock().now().to_msg()
        self._show_goal(goal, goal_version, plan.goal_index)
        self.pubs['path'].publish(path_msg(plan.ee_path, self.frame, stamp))
        where = plan.goal_position          # the state probe's reading, if the plan used one
        if where is None:
            where = _goal_position(world_model, goal)
        self.pubs['markers'].publish(markers_msg(plan.ee_path, self.frame, stamp, plan.ok,
                                                 where))

    def _show_goal(self, goal, version, index):
        if self.shown_goal == (version, index) or goal is None:
            return
        img = active_goal_image(goal)
        if isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim in (3, 4):
            msg = numpy_to_image(np.ascontiguousarray(tile_views(img)), 'rgb8')
            msg.header.stamp = self.node.get_clock().now().to_msg()
            msg.header.frame_id = 'goal'
            self.pubs['goal_image'].publish(msg)
        self.shown_goal = (version, index)

    def show_landscape(self, world_model, planner, planner_cfg, image, state, actions,
                       goal_arg):
        """Draw the energy around the plan (in the planning thread: it costs many rollouts)."""
        from jepa_ros.planning import energy_landscape, GoalSequence
        if 'landscape' not in self.pubs:
            return
        goal = goal_arg.tokens(planner) if isinstance(goal_arg, GoalSequence) else goal_arg
        try:
            ls = energy_landscape(world_model, image, state, goal, actions,
                                  span=planner_cfg.maxnorm, resolution=11, config=planner_cfg)
        except (RuntimeError, ValueError) as exc:
            self.node.get_logger().warn(f'energy landscape failed: {exc}',
                                        throttle_duration_sec=10.0)
            return
        mid = len(ls.xs) // 2
        iy, ix = np.unravel_index(int(np.nanargmin(np.where(np.isfinite(ls.energies),
                                                            ls.energies, np.inf))),
                                  ls.energies.shape)
        msg = numpy_to_image(landscape_image(ls.energies, (mid, mid), (iy, ix)), 'rgb8')
        msg.header.stamp = self.node.get_clock().now().to_msg()
        msg.header.frame_id = 'energy_landscape'
        self.pubs['landscape'].publish(msg)


def _goal_position(world_model, goal):
    """Return the goal's end-effector position when the world model can tell (pose codes)."""
    decode = getattr(world_model, 'goal_position', None)
    if decode is None or goal is None:
        return None
    return decode(active_goal_image(goal))
