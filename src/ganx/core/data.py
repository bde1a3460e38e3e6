"""The engine's data path. The engine, not the plugin, owns batching.

A dataset of tensors that fits `device_data_limit_mb` is moved to the device once and batches are
gathered there by index: no host round trip per step. Anything else streams through a DataLoader
with pinned memory and workers. Both walk the data in the same order: one random permutation per
epoch from a CPU generator seeded by (seed, epoch), so the position (epoch, offset) is all a
checkpoint needs to resume the exact order, on any device.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler, TensorDataset

from .errors import ConfigError, RunError

log = logging.getLogger("ganx")


def epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed((seed * 1_000_003 + epoch) % (2**63))
    return torch.randperm(n, generator=gen)


class _Position:
    """(epoch, offset) into the per-epoch orders; partial last batches are dropped.

    A dataset smaller than the batch is walked in "epochs" of several permutations laid end to
    end (enough to fill one batch), so a batch of 64 from 25 items holds every item two or three
    times."""

    def __init__(self, n: int, batch_size: int, seed: int) -> None:
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.repeats = -(-batch_size // n) if n < batch_size else 1
        self.span = n * self.repeats
        self.epoch, self.offset = 0, 0

    def order(self, epoch: int) -> torch.Tensor:
        """The item order of `epoch` (`span` indices into the dataset)."""
        if self.repeats == 1:
            return epoch_permutation(self.n, self.seed, epoch)
        return torch.cat([epoch_permutation(self.n, self.seed, epoch * self.repeats + r)
                          for r in range(self.repeats)])

    def advance(self) -> tuple[int, int]:
        """The (epoch, offset) of the next batch, moving past it."""
        if self.offset + self.batch_size > self.span:
            self.epoch, self.offset = self.epoch + 1, 0
        here = (self.epoch, self.offset)
        self.offset += self.batch_size
        return here

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "offset": self.offset}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.offset = int(state["epoch"]), int(state["offset"])


def _shard_slice(offset: int, batch_size: int, shard: tuple[int, int]) -> slice:
    """This rank's part of the global batch at `offset` (ranks take equal, disjoint parts)."""
    rank, size = shard
    local = batch_size // size
    return slice(offset + rank * local, offset + (rank + 1) * local)


class DeviceTensorSource:
    """Tensors resident on the device, batched by on-device indexing. With `shard` (rank, world
    size) each rank takes its part of every global batch of `batch_size`."""

    def __init__(self, tensors: tuple[torch.Tensor, ...], batch_size: int, device: torch.device,
                 seed: int, shard: tuple[int, int] = (0, 1)) -> None:
        self.tensors = tuple(t.to(device) for t in tensors)
        self.device = device
        self.shard = shard
        self.position = _Position(len(tensors[0]), batch_size, seed)
        self._perm: torch.Tensor | None = None
        self._perm_epoch = -1

    def next(self) -> tuple[torch.Tensor, ...]:
        epoch, offset = self.position.advance()
        if epoch != self._perm_epoch:
            perm = self.position.order(epoch)
            self._perm, self._perm_epoch = perm.to(self.device, non_blocking=True), epoch
        assert self._perm is not None
        idx = self._perm[_shard_slice(offset, self.position.batch_size, self.shard)]
        return tuple(t[idx] for t in self.tensors)

    def state_dict(self) -> dict[str, int]:
        return self.position.state_dict()

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.position.load_state_dict(state)
        self._perm_epoch = -1


class _ResumableBatchSampler(Sampler[list[int]]):
    """Endless batches of indices following the per-epoch permutations from a given position."""

    def __init__(self, n: int, batch_size: int, seed: int, state: dict[str, int],
                 shard: tuple[int, int]) -> None:
        self.position = _Position(n, batch_size, seed)
        self.position.load_state_dict(state)
        self.shard = shard

    def __iter__(self) -> Iterator[list[int]]:
        perm_epoch, perm = -1, torch.empty(0, dtype=torch.long)
        while True:
            epoch, offset = self.position.advance()
            if epoch != perm_epoch:
                perm_epoch = epoch
                perm = self.position.order(epoch)
            yield perm[_shard_slice(offset, self.position.batch_size, self.shard)].tolist()


