# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Latent-space MPC: CEM (official V-JEPA 2-AC semantics) and MPPI over a world model.

Improvements over the upstream planner, none of which changes what a cold CEM call computes:
all candidates are evaluated in one batch; the current frame (and any real history) is prepared
once per replanning step and the predictor runs incrementally (O(H) instead of O(H^2)); the
previous plan, shifted by one step, warm-starts the next call (receding horizon); sampling uses
a seeded torch.Generator so a planner built with the same seed repeats itself; every returned
action goes through the safety limits, and non-finite predictions never reach the robot.
Optional energy levers (``energy_weighting``, ``energy_horizon``; off by default) change what is
minimised, and then apply alike to candidates, the returned plan and the current frame.
"""

import dataclasses
import logging
import time
from typing import Dict, List, Optional

from jepa_ros.planning.action_space import action_space_for
from jepa_ros.planning.config import PlannerConfig
from jepa_ros.planning.energies import candidate_energy, planning_weights
from jepa_ros.planning.goal_sequence import GoalSequence
from jepa_ros.planning.goal_state import goal_state_energy
from jepa_ros.planning.world_model import run_rollout
import numpy as np
import torch

LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class Plan:
    """
    One replanning step's result, for the ROS layer and the evaluation.

    ``first_action`` is safe to send (limits applied; zeros when ``ok`` is False). ``energies``
    holds the best candidate energy per iteration, ``final_energy`` the energy of the returned
    (safe) sequence, ``current_energy`` the energy of the current frame to the active goal.
    """

    first_action: np.ndarray
    actions: np.ndarray
    ee_path: np.ndarray
    energies: List[float]
    final_energy: float
    ok: bool
    reason: str
    ms: float
    iterations: int
    elite_energies: List[float] = dataclasses.field(default_factory=list)
    current_energy: float = float('nan')
    goal_index: int = 0
    goal_reached: bool = False
    dropped: int = 0
    notes: List[str] = dataclasses.field(default_factory=list)
    profile: Dict[str, float] = dataclasses.field(default_factory=dict)
    method: str = 'cem'
    # ms since the call began at the end of each iteration (energy against wall time)
    iteration_ms: List[float] = dataclasses.field(default_factory=list)
    # [ms since the call began, lowest energy so far] after each gradient refinement step
    refine_trace: List[List[float]] = dataclasses.field(default_factory=list)
    # the state probe's reading of the goal [x, y, z] m (goal_state_weight > 0), else None
    goal_position: Optional[List[float]] = None
    # |probe(current frame) - measured end-effector position| [m]: the probe's error right now
    probe_error: Optional[float] = None


def support_limited(cfg: PlannerConfig, normalization) -> PlannerConfig:
    """
    Return ``cfg`` with its workspace box cut to the model's training support (``support_std``).

    The support is ``state_mean +- support_std * state_std`` of the positions (from the world
    model's normalization, physical units). Without a normalization, or with ``support_std`` 0,
    ``cfg`` comes back unchanged; a support that misses the workspace box raises ValueError.
    """
    if cfg.support_std <= 0 or not normalization:
        return cfg
    mean = np.asarray(torch.as_tensor(normalization['state_mean']).cpu(), np.float64)[:3]
    std = np.asarray(torch.as_tensor(normalization['state_std']).cpu(), np.float64)[:3]
    lo = np.maximum(np.asarray(cfg.workspace_min, np.float64), mean - cfg.support_std * std)
    hi = np.minimum(np.asarray(cfg.workspace_max, np.float64), mean + cfg.support_std * std)
    if np.any(lo > hi):
        raise ValueError(f"the model's training support {np.round(mean, 3).tolist()} +- "
                         f'{cfg.support_std} std lies outside the workspace box '
                         f'{list(cfg.workspace_min)}..{list(cfg.workspace_max)}')
    return dataclasses.replace(cfg, workspace_min=tuple(lo.tolist()),
                               workspace_max=tuple(hi.tolist()))


class _Planner:
    """Shared machinery of CEMPlanner and MPPIPlanner; subclasses define ``_update``."""

    method = 'base'

    def __init__(self, world_model, config: Optional[PlannerConfig] = None):
        self.world_model = world_model
        self.config = config if config is not None else PlannerConfig()
        self.config.validate()
        self.space = action_space_for(world_model, self.config)
        if self.space.kind == 'ee7':
            self.config = support_limited(self.config,
                                          getattr(world_model, 'normalization', None))
            self.space.cfg = self.config
        self.device = torch.device(getattr(world_model, 'device', 'cpu'))
        # the goal-position term needs the arm's states and a model that reads positions
        self.goal_state = self.config.goal_state_weight > 0 and self.space.kind == 'ee7' \
            and getattr(world_model, 'state_probe', None) is not None
        if self.config.goal_state_weight > 0 and not self.goal_state:
            LOG.warning('goal_state_weight %s ignored: %s', self.config.goal_state_weight,
                        'the model plans in an action box' if self.space.kind != 'ee7' else
                        'the model has no state probe (jepa-ros fit-probe --model M --data D)')
        self._goal_pos = None
        self._probe_error = None
        self.reset()

    # -- public API
    def reset(self):
        """Forget the warm start and reseed the sampler."""
        self._prev_mean = None
        self._prev_elites = None
        self._goal_cache = None
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(int(self.config.seed))

    def plan(self, image, state, goal, history=None) -> Plan:
        """
        Return the plan for one replanning step.

        ``image``: uint8 (H, W, 3) observation (or pre-encoded float tokens); ``state``: (7,)
        end-effector state for the arm's action space, (0,) or None for an action box;
        ``goal``: image, pre-encoded float tokens, or a GoalSequence;
        ``history``: optional real past frames for the predictor (see VJEPA2WorldModel.start).
        """
        cfg = self.config
        t0 = time.perf_counter()
        prof = getattr(self.world_model, 'profiler', None)
        if prof is not None:
            prof.reset()
            prof.sync = cfg.profile
        sd = self.space.state_dim
        s_np = np.asarray(() if state is None or sd == 0 else state,
                          dtype=np.float64).reshape(-1)
        if s_np.shape != (sd,):
            raise ValueError(f'state must have {sd} values '
                             f'{"[x, y, z, rx, ry, rz, gripper]" if sd == 7 else ""}, got '
                             f'shape {np.asarray(state).shape}')
        if not np.isfinite(s_np).all():
            return self._hold(s_np, t0, f'current state is not finite: {s_np.tolist()}')
        z = self._as_tokens(image)
        goal_index, seq = 0, None
        if isinstance(goal, GoalSequence):
            seq = goal
            z_goal = seq.tokens(self)
            w = self._weights(z, z_goal)
            cur = float(self._energy(z, z_goal, w)[0])
            if seq.update(cur, cfg.subgoal_threshold, cfg.subgoal_max_steps):
                self._prev_mean = None  # the previous plan aimed at the old sub-goal
                self._prev_elites = None
                z_goal = seq.tokens(self)
                w = self._weights(z, z_goal)
                cur = float(self._energy(z, z_goal, w)[0])
            seq.steps += 1
            goal_index = seq.index
        else:
            z_goal = self._goal_tokens(goal)
            w = self._weights(z, z_goal)
            cur = float(self._energy(z, z_goal, w)[0])
        s_t = torch.as_tensor(s_np, dtype=torch.float32, device=self.device)
        self._goal_pos = self._goal_position(z, z_goal, s_t)
        ctx = self.world_model.start(z, s_t, history)
        self._t0 = t0
        result = self._optimise(ctx, s_t, z_goal, w, t0)
        plan = self._finish(result, ctx, s_np, s_t, z_goal, t0, w)
        plan.current_energy = cur
        plan.goal_index = goal_index
        plan.goal_reached = bool(seq.reached) if seq is not None else False
        if self._goal_pos is not None:
            plan.goal_position = [float(v) for v in self._goal_pos]
        plan.probe_error = self._probe_error
        if prof is not None:
            plan.profile = dict(prof.ms)
        return plan

    # -- helpers
    def _weights(self, z, z_goal) -> Optional[torch.Tensor]:
        """Token weights for this replanning step (None: the official plain mean)."""
        cfg = self.config
        return planning_weights(cfg.energy_weighting, z, z_goal, cfg.energy_weight_floor)

    def _energy(self, pred, z_goal, weights) -> torch.Tensor:
        """Energy per candidate: final tokens [S, N, D] or every step [S, H, N, D]."""
        return candidate_energy(pred, z_goal, self.config.energy, weights)

    def _scored(self, pred, z_goal, weights, s_t, actions) -> torch.Tensor:
        """Energy of candidates ``actions`` [S, H, A]: ``_energy`` plus the goal-position term."""
        e = self._energy(pred, z_goal, weights)
        if self._goal_pos is None:
            return e
        cfg = self.config
        return e + goal_state_energy(s_t, actions, self._goal_pos, cfg.goal_state_weight,
                                     cfg.goal_state_deadzone)

    def _goal_position(self, z, z_goal, s_t) -> Optional[torch.Tensor]:
        """
        Return the goal position for this step (None: term off or not finite).

        'current' reference: the arm's position plus the probe's goal-minus-current reading,
        so an offset the scene's appearance puts on both readings cancels.
        """
        self._probe_error = None
        if not self.goal_state:
            return None
        wm = self.world_model
        pos = wm.probe_position(z_goal)
        here = wm.probe_position(z)
        if here is not None:
            self._probe_error = float((here - s_t[:3].to(here)).norm())
        if pos is not None and self.config.goal_state_reference == 'current':
            pos = pos - here + s_t[:3].to(pos)
        if pos is None or not bool(torch.isfinite(pos).all()):
            return None
        return pos.to(self.device, torch.float32)

    def _rollout(self, ctx, actions, states) -> torch.Tensor:
        """Predict what the energy needs: the last step, or every step for horizon 'all'."""
        return run_rollout(self.world_model, ctx, actions, states,
                           return_all=self.config.energy_horizon == 'all')

    def _goal_tokens(self, goal) -> torch.Tensor:
        """Encode a goal image once while the same image keeps coming (content-keyed)."""
        if not isinstance(goal, np.ndarray):
            return self._as_tokens(goal)
        key = (goal.shape, str(goal.dtype), hash(np.ascontiguousarray(goal).tobytes()))
        if self._goal_cache is None or self._goal_cache[0] != key:
            self._goal_cache = (key, self._as_tokens(goal))
        return self._goal_cache[1]

    def _as_tokens(self, x) -> torch.Tensor:
        """Return [1, N, D] tokens: float tensors are taken as tokens, anything else encoded."""
        if torch.is_tensor(x) and x.is_floating_point() and x.dim() in (2, 3):
            t = x if x.dim() == 3 else x.unsqueeze(0)
            return t.to(self.device, torch.float32)
        return self.world_model.encode(x)

    def _init_dist(self):
        cfg = self.config
        H = cfg.horizon
        std0 = self.space.init_std(self.device).expand(H, -1).clone()
        if cfg.warm_start and self._prev_mean is not None:
            prev = self._prev_mean
            mean = torch.cat([prev[1:], prev[-1:]], dim=0)
            return mean.clone(), std0 * cfg.warm_start_std
        return self.space.centre(self.device).expand(H, -1).clone(), std0

    def _sample(self, mean, std, n=None):
        cfg = self.config
        n = cfg.samples if n is None else n
        shape = (n,) + tuple(mean.shape)
        if cfg.noise_beta > 0 and mean.shape[0] > 1:
            noise = coloured_noise(shape, cfg.noise_beta, self.generator, self.device)
        else:
            noise = torch.randn(shape, generator=self.generator, device=self.device)
        return self._clip(noise * std + mean)

    def _clip(self, a):
        """Clamp candidate sequences [S, H, A] to the optimiser's action bounds (in place)."""
        return self.space.clip(a)

    def _momentum(self, mean, std, new_mean, new_std):
        mm, ms = self.space.momentum(self.device)
        mean = new_mean * (1.0 - mm) + mean * mm
        std = new_std * (1.0 - ms) + std * ms
        if self.space.kind == 'ee7' and not self.config.optimize_rotation:
            mean[:, 3:6] = 0.0
            std[:, 3:6] = 0.0
        return mean, std

    def _optimise(self, ctx, s_t, z_goal, weights=None, t0=None):
        cfg = self.config
        wm = self.world_model
        prof = getattr(wm, 'profiler', None)
        mean, std = self._init_dist()
        best, elite_e, dropped, iters, stamps = [], [], 0, 0, []
        t0 = time.perf_counter() if t0 is None else t0
        best_a, best_e, elites = None, float('inf'), None
        n_carry = int(round(cfg.elite_carry * cfg.topk))
        carry = self._carried_elites(n_carry)
        for it in range(cfg.iterations):
            iters = it + 1
            n = max(2 * cfg.topk, int(cfg.samples / cfg.samples_decay ** it))
            n = min(n, cfg.samples)
            with _section(prof, 'sampling', self.device):
                actions = self._sample(mean, std, n)
                if carry is not None:  # iCEM: last iteration's elites compete again
                    k = min(len(carry), n - cfg.topk)
                    actions[:k] = carry[:k]
                states = self.space.roll(s_t, actions)
            pred = self._rollout(ctx, actions, states)
            with _section(prof, 'energy', self.device):
                e = self._scored(pred, z_goal, weights, s_t, actions)
                finite = torch.isfinite(e)
                n_finite = int(finite.sum())
                dropped += n - n_finite
                if n_finite == 0:
                    why = (f'all {n} candidates had non-finite energy (NaN/Inf '
                           f'from the world model) at iteration {it}')
                    return {'failed': why, 'energies': best, 'elite': elite_e,
                            'dropped': dropped, 'iterations': iters}
                e = torch.where(finite, e, torch.full_like(e, float('inf')))
                i_best = int(torch.argmin(e))
                e_best = float(e[i_best])
                best.append(e_best)
                if e_best < best_e:
                    best_e, best_a = e_best, actions[i_best].clone()
                mean, std, e_elite = self._update(mean, std, actions, e, finite, n_finite)
                elite_e.append(e_elite)
                k = min(cfg.topk, n_finite)
                elites = actions[torch.topk(e, k, largest=False).indices].clone()
                carry = elites[:n_carry] if n_carry else None
            stamps.append(1e3 * (time.perf_counter() - t0))
            if cfg.stop_energy is not None and e_best <= cfg.stop_energy:
                break
            if _stalled(best, cfg.stop_patience, cfg.stop_rtol):
                break
        return {'mean': mean, 'energies': best, 'elite': elite_e, 'dropped': dropped,
                'iterations': iters, 'best_action': best_a, 'elites': elites,
                'iteration_ms': stamps}

    def _carried_elites(self, n_carry):
        """Return the previous step's elites shifted by one step (warm start), or None."""
        cfg = self.config
        prev = self._prev_elites
        if not (n_carry and cfg.warm_start and prev is not None):
            return None
        shifted = torch.cat([prev[:, 1:], prev[:, -1:]], dim=1)[:n_carry]
        return self._clip(shifted.clone())

    def _refine(self, ctx, s_t, z_goal, weights, starts):
        """
        Return ``starts`` [n, H, A] after ``grad_steps`` projected Adam steps on their energy.

        The energy is differentiated through the world model's float32 path
        (``differentiable_rollout``); each row keeps the best sequence it visited (energies of
        the iterates, so the result is never worse than its start) and that energy.
        """
        cfg = self.config
        wm = self.world_model
        x = starts.detach().clone()
        lr = cfg.grad_lr * self.space.scale(self.device)
        m1 = torch.zeros_like(x)
        m2 = torch.zeros_like(x)
        best_x, best_e = x.clone(), torch.full((x.shape[0],), float('inf'), device=self.device)
        t0 = getattr(self, '_t0', None) or time.perf_counter()
        self._refine_trace = trace = []
        for i in range(cfg.grad_steps + 1):
            x.requires_grad_(True)
            with torch.enable_grad():
                states = self.space.roll(s_t, x)
                pred = wm.differentiable_rollout(ctx, x, states,
                                                 return_all=cfg.energy_horizon == 'all')
                e = self._scored(pred, z_goal, weights, s_t, x)
                better = torch.isfinite(e) & (e < best_e)
                best_e = torch.where(better, e.detach(), best_e)
                best_x[better] = x.detach()[better]
                trace.append([1e3 * (time.perf_counter() - t0), float(best_e.min())])
                if i == cfg.grad_steps or not bool(torch.isfinite(e).all()):
                    break
                (g,) = torch.autograd.grad(e.sum(), x)
            with torch.no_grad():
                g = torch.nan_to_num(g)
                m1.mul_(0.9).add_(g, alpha=0.1)
                m2.mul_(0.999).addcmul_(g, g, value=0.001)
                m1h = m1 / (1 - 0.9 ** (i + 1))
                m2h = m2 / (1 - 0.999 ** (i + 1))
                # geometric step-size decay to grad_decay x grad_lr at the last step: the L1
                # energy has a kink at its minimum, so steps must shrink to settle there
                decay = cfg.grad_decay ** (i / max(1, cfg.grad_steps - 1))
                x = self._clip(x.detach() - decay * lr * m1h / (m2h.sqrt() + 1e-12))
        return best_x, best_e

    def _finish(self, r, ctx, s_np, s_t, z_goal, t0, weights=None) -> Plan:
        cfg = self.config
        if 'failed' in r:
            plan = self._hold(s_np, t0, r['failed'])
            plan.energies, plan.elite_energies = r['energies'], r['elite']
            plan.dropped, plan.iterations = r['dropped'], r['iterations']
            return plan
        mean = r['mean']
        candidates = [('mean', mean)]
        if r['best_action'] is not None:
            candidates.append(('best sample', r['best_action']))
        if cfg.grad_steps > 0 or cfg.final_choice == 'best':
            candidates = self._ranked(candidates, r, ctx, s_t, z_goal, weights)
        self._prev_elites = r.get('elites')
        refine_trace, self._refine_trace = getattr(self, '_refine_trace', []), []
        reason, notes = 'ok', []
        for rank, (label, seq) in enumerate(candidates):
            a = seq.detach().cpu().double().numpy().copy()
            try:
                safe, notes = self.space.finalize(a, s_np)
            except ValueError as exc:
                reason = f'{label}: {exc}'
                continue
            fe = self._evaluate(ctx, s_t, safe, z_goal, weights)
            if np.isfinite(fe):
                if rank > 0 and cfg.final_choice == 'mean':
                    first = candidates[0][0]
                    reason = (f'ok (the CEM {first} had non-finite energy; returned the '
                              f'{label})')
                self._prev_mean = seq.detach().clone()
                return Plan(first_action=safe[0].copy(), actions=safe,
                            ee_path=self.space.path(safe, s_np), energies=r['energies'],
                            final_energy=fe, ok=True, reason=reason,
                            ms=1e3 * (time.perf_counter() - t0), iterations=r['iterations'],
                            elite_energies=r['elite'], dropped=r['dropped'], notes=notes,
                            method=self.method, iteration_ms=r['iteration_ms'],
                            refine_trace=refine_trace)
            reason = f'{label}: non-finite energy for the planned sequence'
        plan = self._hold(s_np, t0, f'no finite plan ({reason})')
        plan.energies, plan.elite_energies = r['energies'], r['elite']
        plan.dropped, plan.iterations = r['dropped'], r['iterations']
        return plan

    def _ranked(self, candidates, r, ctx, s_t, z_goal, weights):
        """
        Return the candidate sequences, refined and ordered for ``final_choice``.

        With ``grad_steps`` the mean and the best sample are refined first (``grad_method``).
        With 'best' the mean, best sample, last elites and refined sequences are scored by the
        world model's float32 path and returned lowest energy first; with 'mean' the refined
        sequence of lowest energy comes first, the unrefined mean and best sample after it.
        """
        cfg = self.config
        seqs = torch.stack([seq for _, seq in candidates])
        labels = [label for label, _ in candidates]
        if cfg.grad_steps > 0:
            refine = self._refine_gn if cfg.grad_method == 'gauss_newton' else self._refine
            refined, e_ref = refine(ctx, s_t, z_goal, weights, seqs)
            if cfg.final_choice == 'mean':  # the refined sequence, then the unrefined ones
                e_ref = torch.where(torch.isfinite(e_ref), e_ref,
                                    torch.full_like(e_ref, float('inf')))
                i = int(torch.argmin(e_ref))
                return [(f'{labels[i]} (refined)', refined[i])] + candidates
            seqs = torch.cat([refined, seqs])
            labels = [f'{label} (refined)' for label in labels] + labels
        if cfg.final_choice != 'best':
            return candidates
        if r.get('elites') is not None:
            seqs = torch.cat([seqs, r['elites']])
            labels += [f'elite {i}' for i in range(len(r['elites']))]
        e = self._precise_energy(ctx, s_t, self._clip(seqs.clone()), z_goal, weights)
        e = torch.where(torch.isfinite(e), e, torch.full_like(e, float('inf')))
        order = torch.argsort(e, stable=True).tolist()
        return [(labels[i], seqs[i]) for i in order]

    @torch.no_grad()
    def _precise_energy(self, ctx, s_t, actions, z_goal, weights=None) -> torch.Tensor:
        """Energies of ``actions`` [n, H, A] with the world model's float32 path, if any."""
        return self._scored(self._precise_tokens(ctx, s_t, actions), z_goal, weights, s_t,
                            actions)

    @torch.no_grad()
    def _precise_tokens(self, ctx, s_t, actions) -> torch.Tensor:
        """Predicted tokens the energy needs, from the world model's float32 path, if any."""
        states = self.space.roll(s_t, actions)
        wm = self.world_model
        all_steps = self.config.energy_horizon == 'all'
        if hasattr(wm, 'precise_rollout'):
            return wm.precise_rollout(ctx, actions, states, return_all=all_steps)
        return self._rollout(ctx, actions, states)

    @torch.no_grad()
    def _refine_gn(self, ctx, s_t, z_goal, weights, starts):
        """
        Refine the lowest-energy row of ``starts`` by damped Gauss-Newton (Levenberg-Marquardt).

        The residual is the predicted tokens minus the goal (weighted by ``energy_weighting``),
        its Jacobian over the optimised action dims is taken by forward differences, all in
        one batch per step (the base sequence and one perturbation per dim, float32 path, no
        autograd). Every step is scored with the planning energy, and the row keeps the best
        sequence visited, so it is never worse than its start; the other rows come back as
        they were. Returns (sequences, energies) like ``_refine``.
        """
        cfg = self.config
        H = starts.shape[1]
        dims = self.space.free_dims()
        h = 1e-3 * self.space.scale(self.device)[dims]
        upper = self.space.upper()
        free = [(t, d) for t in range(H) for d in dims]
        steps = torch.stack([h[j % len(dims)] for j in range(len(free))])
        e0 = self._precise_energy(ctx, s_t, starts, z_goal, weights)
        e0 = torch.where(torch.isfinite(e0), e0, torch.full_like(e0, float('inf')))
        row = int(torch.argmin(e0))
        best_x, best_e = starts[row].clone(), float(e0[row])
        t0 = getattr(self, '_t0', None) or time.perf_counter()
        self._refine_trace = trace = [[1e3 * (time.perf_counter() - t0), best_e]]
        w = None
        if weights is not None:
            w = (weights.reshape(-1).float() / weights.float().mean()).sqrt()
        damping, x = 1e-2, best_x.clone()
        for _ in range(cfg.grad_steps):
            batch = x[None].repeat(len(free) + 1, 1, 1)
            sign = torch.ones(len(free), device=self.device)
            for j, (t, d) in enumerate(free):
                if float(x[t, d]) + float(steps[j]) > upper[d]:  # stay inside the bounds
                    sign[j] = -1.0
                batch[j + 1, t, d] += sign[j] * steps[j]
            tokens = self._precise_tokens(ctx, s_t, batch)
            e = self._scored(tokens, z_goal, weights, s_t, batch)
            if not bool(torch.isfinite(e).all()):
                break
            if float(e[0]) < best_e:  # the step taken last time: accept, trust more
                best_x, best_e = x.clone(), float(e[0])
                damping = max(damping / 3.0, 1e-7)
            elif not torch.equal(x, best_x):  # rejected: back to the best, trust less
                damping *= 10.0
                x = best_x.clone()
                trace.append([1e3 * (time.perf_counter() - t0), best_e])
                continue
            trace.append([1e3 * (time.perf_counter() - t0), best_e])
            r = (tokens - z_goal.to(tokens.dtype))  # [P + 1, (H,) N, D]
            if w is not None:
                shape = [1] * r.dim()
                shape[-2] = -1
                r = r * w.view(shape)
            r = r.flatten(1)
            jac = (r[1:] - r[:1]) / (sign * steps)[:, None]  # [P, M]
            jtj = jac @ jac.T
            grad = jac @ r[0]
            # Marquardt scaling plus a uniform term: directions the energy cannot see (e.g. two
            # steps whose sum is all that matters) get damped steps, not arbitrary ones.
            diag = torch.diag(jtj)
            lhs = jtj + damping * (torch.diag(diag) + (diag.mean() + 1e-12) * torch.eye(
                len(free), device=self.device))
            delta = torch.linalg.solve(lhs.double(), -grad.double()).float()
            x = best_x.clone()
            for j, (t, d) in enumerate(free):
                x[t, d] += delta[j]
            x = self._clip(x[None])[0]
        out, energies = starts.clone(), e0.clone()
        out[row], energies[row] = best_x, best_e
        return out, energies

    @torch.no_grad()
    def _evaluate(self, ctx, s_t, actions_np, z_goal, weights=None) -> float:
        a = torch.as_tensor(actions_np, dtype=torch.float32, device=self.device)[None]
        # the returned plan's float32 energy: with final_choice 'best' (float32 decides), and
        # for any reduced-precision model (one sequence through its float32 path costs little)
        if self.config.final_choice == 'best' or \
                getattr(self.world_model, 'dtype', 'fp32') != 'fp32':
            return float(self._precise_energy(ctx, s_t, a, z_goal, weights)[0])
        states = self.space.roll(s_t, a)
        pred = self._rollout(ctx, a, states)
        return float(self._scored(pred, z_goal, weights, s_t, a)[0])

    def _hold(self, s_np, t0, reason) -> Plan:
        self._prev_mean = None
        self._prev_elites = None
        acts = self.space.hold(self.config.horizon)
        return Plan(first_action=acts[0].copy(), actions=acts,
                    ee_path=self.space.path(acts, s_np), energies=[],
                    final_energy=float('nan'), ok=False, reason='hold: ' + reason,
                    ms=1e3 * (time.perf_counter() - t0), iterations=0, method=self.method)

    def _update(self, mean, std, actions, e, finite, n_finite):
        raise NotImplementedError


class CEMPlanner(_Planner):
    """Cross-entropy method: refit mean/std to the top-k candidates, with momentum (upstream)."""

    method = 'cem'

    def _update(self, mean, std, actions, e, finite, n_finite):
        k = min(self.config.topk, n_finite)
        idx = torch.topk(e, k, largest=False).indices
        elites = actions[idx]
        if k >= 2:
            new_std = elites.std(dim=0)
        else:
            new_std = std
        mean, std = self._momentum(mean, std, elites.mean(dim=0), new_std)
        return mean, std, float(e[idx].mean())


class MPPIPlanner(_Planner):
    """
    Model-predictive path integral: softmax-weighted average of all finite candidates.

    Weights are ``exp(-(E - E_min) / (T * std(E)))`` with T = ``mppi_temperature``, so the
    temperature is relative to the spread of the energies and needs no per-model tuning.
    """

    method = 'mppi'

    def _update(self, mean, std, actions, e, finite, n_finite):
        ef = e[finite]
        af = actions[finite]
        scale = ef.std() if n_finite >= 2 else ef.new_tensor(1.0)
        scale = torch.clamp(scale, min=1e-12) * self.config.mppi_temperature
        w = torch.softmax(-(ef - ef.min()) / scale, dim=0)
        new_mean = (w[:, None, None] * af).sum(dim=0)
        new_std = (w[:, None, None] * (af - new_mean).pow(2)).sum(dim=0).sqrt()
        new_std = torch.maximum(new_std, std * 0.05)  # keep exploring: no collapse to zero
        mean, std = self._momentum(mean, std, new_mean, new_std)
        return mean, std, float((w * ef).sum())


def make_planner(world_model, config: Optional[PlannerConfig] = None):
    """Return a CEMPlanner or MPPIPlanner according to ``config.method``."""
    config = config if config is not None else PlannerConfig()
    cls = {'cem': CEMPlanner, 'mppi': MPPIPlanner}[config.method]
    return cls(world_model, config)


def _stalled(best, patience, rtol) -> bool:
    """
    Return True when the best energy so far improved by under ``rtol`` in ``patience`` steps.

    ``best`` holds each iteration's best energy; patience 0 never stalls.
    """
    if patience <= 0 or len(best) <= patience:
        return False
    now = min(best)
    before = min(best[:-patience])
    return before - now <= rtol * abs(before)


def coloured_noise(shape, beta, generator=None, device='cpu') -> torch.Tensor:
    """
    Return Gaussian noise ``shape`` [S, H, D] coloured along H with power spectrum 1/f**beta.

    Each time step has unit variance (exactly, from the linear map of the inverse FFT), so the
    CEM std keeps its meaning; beta 0 is white noise, larger beta makes consecutive steps of a
    sequence more alike (iCEM, Pinneri et al. 2020).
    """
    s, h, d = shape
    f = torch.fft.rfftfreq(h, device=device)
    f[0] = f[1] if h > 1 else 1.0
    scale = f.pow(-beta / 2.0)
    nf = f.shape[0]
    re = torch.randn((s, d, nf), generator=generator, device=device)
    im = torch.randn((s, d, nf), generator=generator, device=device)
    x = torch.fft.irfft(torch.complex(re, im) * scale, n=h)  # [S, D, H]
    # Variance per time step of that linear map (real and imaginary inputs, unit variance).
    basis = torch.eye(nf, device=device) * scale
    var = (torch.fft.irfft(basis.to(torch.complex64), n=h).square()
           + torch.fft.irfft(1j * basis.to(torch.complex64), n=h).square()).sum(0)
    return (x / var.clamp_min(1e-12).sqrt()).transpose(1, 2).contiguous()


class _NullSection:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _section(prof, name, device):
    return prof.section(name, device) if prof is not None else _NullSection()
