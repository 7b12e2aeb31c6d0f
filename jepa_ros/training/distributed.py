# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
DistributedDataParallel plumbing shared by the trainers.

Under ``torchrun`` (RANK / WORLD_SIZE / MASTER_ADDR set) the process group starts with nccl on
GPU and gloo on CPU; without those variables everything degrades to a single process, so the
same trainer code runs in both cases.
"""

import dataclasses
import os

import torch
import torch.distributed as dist


@dataclasses.dataclass
class DistContext:
    """Rank, world size and device of this process."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: str = 'cpu'
    initialized_here: bool = False

    @property
    def is_main(self) -> bool:
        """Return True on the process that writes logs and checkpoints."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        """Return True when more than one process trains together."""
        return self.world_size > 1


def init_distributed(device: str = 'auto') -> DistContext:
    """
    Join the process group described by the environment, or return a single-process context.

    ``device`` 'auto' picks cuda:LOCAL_RANK when CUDA is available, else cpu.
    """
    world = int(os.environ.get('WORLD_SIZE', '1'))
    rank = int(os.environ.get('RANK', '0'))
    local = int(os.environ.get('LOCAL_RANK', str(rank)))
    if device == 'auto':
        device = f'cuda:{local}' if torch.cuda.is_available() else 'cpu'
    elif device == 'cuda':
        device = f'cuda:{local}'
    if device.startswith('cuda'):
        torch.cuda.set_device(torch.device(device))
    ctx = DistContext(rank=rank, world_size=world, local_rank=local, device=device)
    if world > 1 and not dist.is_initialized():
        backend = 'nccl' if device.startswith('cuda') else 'gloo'
        dist.init_process_group(backend=backend)
        ctx.initialized_here = True
    return ctx


def wrap_ddp(module: torch.nn.Module, ctx: DistContext) -> torch.nn.Module:
    """Wrap ``module`` in DistributedDataParallel when several processes train."""
    if not ctx.enabled:
        return module
    from torch.nn.parallel import DistributedDataParallel as DDP
    ids = [torch.device(ctx.device).index] if ctx.device.startswith('cuda') else None
    return DDP(module, device_ids=ids)


def unwrap(module: torch.nn.Module) -> torch.nn.Module:
    """Return the module inside a DDP wrapper (or the module itself)."""
    return module.module if hasattr(module, 'module') else module


def all_reduce_mean(value: float, ctx: DistContext) -> float:
    """Average a Python float over all processes (for logging)."""
    if not ctx.enabled:
        return float(value)
    t = torch.tensor([float(value)], dtype=torch.float64,
                     device=ctx.device if ctx.device.startswith('cuda') else 'cpu')
    dist.all_reduce(t)
    return float(t.item()) / ctx.world_size


def gather_objects(value, ctx: DistContext) -> list:
    """Return every process's ``value`` in rank order (``[value]`` in a single process)."""
    if not ctx.enabled:
        return [value]
    out = [None] * ctx.world_size
    dist.all_gather_object(out, value)
    return out


def broadcast_buffers(module: torch.nn.Module, ctx: DistContext):
    """
    Copy rank 0's buffers (BatchNorm running statistics) to every process.

    DDP broadcasts them at the start of each forward, so after the last step every rank holds
    statistics of its own last batch; call this before replicas are saved or compared.
    """
    if ctx.enabled:
        for b in module.buffers():
            dist.broadcast(b.data, 0)


def barrier(ctx: DistContext):
    """Wait for every process (no-op in a single process)."""
    if ctx.enabled:
        dist.barrier()


def shutdown(ctx: DistContext):
    """Leave the process group if this context created it."""
    if ctx.initialized_here and dist.is_initialized():
        dist.destroy_process_group()
