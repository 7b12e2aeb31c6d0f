# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Is something between the fingers? Read off the gripper's own joints, as a robot can.

A parallel gripper told to close that stops well short of its command is blocked by an object;
one that closes as far as told holds nothing. Both closures are 0 open .. 1 closed: the command
is what the controller last sent, the measurement comes from the finger joints
(``joint_states`` on a robot, the finger width in the simulator).
"""

import dataclasses
import math


@dataclasses.dataclass
class GraspCheck:
    """
    Decide "holding" from the commanded and the measured gripper closure.

    ``min_command``: below this the gripper is not trying to hold. ``min_gap``: how far the
    fingers must stay short of the command (the Panda's 8 cm stroke: 0.15 is 12 mm, the
    simulated 4 cm cube leaves 0.46 at full closure). ``min_measured``: fingers barely closed
    are still opening or have not touched yet.
    """

    min_command: float = 0.5
    min_gap: float = 0.15
    min_measured: float = 0.2

    def holding(self, commanded: float, measured: float) -> bool:
        """Return True when the fingers are closing on something and stopped by it."""
        c, m = float(commanded), float(measured)
        if not (math.isfinite(c) and math.isfinite(m)):
            return False
        return c >= self.min_command and m >= self.min_measured and c - m >= self.min_gap
