"""Drawing samples from a generator and scoring them: shared by training, `sample`, `evaluate`."""

from __future__ import annotations

import contextlib
import inspect
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


Reference = tuple[torch.Tensor, tuple[torch.Tensor, ...]]
"""Real samples and their conditions, prepared as the discriminator sees them, on the CPU."""


def accepts(fn: Callable[..., Any], name: str) -> bool:
    """Whether `fn` takes a keyword argument `name` (optional hook arguments stay optional)."""
    params = inspect.signature(fn).parameters
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


@torch.no_grad()
def reference_set(domain: Domain, cfg: Any, dataset: Any, n: int, *, device: torch.device,
                  seed: int, batch_size: int) -> Reference:
    """A fixed subset of up to `n` real items, through `prepare_batch`, on the CPU.

    `prepare_batch` may draw random numbers (augmentation, corruption for restoration): they
    come from a forked RNG seeded with `seed`, so the set is the same every time and training
    randomness is untouched."""
    stored = reference_batch(dataset, n, seed)
    reals: list[torch.Tensor] = []
    conds: list[tuple[torch.Tensor, ...]] = []
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, device_type=device.type):
        torch.manual_seed(seed)
        for start in range(0, len(stored[0]), batch_size):
            part = tuple(t[start: start + batch_size].to(device) for t in stored)
            real, cond = call_domain(domain, "prepare_batch", cfg, part)
            reals.append(real.float().cpu())
            conds.append(tuple(c.cpu() for c in cond))
    merged = tuple(torch.cat(parts) for parts in zip(*conds, strict=True)) if conds[0] else ()
    return torch.cat(reals), merged


@torch.no_grad()
def generate(
    domain: Domain, cfg: Any, generator: nn.Module, n: int, *, device: torch.device, seed: int,
    batch_size: int,
    autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
    reference: Reference | None = None,
) -> torch.Tensor:
    """`n` samples as a CPU float32 tensor; the same seed gives the same samples.

    With `reference`, item i of the output corresponds to item i of the reference (the domain's
    `generate` receives aligned chunks): restoration outputs line up with their targets."""
    rng = torch.Generator(device).manual_seed(seed)
    pass_reference = reference is not None and accepts(domain.generate, "reference")
    pass_first = accepts(domain.generate, "first")
    chunks = []
    for start in range(0, n, batch_size):
        k = min(batch_size, n - start)
        extra: dict[str, Any] = {"first": start} if pass_first else {}
        if pass_reference:
            real, cond = reference
            extra["reference"] = (real[start: start + k].to(device),
                                  tuple(c[start: start + k].to(device) for c in cond))
        with autocast():
            x = call_domain(domain, "generate", cfg, generator, k, device=device, rng=rng,
                            **extra)
        if not isinstance(x, torch.Tensor):
            raise RunError(f"domain '{domain.name}': generate returned {type(x).__name__}")
        chunks.append(x.float().cpu())
    return torch.cat(chunks)


def write_samples(domain: Domain, cfg: Any, samples: torch.Tensor, out_dir: Any, tag: str,
                  reference: Reference | None = None) -> Any:
    """The domain's sample writer, given the reference when it takes one."""
    extra = {"reference": reference} if reference is not None and accepts(
        domain.write_samples, "reference") else {}
    return call_domain(domain, "write_samples", cfg, samples, out_dir, tag, **extra)


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


def has_model_metrics(domain: Domain) -> bool:
    """Whether the domain overrides `model_metrics` (metrics that need the generator itself)."""
    return type(domain).model_metrics is not Domain.model_metrics


@torch.no_grad()
def model_scores(domain: Domain, cfg: Any, generator: nn.Module, reference: Reference,
                 device: torch.device) -> dict[str, float]:
    """The domain's `model_metrics` as plain floats (empty when it has none)."""
    if not has_model_metrics(domain):
        return {}
    values = call_domain(domain, "model_metrics", cfg, generator, reference, device)
    return {k: float(v) for k, v in values.items()}
