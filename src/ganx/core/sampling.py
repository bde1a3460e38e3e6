"""Drawing samples from a generator and scoring them: shared by training, `sample`, `evaluate`."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from .data import reference_batch
from .domain import Domain
from .errors import GanxError, RunError


def call_domain(domain: Domain, method: str, *args: Any, **kwargs: Any) -> Any:
    """Call a domain method; a plugin bug becomes a RunError naming the domain and the method."""
    try:
        return getattr(domain, method)(*args, **kwargs)
    except GanxError:
        raise
    except NotImplementedError as exc:
        raise RunError(f"domain '{domain.name}' does not implement {method}: {exc}") from exc
    except Exception as exc:
        raise RunError(
            f"domain '{domain.name}' failed in {method}: {type(exc).__name__}: {exc}"
        ) from exc


@torch.no_grad()
def generate(
    domain: Domain, cfg: Any, generator: nn.Module, n: int, *, device: torch.device, seed: int,
    batch_size: int,
    autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
) -> torch.Tensor:
    """`n` samples as a CPU float32 tensor; the same seed gives the same samples."""
    rng = torch.Generator(device).manual_seed(seed)
    chunks = []
    for start in range(0, n, batch_size):
        k = min(batch_size, n - start)
        with autocast():
            x = call_domain(domain, "generate", cfg, generator, k, device=device, rng=rng)
        if not isinstance(x, torch.Tensor):
            raise RunError(f"domain '{domain.name}': generate returned {type(x).__name__}")
        chunks.append(x.float().cpu())
    return torch.cat(chunks)


@torch.no_grad()
def real_samples(domain: Domain, cfg: Any, dataset: Any, n: int, *, device: torch.device,
                 seed: int, batch_size: int) -> torch.Tensor:
    """A fixed subset of the real data, prepared as the discriminator sees it, on the CPU."""
    stored = reference_batch(dataset, n, seed)
    chunks = []
    for start in range(0, len(stored[0]), batch_size):
        part = tuple(t[start: start + batch_size].to(device) for t in stored)
        chunks.append(call_domain(domain, "prepare_batch", cfg, part)[0].float().cpu())
    return torch.cat(chunks)


def score(metrics: Mapping[str, Any], fake: torch.Tensor, real: torch.Tensor,
          cfg: Any) -> dict[str, float]:
    """Run each metric; a failing metric is a RunError naming it."""
    results: dict[str, float] = {}
    for name, metric in metrics.items():
        try:
            values = metric(fake, real, cfg)
            results.update({k: float(v) for k, v in values.items()})
        except GanxError:
            raise
        except Exception as exc:
            raise RunError(f"metric '{name}' failed: {type(exc).__name__}: {exc}") from exc
    return results
