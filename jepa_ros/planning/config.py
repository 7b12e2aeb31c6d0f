# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Planner configuration: one flat dataclass shared by the CLI, ROS parameters and YAML.

Defaults follow the official V-JEPA 2-AC planner (``notebooks/utils/world_model_wrapper.py``
and ``mpc_utils.cem`` in facebookresearch/vjepa2): 400 samples, top-10 elites, 10 iterations,
horizon 2, momentum 0.15 on mean and std, translation clipped to +-0.05 m per axis, gripper
action clipped to +-0.75, rotation not optimised, and small gripper commands (|g| < 0.25) rounded
to zero.
"""

import dataclasses
from typing import Optional, Tuple

from jepa_ros.utils.config import ConfigError, require_finite

ENERGIES = ('l1', 'l2', 'cosine')
ENERGY_WEIGHTINGS = ('none', 'changed')
ENERGY_HORIZONS = ('last', 'all')
AXIS_NAMES = ('dx', 'dy', 'dz', 'drx', 'dry', 'drz', 'dgripper')
METHODS = ('cem', 'mppi')
FINAL_CHOICES = ('mean', 'best')
GRAD_METHODS = ('adam', 'gauss_newton')
GOAL_STATE_REFERENCES = ('current', 'absolute')


@dataclasses.dataclass
class PlannerConfig:
    """
    Settings of the latent-space MPC planner (CEM or MPPI) and its safety limits.

    For the embedded arm, actions are 7-D deltas in physical units, ``[dx, dy, dz, drx, dry,
    drz, dgripper]`` (metres, radians, gripper closedness 0..1), as in V-JEPA 2-AC, bounded by
    the fields below. A model trained on another environment carries that env's action box
    (``jepa_ros.planning.action_space.BoxSpace``): sampling then starts at the box centre with
    ``box_std`` x the half-width, and the box is the only action limit.
    """

    # -- optimiser (official semantics by default)
    method: str = 'cem'
    horizon: int = 2
    samples: int = 400
    topk: int = 10
    iterations: int = 10
    momentum_mean: float = 0.15
    momentum_std: float = 0.15
    momentum_mean_gripper: float = 0.15
    momentum_std_gripper: float = 0.15
    maxnorm: float = 0.05
    gripper_low: float = -0.75
    gripper_high: float = 0.75
    init_std_gripper: float = 1.0
    optimize_rotation: bool = False
    rotation_maxnorm: float = 0.1
    gripper_deadband: float = 0.25
    energy: str = 'l1'
    seed: int = 0
    # -- improvements over upstream
    warm_start: bool = True
    warm_start_std: float = 0.25
    # action-box models (other environments): first-iteration std as a fraction of half-width
    box_std: float = 0.5
    stop_energy: Optional[float] = None
    mppi_temperature: float = 0.1
    # -- time to quality (all off by default: the official optimiser). See README "Planning
    # speed" for a measured fast configuration.
    # iCEM: this fraction of each iteration's elites joins the next iteration's samples (and,
    # shifted by one step, the next replanning step's first iteration with warm_start).
    elite_carry: float = 0.0
    # iCEM: temporally correlated noise with power spectrum 1/f**noise_beta over the horizon
    # (0: white noise, the official sampler; has no effect at horizon 1).
    noise_beta: float = 0.0
    # iCEM: iteration i draws max(2 * topk, samples / samples_decay**i) candidates (1: fixed).
    samples_decay: float = 1.0
    # Early stop: end the CEM/MPPI iterations when the best energy so far improved by less than
    # stop_rtol (relative) over the last stop_patience iterations (0: run every iteration).
    stop_patience: int = 0
    stop_rtol: float = 0.01
    # Refinement after sampling (grad_method): grad_steps steps on the action sequence through
    # the predictor (float32). 'adam' starts from the CEM mean and best sample; its step size
    # is grad_lr metres for translation (scaled by init_std_gripper / maxnorm for the gripper),
    # iterates projected onto the action bounds. 0: off.
    grad_steps: int = 0
    grad_lr: float = 0.004
    grad_decay: float = 0.1  # step size at the last step / at the first (geometric)
    # 'adam': projected Adam on the energy's gradient (autograd, grad_lr, grad_decay).
    # 'gauss_newton': damped Gauss-Newton on the token residual, Jacobian by forward
    # differences in one batch per step (no autograd; grad_steps steps); converges in a few
    # steps where the goal is reachable. Both keep the best sequence by the planning energy.
    grad_method: str = 'adam'
    # 'mean': return the CEM mean (official). 'best': return the lowest-energy sequence among
    # the mean, the best sample, the last elites and the refined sequences, each scored with
    # the world model's float32 path (the bf16 search proposes, float32 decides).
    final_choice: str = 'mean'
    # -- energy levers (defaults: the official energy, last step, plain mean over tokens)
    # 'changed': weight each token by how much the goal differs from the current frame there
    # (mean 1, mixed with a uniform floor), so noise on static background counts less.
    energy_weighting: str = 'none'
    energy_weight_floor: float = 0.2
    # 'all': a candidate's energy is the mean over its H imagined steps (rewards arriving early).
    energy_horizon: str = 'last'
    # -- goal position (compact models with a state probe, jepa-ros fit-probe): > 0 adds
    # goal_state_weight x max(0, |p_H - p_goal| - goal_state_deadzone) to each candidate's
    # energy, p_H its end-effector position after the last action, p_goal the probe's reading
    # of the goal image (energy per metre). Far from the goal the latent energy has ridges;
    # inside the dead zone [m] it alone decides. 0: off (the official energy).
    goal_state_weight: float = 0.0
    goal_state_deadzone: float = 0.05
    # 'current': p_goal = arm position + probe(goal) - probe(current frame), which cancels a
    # reading offset the scene puts on both; 'absolute': probe(goal) alone
    goal_state_reference: str = 'current'
    # -- safety on every output
    max_translation: float = 0.05
    max_rotation: float = 0.2
    workspace_min: Tuple[float, ...] = (0.2, -0.6, 0.0)
    workspace_max: Tuple[float, ...] = (0.9, 0.6, 0.9)
    # > 0: also keep targets within mean +- k std of the end-effector positions the model was
    # trained on (its normalization), a trust region: outside it the model has seen nothing and
    # small models were measured to drift to the workspace corners. 0: off (official behaviour).
    support_std: float = 0.0
    gripper_action_min: float = -1.0
    gripper_action_max: float = 1.0
    # -- sub-goals (pick-and-place: grasp, carry, place)
    subgoal_threshold: Optional[float] = None
    subgoal_max_steps: int = 0
    # -- diagnostics
    profile: bool = False

    def validate(self):
        """Raise ConfigError naming the first bad field."""
        if self.method not in METHODS:
            raise ConfigError(f'PlannerConfig.method must be one of {METHODS}, '
                              f'got {self.method!r}')
        if self.grad_method not in GRAD_METHODS:
            raise ConfigError(f'PlannerConfig.grad_method must be one of {GRAD_METHODS}, '
                              f'got {self.grad_method!r}')
        if self.final_choice not in FINAL_CHOICES:
            raise ConfigError(f'PlannerConfig.final_choice must be one of {FINAL_CHOICES}, '
                              f'got {self.final_choice!r}')
        for name in ('elite_carry', 'noise_beta', 'samples_decay', 'stop_rtol', 'grad_lr',
                     'grad_decay'):
            require_finite(f'PlannerConfig.{name}', getattr(self, name))
        if not 0.0 <= self.elite_carry <= 1.0:
            raise ConfigError(f'PlannerConfig.elite_carry must be in [0, 1] (a fraction of '
                              f'topk), got {self.elite_carry}')
        if not 0.0 <= self.noise_beta <= 4.0:
            raise ConfigError(f'PlannerConfig.noise_beta must be in [0, 4] (0: white noise), '
                              f'got {self.noise_beta}')
        if self.samples_decay < 1.0:
            raise ConfigError(f'PlannerConfig.samples_decay must be >= 1 (1: fixed sample '
                              f'count), got {self.samples_decay}')
        if self.stop_patience < 0 or self.stop_rtol < 0:
            raise ConfigError('PlannerConfig.stop_patience and stop_rtol must be >= 0 '
                              '(stop_patience 0: no early stop)')
        if not 0.0 < self.grad_decay <= 1.0:
            raise ConfigError(f'PlannerConfig.grad_decay must be in (0, 1] (1: constant step '
                              f'size), got {self.grad_decay}')
        if self.grad_steps < 0 or self.grad_lr <= 0:
            raise ConfigError(f'PlannerConfig.grad_steps must be >= 0 and grad_lr > 0, got '
                              f'{self.grad_steps} and {self.grad_lr}')
        if self.energy not in ENERGIES:
            raise ConfigError(f'PlannerConfig.energy must be one of {ENERGIES}, '
                              f'got {self.energy!r}')
        if self.energy_weighting not in ENERGY_WEIGHTINGS:
            raise ConfigError(f'PlannerConfig.energy_weighting must be one of '
                              f'{ENERGY_WEIGHTINGS}, got {self.energy_weighting!r}')
        require_finite('PlannerConfig.energy_weight_floor', self.energy_weight_floor)
        if not 0.0 <= self.energy_weight_floor <= 1.0:
            raise ConfigError(f'PlannerConfig.energy_weight_floor must be in [0, 1] (1: plain '
                              f'mean over tokens), got {self.energy_weight_floor}')
        if self.energy_horizon not in ENERGY_HORIZONS:
            raise ConfigError(f'PlannerConfig.energy_horizon must be one of {ENERGY_HORIZONS}, '
                              f'got {self.energy_horizon!r}')
        require_finite('PlannerConfig.goal_state_weight', self.goal_state_weight)
        require_finite('PlannerConfig.goal_state_deadzone', self.goal_state_deadzone)
        if self.goal_state_weight < 0 or self.goal_state_deadzone < 0:
            raise ConfigError(f'PlannerConfig.goal_state_weight and goal_state_deadzone must be '
                              f'>= 0 (weight 0: off), got {self.goal_state_weight} and '
                              f'{self.goal_state_deadzone}')
        if self.goal_state_reference not in GOAL_STATE_REFERENCES:
            raise ConfigError(f'PlannerConfig.goal_state_reference must be one of '
                              f'{GOAL_STATE_REFERENCES}, got {self.goal_state_reference!r}')
        for name in ('horizon', 'samples', 'iterations'):
            if getattr(self, name) < 1:
                raise ConfigError(f'PlannerConfig.{name} must be >= 1, got {getattr(self, name)}')
        if not 2 <= self.topk <= self.samples:
            raise ConfigError(f'PlannerConfig.topk must be in [2, samples={self.samples}] (the '
                              f'elite std needs two samples), got {self.topk}')
        for name in ('momentum_mean', 'momentum_std', 'momentum_mean_gripper',
                     'momentum_std_gripper'):
            v = getattr(self, name)
            require_finite(f'PlannerConfig.{name}', v)
            if not 0.0 <= v < 1.0:
                raise ConfigError(f'PlannerConfig.{name} must be in [0, 1), got {v}')
        for name in ('maxnorm', 'rotation_maxnorm', 'init_std_gripper', 'max_translation',
                     'max_rotation', 'mppi_temperature', 'warm_start_std', 'box_std'):
            v = getattr(self, name)
            require_finite(f'PlannerConfig.{name}', v)
            if v <= 0:
                raise ConfigError(f'PlannerConfig.{name} must be > 0, got {v}')
        require_finite('PlannerConfig.gripper_deadband', self.gripper_deadband)
        if self.gripper_low >= self.gripper_high:
            raise ConfigError('PlannerConfig.gripper_low must be below gripper_high')
        if self.gripper_action_min > self.gripper_action_max:
            raise ConfigError('PlannerConfig.gripper_action_min must not exceed '
                              'gripper_action_max')
        require_finite('PlannerConfig.support_std', self.support_std)
        if self.support_std < 0:
            raise ConfigError(f'PlannerConfig.support_std must be >= 0 (0: off), got '
                              f'{self.support_std}')
        if len(self.workspace_min) != 3 or len(self.workspace_max) != 3:
            raise ConfigError('PlannerConfig.workspace_min/workspace_max need 3 values (x, y, z)')
        require_finite('PlannerConfig.workspace_min', *self.workspace_min)
        require_finite('PlannerConfig.workspace_max', *self.workspace_max)
        if any(lo > hi for lo, hi in zip(self.workspace_min, self.workspace_max)):
            raise ConfigError(f'PlannerConfig.workspace_min {self.workspace_min} must be <= '
                              f'workspace_max {self.workspace_max} on every axis')
        if self.subgoal_max_steps < 0:
            raise ConfigError('PlannerConfig.subgoal_max_steps must be >= 0 (0: no step budget)')
        if self.stop_energy is not None:
            require_finite('PlannerConfig.stop_energy', self.stop_energy)
        if self.subgoal_threshold is not None:
            require_finite('PlannerConfig.subgoal_threshold', self.subgoal_threshold)

    def __post_init__(self):
        self.workspace_min = tuple(float(v) for v in self.workspace_min)
        self.workspace_max = tuple(float(v) for v in self.workspace_max)
        self.validate()
