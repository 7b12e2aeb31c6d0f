# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Sub-goals planned one after another (grasp, carry, place), and when to move on.

The planner only sees images, and on our models a grasp sub-goal's energy falls as low with
the cube beside the fingers as with the cube between them. So a sequence may mark the
sub-goals that only make sense with an object in hand (``needs_hold``): the controller then
reports each step whether the fingers hold something (:mod:`jepa_ros.control.grasp`), the
sequence leaves a grasp sub-goal only once they do, goes back to it when the object is
dropped, and asks for the gripper to stay shut while the object must stay in hand.
"""

from typing import Any, Optional, Sequence

import numpy as np
import torch


class GoalSequence:
    """
    An ordered list of sub-goals (images or pre-encoded tokens), e.g. grasp, carry, place.

    A sub-goal counts as reached when the current frame's energy to it is at or below
    ``threshold``, or when ``max_steps`` replanning steps were spent on it (0: no budget); the
    planner then moves to the next one. None/0 fall back to the planner config's
    ``subgoal_threshold`` / ``subgoal_max_steps``.

    With ``needs_hold`` (one flag per sub-goal: plan it with the object in hand) and
    ``holding`` set by the controller before each plan (None: unknown, the rules above only):
    a sub-goal followed by one that needs the hold is left once ``holding`` was True for
    ``hold_steps`` plans in a row, whatever its energy or budget; on a sub-goal that needs the
    hold, ``holding`` False for ``hold_steps`` plans goes back to the grasp before it.
    """

    def __init__(self, goals: Sequence[Any], threshold: Optional[float] = None,
                 max_steps: int = 0, needs_hold: Optional[Sequence[bool]] = None,
                 hold_steps: int = 2):
        self.goals = list(goals)
        if not self.goals:
            raise ValueError('GoalSequence needs at least one goal')
        self.threshold = threshold
        self.max_steps = int(max_steps)
        flags = tuple(bool(f) for f in needs_hold) if needs_hold is not None else ()
        if flags and len(flags) != len(self.goals):
            raise ValueError(f'needs_hold has {len(flags)} flags for {len(self.goals)} sub-goals')
        if flags and flags[0]:
            raise ValueError('needs_hold: the first sub-goal cannot need an object in hand '
                             '(nothing before it grasps one)')
        self.needs_hold = flags or (False,) * len(self.goals)
        self.hold_steps = max(1, int(hold_steps))
        self._tokens = {}
        self.reset()

    def reset(self):
        """Start again from the first sub-goal."""
        self.index = 0
        self.steps = 0
        self.reached = False
        self.holding = None
        self._held_for = 0
        self._lost_for = 0
        self.regrasps = 0

    def __len__(self):
        return len(self.goals)

    @property
    def uses_hold(self) -> bool:
        """Return True when some sub-goal needs an object in hand."""
        return any(self.needs_hold)

    @property
    def gripper_latched(self) -> bool:
        """Return True while the gripper must not open: an object is held and must stay so."""
        return bool(self.holding) and self.needs_hold[self.index]

    def tokens(self, planner) -> torch.Tensor:
        """Return the active sub-goal as tokens, encoding each sub-goal once."""
        if self.index not in self._tokens:
            self._tokens[self.index] = planner._as_tokens(self.goals[self.index])
        return self._tokens[self.index]

    def update(self, current_energy: float, threshold, max_steps) -> bool:
        """Apply the reached rule; return True when the active sub-goal changed."""
        if self.uses_hold and self.holding is not None:
            moved = self._hold_rule()
            if moved is not None:
                return moved
        thr = self.threshold if self.threshold is not None else threshold
        budget = self.max_steps if self.max_steps > 0 else max_steps
        hit = thr is not None and np.isfinite(current_energy) and current_energy <= thr
        spent = budget > 0 and self.steps >= budget
        if not (hit or spent):
            return False
        if self.index + 1 < len(self.goals):
            self._go(self.index + 1)
            return True
        self.reached = self.reached or hit
        return False

    def _hold_rule(self) -> Optional[bool]:
        """Return True/False when the hold decides (moved or stay), None to use the usual rule."""
        self._held_for = self._held_for + 1 if self.holding else 0
        self._lost_for = 0 if self.holding else self._lost_for + 1
        nxt = self.index + 1
        if nxt < len(self.goals) and self.needs_hold[nxt] and not self.needs_hold[self.index]:
            if self._held_for >= self.hold_steps:   # a grasp: left only with the object in hand
                self._go(nxt)
                return True
            return False
        if self.needs_hold[self.index] and self._lost_for >= self.hold_steps:
            back = self.index
            while back > 0 and self.needs_hold[back]:
                back -= 1
            self.regrasps += 1
            self._go(back)
            return True
        return None

    def _go(self, index: int):
        self.index = index
        self.steps = 0
