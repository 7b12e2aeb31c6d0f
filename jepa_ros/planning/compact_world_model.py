# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
The planner's world-model interface over a compact (end-to-end JEPA) model.

A frame is V*K latent vectors (``CompactConfig.tokens_per_frame``), so a rollout of hundreds of
candidates is a few small matrix products per imagined step: this is what makes horizon 3 and
large CEM budgets affordable on one CPU thread. Latents are compared as the model produces
them (no layer norm: SIGReg already gives every dimension unit scale).
"""

from typing import Optional

from jepa_ros.planning.profiler import Profiler
from jepa_ros.planning.world_model import images_to_tensor, views_to_batch, WorldModel
import torch


PRECISIONS = ('fp32', 'bf16', 'int8')


def int8_predictor(predictor):
    """
    Return a copy of ``predictor`` whose Linear layers run dynamic int8 (CPU) matrix products.

    The rollout is a few small matrix products per imagined step, so it is bound by the CPU's
    float32 multiply rate; int8 weights with per-call activation scales cut a plan's time by
    about a third on the 2-core machine (benchmarks/bench_compact_planning.py) while keeping the
    ranking of candidates (the plan quality beside it is in the same benchmark and in the
    README's closed-loop rows).
    """
    import warnings
    from torch.ao.quantization import quantize_dynamic
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')   # torch.ao's eager API announces its move to torchao
        return quantize_dynamic(predictor, {torch.nn.Linear}, dtype=torch.qint8)


class CompactWorldModel(WorldModel):
    """
    ``encode`` / ``start`` / ``rollout`` for a :class:`CompactWorldModelNet`.

    ``normalization`` (``action_mean``, ``action_std``, ``state_mean``, ``state_std``: the
    model's action and state sizes, 7 each for the arm) maps the planner's physical actions
    and states to the training scaling.
    ``history`` in ``start`` (past latents, actions, states) is optional: the predictor was
    trained causally, so it also predicts from the current frame alone.
    """

    def __init__(self, net, device='cpu', dtype: str = 'fp32',
                 normalization: Optional[dict] = None, cameras=(),
                 action_space: Optional[dict] = None, action_repeat: int = 1,
                 state_probe=None):
        if dtype not in PRECISIONS:
            raise ValueError(f"a compact world model runs in {', '.join(map(repr, PRECISIONS))}"
                             f', got {dtype!r}')
        self.device = torch.device(device)
        if dtype == 'int8' and self.device.type != 'cpu':
            raise ValueError(f"'int8' is a CPU precision (dynamic int8 matrix products); on "
                             f"{self.device.type} use 'fp32' or 'bf16'")
        self.dtype = dtype
        self.net = net.to(self.device).eval().requires_grad_(False)
        # int8: a copy of the predictor whose Linear layers multiply in int8 (weights quantised
        # once, activations per call); the encoder and the float32 paths keep the original
        self._fast_predictor = int8_predictor(self.net.predictor) if dtype == 'int8' else None
        self.config = net.config
        self.image_size = self.config.img_size
        self.cameras = tuple(cameras)
        # the env's action box for models trained on another environment (None: the arm's 7-D)
        self.action_space = action_space
        # env steps per model step (train-wm --frame-stride): each planned action is run as
        # this many equal env actions, its sum
        self.action_repeat = max(1, int(action_repeat))
        if action_space is not None and len(action_space.get('low', ())) != \
                self.config.action_dim:
            raise ValueError(f'the action box has {len(action_space.get("low", ()))} dims but '
                             f'the model takes {self.config.action_dim}')
        self.profiler = Profiler()
        # latents -> end-effector position (models.state_probe), for goal_state_weight
        self.state_probe = None if state_probe is None else state_probe.to(self.device).eval()
        self.normalization = None
        if normalization is not None:
            self.normalization = {}
            for key, size in (('action_mean', self.config.action_dim),
                              ('action_std', self.config.action_dim),
                              ('state_mean', self.config.state_dim),
                              ('state_std', self.config.state_dim)):
                if key not in normalization:
                    raise ValueError(f'normalization is missing {key!r}')
                v = torch.as_tensor(normalization[key], dtype=torch.float32,
                                    device=self.device).reshape(-1)
                if v.numel() != size or not bool(torch.isfinite(v).all()):
                    raise ValueError(f'normalization[{key!r}] must be {size} finite floats')
                if key.endswith('_std') and bool((v <= 0).any()):
                    raise ValueError(f'normalization[{key!r}] must be positive')
                self.normalization[key] = v

    @classmethod
    def from_checkpoint(cls, name_or_dir, device='cpu', dtype: str = 'fp32'):
        """Load a compact model folder (config.json + model.safetensors)."""
        from jepa_ros.models.checkpoint import resolve_model_dir
        from jepa_ros.models.compact_checkpoint import load_compact
        from jepa_ros.models.state_probe import load_probe
        net, extra = load_compact(name_or_dir, device=device)
        c = net.config
        probe = load_probe(resolve_model_dir(name_or_dir), c.tokens_per_frame * c.latent_dim)
        return cls(net, device=device, dtype=dtype, normalization=extra.get('normalization'),
                   cameras=extra.get('cameras') or (), action_space=extra.get('action_space'),
                   action_repeat=int(extra.get('action_repeat') or 1),
                   state_probe=None if probe is None else probe[0])

    @property
    def num_views(self) -> int:
        """Camera views per observation."""
        return int(self.config.num_views)

    @torch.no_grad()
    def probe_position(self, z) -> Optional[torch.Tensor]:
        """Return the end-effector position [3] (m) the probe reads from latents [1, N, L]."""
        if self.state_probe is None:
            return None
        return self.state_probe(z.to(self.device, torch.float32).reshape(1, -1))[0]

    def _norm(self, x, kind):
        x = x.to(self.device, torch.float32)
        if self.normalization is None:
            return x
        return (x - self.normalization[f'{kind}_mean']) / self.normalization[f'{kind}_std']

    def _precision(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16,
                              enabled=self.dtype == 'bf16')

    @torch.no_grad()
    def encode(self, images) -> torch.Tensor:
        """Return latents [B, V*K, L] (float32) for uint8 images (views as in VJEPA2WorldModel)."""
        v = self.num_views
        if v > 1:
            images = views_to_batch(images, v)
        with self.profiler.section('encode', self.device):
            x = images_to_tensor(images, self.device, self.image_size)
            x = x.view(-1, v, *x.shape[1:])
            with self._precision():
                return self.net.encode(x).float()

    @torch.no_grad()
    def start(self, z, state, history=None):
        """Return the rollout context: current latents and optional real past frames."""
        if z.dim() == 2:
            z = z.unsqueeze(0)
        ctx = {'z': z.to(self.device, torch.float32), 'history': None}
        if history is not None:
            hz, ha, hs = (torch.as_tensor(h, dtype=torch.float32, device=self.device)
                          for h in history)
            if hz.dim() == 3:
                hz, ha, hs = hz.unsqueeze(0), ha.unsqueeze(0), hs.unsqueeze(0)
            n = self.config.tokens_per_frame
            hz = hz.reshape(hz.shape[0], -1, n, hz.shape[-1])
            if hz.shape[1] != ha.shape[1]:
                raise ValueError(f'history holds {hz.shape[1]} frames but {ha.shape[1]} actions')
            ctx['history'] = (hz, self._norm(ha, 'action'), self._norm(hs, 'state'))
        return ctx

    def _inputs(self, context, actions, states):
        """Return the predictor's latents, actions and states: real history + current frame."""
        n = actions.shape[0]
        a = self._norm(actions, 'action')
        s = self._norm(states, 'state')
        z = context['z'].unsqueeze(1).expand(n, -1, -1, -1)
        if context['history'] is not None:
            hz, ha, hs = context['history']
            z = torch.cat([hz.expand(n, -1, -1, -1), z], dim=1)
            a = torch.cat([ha.expand(n, -1, -1), a], dim=1)
            s = torch.cat([hs.expand(n, -1, -1), s], dim=1)
        return z, a, s

    def rollout(self, context, actions, states, return_all: bool = False):
        """Return latents [S, N, L] after the last action ([S, H, N, L] with ``return_all``)."""
        grad = torch.is_grad_enabled() and actions.requires_grad
        with torch.set_grad_enabled(grad), self.profiler.section('predictor', self.device), \
                self._precision():
            z, a, s = self._inputs(context, actions, states)
            fast = None if grad else self._fast_predictor     # autograd needs float32
            out = self.net.rollout(z, a, s, actions.shape[1], predictor=fast).float()
        return out if return_all else out[:, -1]

    def precise_rollout(self, context, actions, states, return_all: bool = False):
        """Return ``rollout``'s latents from the float32 predictor (the planner's final say)."""
        if self.dtype == 'fp32':
            return self.rollout(context, actions, states, return_all)
        with torch.no_grad():
            out = self.net.rollout(*self._inputs(context, actions, states), actions.shape[1])
        return out if return_all else out[:, -1]
