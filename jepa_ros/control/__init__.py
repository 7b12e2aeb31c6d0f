# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
The MPC loop's pure logic: configuration, the MPC runtime, input checks, command conversion.

The ROS nodes only translate messages to and from what lives here, so the safety rules are tested
without DDS.
"""

from jepa_ros.control.commands import (action_to_command, ArmCommand, command_to_action,
                                       hold_command, integrate_state, limit_command)
from jepa_ros.control.config import COMMAND_MODES, MPCNodeConfig, PANDA_ARM_JOINTS

__all__ = ['ArmCommand', 'COMMAND_MODES', 'MPCNodeConfig', 'PANDA_ARM_JOINTS',
           'action_to_command', 'command_to_action', 'hold_command', 'integrate_state',
           'limit_command']