class StreamingSource:
    """A Dataset streamed through a DataLoader (pinned memory and workers) to the device."""

    def __init__(self, dataset: Dataset[Any], batch_size: int, device: torch.device, seed: int,
                 num_workers: int, shard: tuple[int, int] = (0, 1)) -> None:
        self.dataset, self.device, self.seed, self.shard = dataset, device, seed, shard
        self.batch_size, self.num_workers = batch_size, num_workers
        self.n = len(dataset)  # type: ignore[arg-type]
        self.position = _Position(self.n, batch_size, seed)
        self._iter: Iterator[Any] | None = None

    def _start(self) -> None:
        sampler = _ResumableBatchSampler(self.n, self.batch_size, self.seed,
                                         self.position.state_dict(), self.shard)
        loader = DataLoader(
            self.dataset, batch_sampler=sampler, num_workers=self.num_workers,
            pin_memory=self.device.type == "cuda", persistent_workers=self.num_workers > 0,
            prefetch_factor=4 if self.num_workers > 0 else None,
        )
        self._iter = iter(loader)

    def next(self) -> tuple[torch.Tensor, ...]:
        if self._iter is None:
            self._start()
        batch = next(self._iter)  # type: ignore[arg-type]
        self.position.advance()  # counts what the trainer consumed, not what workers prefetched
        if isinstance(batch, torch.Tensor):
            batch = (batch,)
        return tuple(t.to(self.device, non_blocking=True) for t in batch)

    def state_dict(self) -> dict[str, int]:
        return self.position.state_dict()

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.position.load_state_dict(state)
        self._iter = None


DataSource = DeviceTensorSource | StreamingSource


def as_tensors(data: Any) -> tuple[torch.Tensor, ...] | None:
    """The dataset as a tuple of tensors sharing their first dimension, or None if it is not."""
    if isinstance(data, torch.Tensor):
        data = (data,)
    if isinstance(data, tuple | list) and data and all(isinstance(t, torch.Tensor) for t in data):
        if any(len(t) != len(data[0]) for t in data):
            raise RunError("the domain's dataset tensors have different lengths")
        return tuple(data)
    return None


def dataset_size(data: Any) -> int:
    """How many items a dataset as `build_dataset` returns it holds."""
    tensors = as_tensors(data)
    return len(tensors[0]) if tensors is not None else _sized_length(data)


def _sized_length(data: Any) -> int:
    if not isinstance(data, Dataset) or not hasattr(data, "__len__"):
        raise RunError(
            f"build_dataset returned {type(data).__name__}; expected a tensor, a tuple of tensors"
            " or a sized torch.utils.data.Dataset"
        )
    return len(data)


def make_source(data: Any, batch_size: int, device: torch.device, seed: int,
                num_workers: int, device_limit_mb: int,
                shard: tuple[int, int] = (0, 1)) -> DataSource:
    """The data path for a dataset; `batch_size` is global, each of `shard`'s ranks gets its
    share of every batch."""
    if batch_size % shard[1]:
        raise ConfigError(f"batch_size {batch_size} does not split evenly over {shard[1]}"
                          f" processes; use a multiple of {shard[1]}")
    tensors = as_tensors(data)
    size = len(tensors[0]) if tensors is not None else _sized_length(data)
    if size == 0:
        raise RunError("the dataset is empty")
    if size < batch_size:
        low = batch_size // size
        log.warning("batch_size %d is larger than the dataset (%d samples): every batch holds"
                    " each sample %s times", batch_size, size,
                    low if batch_size % size == 0 else f"{low} or {low + 1}")
    if tensors is not None:
        nbytes = sum(t.numel() * t.element_size() for t in tensors)
        if nbytes <= device_limit_mb * 2**20:
            return DeviceTensorSource(tensors, batch_size, device, seed, shard)
        data = TensorDataset(*tensors)
    return StreamingSource(data, batch_size, device, seed, num_workers, shard)


def reference_batch(data: Any, n: int, seed: int) -> tuple[torch.Tensor, ...]:
    """A fixed random subset of up to `n` stored items (for metrics), on the CPU."""
    tensors = as_tensors(data)
    size = len(tensors[0]) if tensors is not None else len(data)
    idx = epoch_permutation(size, seed, -1)[: min(n, size)]
    if tensors is not None:
        return tuple(t[idx] for t in tensors)
    items = [data[i] for i in idx.tolist()]
    if isinstance(items[0], torch.Tensor):
        return (torch.stack(items),)
    return tuple(torch.stack(parts) for parts in zip(*items, strict=True))
