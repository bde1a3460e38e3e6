"""Standing statistics for the EMA generator (`ema_standing_stats`; BigGAN, Brock et al. 2019).

The EMA generator's weights are an average of the generator's, but its batch-norm statistics are
copied from the generator at every step (`Networks.update_ema`): statistics of other weights.
The longer the average, the worse they fit (a spoken-digit run with a 4x longer half-life lost
most of its words). Recomputing them from the EMA generator's own activations on a fixed set of
latents, before it is shown (snapshot, sample grid, evaluation), makes them fit. Training never
reads them: the next step copies the generator's statistics in again, so runs and resumes are
unchanged.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch
from torch import nn

from . import rng
from .calls import call_domain
from .config import TrainConfig
from .domain import Domain


class _ForwardDone(BaseException):
    """Raised after the generator's forward pass, skipping the domain's post-processing (e.g.
    Griffin-Lim), which the statistics do not need. A BaseException, so the wrapping of plugin
    errors (which catches Exception) lets it through."""


class _ForwardOnly(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        self.net(*args, **kwargs)
        raise _ForwardDone


def batch_norms(net: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@torch.no_grad()
def recompute_batch_norm_stats(domain: Domain[Any], cfg: Any, generator: nn.Module, n: int, *,
                               device: torch.device, seed: int, batch_size: int) -> bool:
    """Set `generator`'s batch-norm running statistics to the mean over `n` of its samples
    (drawn by the domain's `generate` with a generator seeded `seed`, in batches of
    `batch_size`, in fp32 like `ganx sample` and `ganx evaluate`); False, changing nothing,
    when it has no batch norm."""
    norms = batch_norms(generator)
    if not norms or n < 1:
        return False
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the batches, not an exponential one
    noise = torch.Generator(device).manual_seed(seed)
    probe = _ForwardOnly(generator)
    generator.train()
    try:
        for first in range(0, n, batch_size):
            with contextlib.suppress(_ForwardDone):
                call_domain(domain, "generate", cfg, probe, min(batch_size, n - first),
                            device=device, rng=noise, first=first)
    finally:
        generator.eval()
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum
    return True


class StandingStats:
    """The run's standing statistics: refreshed at most once per step, and only when
    `ema_standing_stats` asks for them."""

    def __init__(self, domain: Domain[Any], cfg: Any, train: TrainConfig, generator: nn.Module,
                 device: torch.device) -> None:
        self.domain, self.cfg, self.train, self.generator = domain, cfg, train, generator
        self.device = device
        self.step = -1

    def refresh(self, step: int) -> None:
        if self.train.ema_standing_stats > 0 and step != self.step:
            recompute_batch_norm_stats(
                self.domain, self.cfg, self.generator, self.train.ema_standing_stats,
                device=self.device, seed=rng.stream_seed(self.train.seed, "standing_stats"),
                batch_size=self.train.batch_size)
            self.step = step
