"""Drawing samples from a generator and scoring them: shared by training, `sample`, `evaluate`."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .calls import call_domain, plugin_method
from .data import dataset_size, reference_batch
from .domain import Domain, describe
from .errors import GanxError, RunError
from .evaluation import EvaluationContext, evaluating
from .metric_protocol import MetricProtocol, collecting, installed_version, with_notes
from .rng import stream_seed

__all__ = ["Evaluation", "Reference", "call_domain", "evaluate_generator", "generate",
           "model_scores", "plugin_method", "reference_set", "run_evaluation", "score",
           "write_samples"]

REFERENCE_SEED = 0
"""The real items an evaluation compares with are drawn with this seed, not the run's: every run
on the same data is measured against the same reference set."""

Reference = tuple[torch.Tensor, tuple[torch.Tensor, ...]]
"""Real samples and their conditions, prepared as the discriminator sees them, on the CPU."""


@torch.no_grad()
def reference_set(domain: Domain[Any], cfg: Any, dataset: Any, n: int, *, device: torch.device,
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
    domain: Domain[Any], cfg: Any, generator: nn.Module, n: int, *, device: torch.device, seed: int,
    batch_size: int,
    autocast: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext,
    reference: Reference | None = None,
) -> torch.Tensor:
    """`n` samples as a CPU float32 tensor; the same seed gives the same samples.

    With `reference`, item i of the output corresponds to item i of the reference (the domain's
    `generate` receives aligned chunks): restoration outputs line up with their targets."""
    rng = torch.Generator(device).manual_seed(seed)
    chunks = []
    for start in range(0, n, batch_size):
        k = min(batch_size, n - start)
        chunk: Reference | None = None
        if reference is not None:
            real, cond = reference
            chunk = (real[start: start + k].to(device),
                     tuple(c[start: start + k].to(device) for c in cond))
        with autocast():
            x = call_domain(domain, "generate", cfg, generator, k, device=device, rng=rng,
                            reference=chunk, first=start)
        if not isinstance(x, torch.Tensor):
            raise RunError(f"{describe(domain)}: generate returned {type(x).__name__}")
        chunks.append(x.float().cpu())
    return torch.cat(chunks)


def write_samples(domain: Domain[Any], cfg: Any, samples: torch.Tensor, out_dir: Any, tag: str,
                  reference: Reference | None = None) -> Any:
    """The domain's sample writer, with the reference the samples were made from (or None)."""
    return call_domain(domain, "write_samples", cfg, samples, out_dir, tag, reference=reference)


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


def has_model_metrics(domain: Domain[Any]) -> bool:
    """Whether the domain overrides `model_metrics` (metrics that need the generator itself)."""
    return type(domain).model_metrics is not Domain.model_metrics


@torch.no_grad()
def model_scores(domain: Domain[Any], cfg: Any, generator: nn.Module, reference: Reference,
                 device: torch.device) -> dict[str, float]:
    """The domain's `model_metrics` as plain floats (empty when it has none)."""
    if not has_model_metrics(domain):
        return {}
    values = call_domain(domain, "model_metrics", cfg, generator, reference, device)
    return {k: float(v) for k, v in values.items()}


@dataclass(frozen=True)
class Evaluation:
    """Metric values and the protocol they were measured under."""

    values: dict[str, float]
    protocol: MetricProtocol


def reference_digest(reference: Reference) -> str:
    """SHA-256 of the real items (their float32 values and shape) an evaluation used."""
    real = reference[0].float().contiguous()
    digest = hashlib.sha256(f"{tuple(real.shape)}|".encode())
    digest.update(real.numpy().tobytes())
    return digest.hexdigest()


def _engine_protocol(protocol: MetricProtocol, ref: Reference, dataset: Any, seed: int,
                     device: torch.device) -> MetricProtocol:
    return dataclasses.replace(
        protocol, n_generated=len(ref[0]), n_real=len(ref[0]),
        reference_count=dataset_size(dataset), reference_digest=reference_digest(ref), seed=seed,
        device=str(device),
        ganx_version=installed_version("ganx"),
        torch_version=str(torch.__version__))


def run_evaluation(
    domain: Domain[Any], cfg: Any, generator: nn.Module, dataset: Any,
    metrics: Mapping[str, Any], *, n: int, seed: int, device: torch.device, batch_size: int,
    autocast: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext,
    context: EvaluationContext | None = None, protocol: MetricProtocol | None = None,
) -> Evaluation:
    """The one evaluation path (training's eval points, `ganx evaluate`, `ganx.evaluate`): the
    metrics over up to `n` generated samples against as many real ones, plus the domain's
    `model_metrics`, with the protocol they were measured under (`protocol` gives the parts the
    caller knows: reference name and split, generator, precision). The real items come from
    `REFERENCE_SEED`'s stream, the same for every run; the latents from `seed`'s."""
    base = protocol or MetricProtocol()
    if not metrics and not has_model_metrics(domain):
        return Evaluation({}, base)
    ref = reference_set(domain, cfg, dataset, n, device=device,
                        seed=stream_seed(REFERENCE_SEED, "eval_reference"),
                        batch_size=batch_size)
    results: dict[str, float] = {}
    with collecting() as notes:
        if metrics:
            fake = generate(domain, cfg, generator, len(ref[0]), device=device,
                            seed=stream_seed(seed, "eval_samples"), batch_size=batch_size,
                            autocast=autocast, reference=ref)
            with evaluating(context):
                results = score(metrics, fake, ref[0], cfg)
        results.update(model_scores(domain, cfg, generator, ref, device))
    made = with_notes(_engine_protocol(base, ref, dataset, seed, device), notes)
    return Evaluation(results, made)


def evaluate_generator(
    domain: Domain[Any], cfg: Any, generator: nn.Module, dataset: Any,
    metrics: Mapping[str, Any], *, n: int, seed: int, device: torch.device, batch_size: int,
    autocast: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext,
    context: EvaluationContext | None = None,
) -> dict[str, float]:
    """`run_evaluation`'s values alone."""
    return run_evaluation(domain, cfg, generator, dataset, metrics, n=n, seed=seed,
                          device=device, batch_size=batch_size, autocast=autocast,
                          context=context).values
