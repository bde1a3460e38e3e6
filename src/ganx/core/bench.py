"""Training-step throughput: the engine's step against a textbook loop, side by side.

The textbook loop is what a practitioner writes by hand after pytorch/examples' dcgan: the same
generator, discriminator, data, batch and device as the run, fp32, BCE on logits, Adam, and a
`.item()` read of both losses every step. The engine's loop is `Trainer.train_step` with the
run's settings (EMA, regularizers and all), under each precision and memory format asked for.
Variants are timed in interleaved rounds and the median round counts, so a noisy machine hurts
every variant alike.
"""

from __future__ import annotations

import dataclasses
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from .config import DomainConfig, TrainConfig, apply_settings
from .data import make_source
from .device import resolve_device
from .domain import Domain
from .errors import ConfigError
from .losses import AdversarialLoss, split_output
from .sampling import call_domain


@dataclass
class BenchRow:
    """One measured loop."""

    loop: str
    precision: str
    memory_format: str
    samples_per_s: float
    peak_memory_mb: float | None
    """CUDA memory its steps allocate at peak beyond what was resident before (None on CPU)."""
    ratio: float = 1.0
    """Throughput relative to the textbook loop."""


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def textbook_step(domain: Domain[Any], dcfg: DomainConfig, tcfg: TrainConfig,
                  device: torch.device) -> Callable[[], None]:
    """One step of the hand-written loop, as a closure over its networks and optimizers."""
    torch.manual_seed(tcfg.seed)
    G = call_domain(domain, "build_generator", dcfg).to(device)
    D = call_domain(domain, "build_discriminator", dcfg).to(device)
    dataset = call_domain(domain, "build_dataset", dcfg, tcfg.data)
    source = make_source(dataset, tcfg.batch_size, device, tcfg.seed, tcfg.num_workers,
                         tcfg.device_data_limit_mb)
    opt_g = torch.optim.Adam(G.parameters(), lr=tcfg.g_lr, betas=tcfg.betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=tcfg.d_lr, betas=tcfg.betas)
    noise = torch.Generator(device).manual_seed(tcfg.seed)

    def bce(out: Any, target: float) -> torch.Tensor:
        logits = split_output(out)[0]
        return torch.stack([F.binary_cross_entropy_with_logits(t, torch.full_like(t, target))
                            for t in logits]).sum()

    def step() -> None:
        real, cond = domain.prepare_batch(dcfg, source.next())
        z = domain.sample_latent(dcfg, real.shape[0], device=device, generator=noise)
        opt_d.zero_grad()
        fake = G(z, *cond)
        loss_d = bce(D(real, *cond), 1.0) + bce(D(fake.detach(), *cond), 0.0)
        loss_d.backward()  # type: ignore[no-untyped-call]
        opt_d.step()
        opt_g.zero_grad()
        loss_g = bce(D(fake, *cond), 1.0)
        loss_g.backward()  # type: ignore[no-untyped-call]
        opt_g.step()
        loss_d.item(), loss_g.item()  # the textbook loop prints them every step

    return step


def engine_step(domain: Domain[Any], dcfg: DomainConfig, tcfg: TrainConfig, loss: AdversarialLoss,
                run_dir: Path) -> Callable[[], None]:
    """One step of the engine's loop (no snapshots or logging; losses stay on the device)."""
    from .phases import Accumulator
    from .trainer import Trainer

    trainer = Trainer(domain, dcfg, tcfg, run_dir=run_dir, loss=loss, show_progress=False)
    trainer._build()
    acc = Accumulator()

    def step() -> None:
        trainer.train_step(acc)
        if trainer.step % tcfg.log_every == 0:
            acc.means(trainer.world)  # the engine's one host sync per log interval
            acc.clear()

    return step


def _time(step: Callable[[], None], steps: int, device: torch.device) -> float:
    _sync(device)
    started = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return time.perf_counter() - started


def variants_for(device: torch.device, precisions: Sequence[str],
                 formats: Sequence[str]) -> list[tuple[str, str]]:
    """(precision, memory format) pairs that the device supports."""
    out = []
    for precision in precisions:
        if precision == "fp16" and device.type != "cuda":
            continue
        if precision == "bf16" and device.type == "cuda" and \
                not torch.cuda.is_bf16_supported(including_emulation=False):
            continue
        out += [(precision, fmt) for fmt in formats]
    return out


def run_bench(domain: Domain[Any], dcfg: DomainConfig, tcfg: TrainConfig, loss: AdversarialLoss, *,
              steps: int = 20, warmup: int = 5, rounds: int = 3,
              precisions: Sequence[str] = ("fp32", "bf16"),
              formats: Sequence[str] = ("contiguous", "channels_last"),
              report: Callable[[str], None] = lambda line: None) -> list[BenchRow]:
    """Measure the textbook loop and the engine under each precision / memory format."""
    if steps < 1 or warmup < 0 or rounds < 1:
        raise ConfigError("bench needs steps >= 1, warmup >= 0 and rounds >= 1")
    device = resolve_device(tcfg.device)
    tcfg = dataclasses.replace(tcfg, device=str(device), eval_every=-1)
    loops: dict[tuple[str, str, str], Callable[[], None]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        loops[("textbook", "fp32", "contiguous")] = textbook_step(domain, dcfg, tcfg, device)
        for precision, fmt in variants_for(device, precisions, formats):
            cfg = apply_settings(tcfg, {"precision": precision, "memory_format": fmt},
                                 "bench variant")
            loops[("ganx", precision, fmt)] = engine_step(domain, dcfg, cfg, loss,
                                                          Path(tmp) / f"{precision}-{fmt}")
        peaks: dict[tuple[str, str, str], float | None] = {}
        for key, step in loops.items():
            resident = 0
            if device.type == "cuda":
                resident = torch.cuda.memory_allocated(device)
                torch.cuda.reset_peak_memory_stats(device)
            _time(step, max(warmup, 1), device)  # also allocates the optimizer states
            peaks[key] = ((torch.cuda.max_memory_allocated(device) - resident) / 2**20
                          if device.type == "cuda" else None)
        times: dict[tuple[str, str, str], list[float]] = {key: [] for key in loops}
        for r in range(rounds):
            for key, step in loops.items():
                times[key].append(_time(step, steps, device))
            report(f"round {r + 1}/{rounds} done")
    rows = []
    for key, seconds in times.items():
        rate = steps * tcfg.batch_size / statistics.median(seconds)
        rows.append(BenchRow(*key, samples_per_s=rate, peak_memory_mb=peaks[key]))
    base = rows[0].samples_per_s
    for row in rows:
        row.ratio = row.samples_per_s / base
    return rows


def format_table(rows: Sequence[BenchRow], title: str) -> str:
    lines = [title, "",
             "| loop | precision | memory format | samples/s | vs textbook | step memory peak |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        peak = f"{r.peak_memory_mb:.0f} MiB" if r.peak_memory_mb is not None else "n/a (CPU)"
        lines.append(f"| {r.loop} | {r.precision} | {r.memory_format} | {r.samples_per_s:,.0f}"
                     f" | {r.ratio:.2f}x | {peak} |")
    return "\n".join(lines)
