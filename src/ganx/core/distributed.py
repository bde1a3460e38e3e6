"""Scale-out on PyTorch's own stack: torchrun's environment, one process group, DDP.

Under `torchrun` every process runs the same `ganx train`. The process group is created from the
environment torchrun sets (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, ...) with gloo for CPU
tensors and NCCL for CUDA tensors. Only rank 0 writes files; the others train in lockstep.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from .errors import ConfigError


@dataclass(frozen=True)
class World:
    """This process's place in the job."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @property
    def writes(self) -> bool:
        """Whether this process writes files (snapshots, samples, logs): rank 0 only."""
        return self.rank == 0


def world_from_env() -> World:
    """The job as torchrun describes it in the environment; a single process otherwise."""
    try:
        size = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError as exc:
        raise ConfigError(f"invalid torchrun environment (RANK/WORLD_SIZE/LOCAL_RANK): {exc}"
                          ) from None
    return World(rank, size, local_rank)


def init(world: World) -> None:
    """Join the process group (idempotent): gloo for CPU tensors, NCCL for CUDA tensors."""
    if not world.distributed or dist.is_initialized():
        return
    backend = "cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo"
    if torch.cuda.is_available():
        torch.cuda.set_device(world.local_rank)
    dist.init_process_group(backend=backend, rank=world.rank, world_size=world.size)


def local_device(world: World, device: torch.device) -> torch.device:
    """Each process drives its own GPU (LOCAL_RANK); CPU processes share the CPU."""
    if world.distributed and device.type == "cuda":
        return torch.device("cuda", world.local_rank)
    return device


def broadcast(obj: Any, world: World) -> Any:
    """Rank 0's `obj` on every rank (e.g. a run directory named after rank 0's clock)."""
    if not world.distributed:
        return obj
    init(world)
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def average(tensors: list[torch.Tensor], world: World) -> None:
    """In-place mean over ranks (losses at log points, so every rank decides alike)."""
    if world.distributed and tensors:
        flat = torch.stack([t.float() for t in tensors])
        dist.all_reduce(flat)
        flat /= world.size
        for t, v in zip(tensors, flat.unbind(), strict=True):
            t.copy_(v)


def any_rank(flag: bool, device: torch.device, world: World) -> bool:
    """True on every rank when `flag` is true on any rank (a stop signal seen by one of them)."""
    if not world.distributed:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()


def shutdown(world: World) -> None:
    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()


def average_gradients(net: torch.nn.Module, world: World) -> None:
    """Average `net`'s gradients over the job's processes, for backward passes that DDP does not
    see (the bare module: pretraining, lazy regularisers)."""
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    if grads:
        flat = torch.cat([g.flatten() for g in grads])
        dist.all_reduce(flat)
        flat /= world.size
        offset = 0
        for g in grads:
            g.copy_(flat[offset: offset + g.numel()].view_as(g))
            offset += g.numel()
