# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""The training-support trust region: targets stay where the model has seen the arm."""

from jepa_ros.planning import CEMPlanner, PlannerConfig
from jepa_ros.planning.planner import support_limited
from jepa_ros.planning.toy import LinearToyWorldModel
from jepa_ros.utils.config import ConfigError
import numpy as np
import pytest
import torch

torch.set_num_threads(1)
NORM = {'state_mean': [0.5, 0.0, 0.2, 0, 0, 0, 0.5], 'state_std': [0.05, 0.1, 0.04, 1, 1, 1, 1],
        'action_mean': [0.0] * 7, 'action_std': [1.0] * 7}


def test_support_cuts_the_workspace_box_only_when_asked():
    cfg = PlannerConfig(workspace_min=(0.2, -0.6, 0.0), workspace_max=(0.9, 0.6, 0.9))
    assert support_limited(cfg, NORM) is cfg                        # support_std 0: off
    on = PlannerConfig(support_std=2.0, workspace_min=(0.2, -0.15, 0.0),
                       workspace_max=(0.9, 0.6, 0.9))
    assert support_limited(on, None) is on                          # no statistics: unchanged
    cut = support_limited(on, NORM)
    np.testing.assert_allclose(cut.workspace_min, (0.4, -0.15, 0.12))   # the box still wins
    np.testing.assert_allclose(cut.workspace_max, (0.6, 0.2, 0.28))
    with pytest.raises(ValueError, match='outside the workspace'):
        support_limited(PlannerConfig(support_std=1.0, workspace_min=(0.7, -0.6, 0.0),
                                      workspace_max=(0.9, 0.6, 0.9)), NORM)
    with pytest.raises(ConfigError, match='support_std'):
        PlannerConfig(support_std=-1.0).validate()


def test_planner_never_targets_outside_the_training_support():
    toy = LinearToyWorldModel(seed=0)
    toy.normalization = NORM
    start = np.array([0.59, 0.0, 0.2, 0.0, 0.0, 0.0, 0.0])
    far = start.copy()
    far[0] += 0.05                     # the goal lies beyond mean + 2 std in x (0.6)
    for support, limit in ((0.0, 0.64), (2.0, 0.6)):
        planner = CEMPlanner(toy, PlannerConfig(horizon=1, samples=200, iterations=8, seed=0,
                                                support_std=support))
        plan = planner.plan(start, start, toy.latent(far))
        target = start[0] + plan.first_action[0]
        assert target <= limit + 1e-6
        if support:
            assert planner.config.workspace_max[0] == pytest.approx(0.6)
        else:
            assert target > 0.62       # without the trust region it goes for the goal
