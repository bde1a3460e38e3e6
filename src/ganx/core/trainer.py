"""The adversarial-training loop.

One `Trainer` runs one domain: it builds the data source, networks, optimizers and precision
policy, then alternates D and G phases. The hot loop never waits on the device: losses accumulate
in device tensors and are read back every `log_every` steps, where health is also checked.
"""

from __future__ import annotations

import copy
import logging
import math
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import checkpoint as ckpt
from . import distributed, rng
from .config import DomainConfig, TrainConfig, to_plain
from .data import DataSource, make_source
from .device import resolve_device
from .domain import Domain
from .errors import CheckpointError, ConfigError, GanxError, RunError, TrainingInterrupted
from .losses import (
    AdversarialLoss,
    d_loss_over,
    feature_matching,
    g_loss_over,
    gradient_penalty,
    r1_penalty,
    split_output,
)
from .precision import PrecisionPolicy, auto_precision
from .profiling import StepProfiler
from .runlog import RunLog
from .sampling import (
    Reference,
    accepts,
    call_domain,
    generate,
    has_model_metrics,
    model_scores,
    reference_set,
    score,
    write_samples,
)
from .validate import check_train_config

log = logging.getLogger("ganx")

Metric = Callable[[torch.Tensor, torch.Tensor, Any], Mapping[str, float]]
"""A metric: (generated samples, real samples, domain config) -> {name: value}, on CPU tensors."""


@dataclass
class RunResult:
    """What a finished `train` returns."""

    run_dir: Path
    step: int
    checkpoint: Path | None
    metrics: dict[str, float] = field(default_factory=dict)
    device: str = "cpu"
    precision: str = "fp32"


def _split(out: Any, domain: Domain) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    try:
        return split_output(out)
    except TypeError as exc:
        raise RunError(f"domain '{domain.name}': the discriminator {exc}") from None


def _plugin_method(exc: BaseException, domain: Domain) -> str | None:
    """The method of `domain` the engine called, if `exc` came from inside it."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_locals.get("self") is domain:
            return tb.tb_frame.f_code.co_name
        tb = tb.tb_next
    return None


def _channels_last(t: torch.Tensor) -> torch.Tensor:
    return t.contiguous(memory_format=torch.channels_last) if t.dim() == 4 else t


class Trainer:
    """Trains `domain` with engine settings `config` and domain settings `domain_config`.

    `loss` is a resolved adversarial loss, `metrics` the resolved metrics to evaluate. `resume`
    is a snapshot payload to continue from (see `find_resume_snapshot`), or None to start fresh.
    """

    def __init__(
        self,
        domain: Domain,
        domain_config: DomainConfig,
        config: TrainConfig,
        *,
        run_dir: Path,
        loss: AdversarialLoss,
        metrics: Mapping[str, Metric] | None = None,
        resume: tuple[Path, dict[str, Any]] | None = None,
        versions: Mapping[str, str] | None = None,
        plugin: str | None = None,
        show_progress: bool | None = None,
    ) -> None:
        self.domain, self.dcfg, self.cfg = domain, domain_config, config
        self.run_dir = Path(run_dir)
        self.loss_fn = loss
        self.metrics = dict(metrics or {})
        self.resume = resume
        self.versions = dict(versions or {})
        self.plugin = plugin or domain.name
        self.world = distributed.world_from_env()
        self.show_progress = (sys.stderr.isatty() if show_progress is None else show_progress
                              ) and self.world.writes
        self._stop_signal: int | None = None
        self._validate()

    # -- setup ----------------------------------------------------------------------------------

    def _validate(self) -> None:
        check_train_config(self.cfg)

    def resolved_config(self) -> dict[str, Any]:
        return {"plugin": self.plugin, "train": to_plain(self.cfg), "domain": to_plain(self.dcfg)}

    def _build(self) -> None:
        c, d = self.cfg, self.domain
        self.device = distributed.local_device(self.world, resolve_device(c.device))
        distributed.init(self.world)
        self.policy = PrecisionPolicy.create(self.device, c.precision)
        if c.precision == "auto":
            log.info("precision auto -> %s (%s)", self.policy.name, auto_precision(self.device)[1])
        rng.seed_everything(c.seed)
        self.dataset = call_domain(d, "build_dataset", self.dcfg, c.data)
        try:
            self.source: DataSource = make_source(
                self.dataset, c.batch_size, self.device, c.seed, c.num_workers,
                c.device_data_limit_mb, (self.world.rank, self.world.size))
        except RunError as exc:
            raise RunError(f"domain '{d.name}': {exc}") from None
        self.G = self._module(call_domain(d, "build_generator", self.dcfg), "build_generator")
        self.D = self._module(call_domain(d, "build_discriminator", self.dcfg),
                              "build_discriminator")
        self.channels_last = self._channels_last()
        if self.channels_last:
            self.G = self.G.to(memory_format=torch.channels_last)
            self.D = self.D.to(memory_format=torch.channels_last)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        self.G_train, self.D_train = self._wrap(self.G), self._wrap(self.D)
        self.D_plain = self.D  # D as the G step calls it: no DDP gradient sync
        # plugins written before extra_generator_losses took generator_net keep working
        self._extra_losses_take_g = accepts(d.extra_generator_losses, "generator_net")
        if c.compile:
            self._compile()
        # fused Adam: one kernel per tensor on CUDA, vectorised on CPUs (2x the for-loop there)
        fused = {"fused": True} if self.device.type in ("cuda", "cpu") else {}
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=c.g_lr, betas=c.betas, **fused)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=c.d_lr, betas=c.betas, **fused)
        self.pretrain_steps = min(int(call_domain(d, "pretrain_steps", self.dcfg)), c.steps)
        self.opt_pre = None
        if self.pretrain_steps > 0:  # its own optimizer: MLE and adversarial steps differ in scale
            self.opt_pre = torch.optim.Adam(self.G.parameters(), lr=c.pretrain_lr, **fused)
        for name in ("g", "d", "pre"):
            self.policy.scaler(name)
        # training noise, and the generators behind fixed snapshots and metrics
        self.noise = torch.Generator(self.device).manual_seed(c.seed + 1)
        self._snapshot_reference: Reference | None = None
        self.profiler = StepProfiler(self.cfg.profile_steps if self.world.writes else 0,
                                     first=1, out_dir=self.run_dir / "profile",
                                     device=self.device)
        self.lr_scale = 1.0
        self.rollbacks = 0
        self.step = 0
        self.d_step = 0

    def _channels_last(self) -> bool:
        """auto: channels_last on CPUs (oneDNN's convolutions: the fp32 DCGAN step measured
        1.2x faster than contiguous on AVX2, see benchmarks/results; 1.5x with bf16 on an
        avx512_bf16 CPU per REFERENCES.md) and with bf16/fp16 on CUDA (83k vs 42k img/s on an
        H200); contiguous in fp32 on CUDA (not measured), on MPS, and with `compile` (torch 2.11
        failed to compile channels_last convolution backward)."""
        choice = self.cfg.memory_format
        if choice != "auto":
            return choice == "channels_last"
        if self.cfg.compile:
            return False
        return self.device.type == "cpu" or (
            self.device.type == "cuda" and self.policy.name != "fp32")

    def _batch(self) -> tuple[torch.Tensor, tuple]:
        """The next prepared batch, 4-D tensors in the run's memory format."""
        with self.profiler.label("ganx/data"):
            real, cond = self.domain.prepare_batch(self.dcfg, self.source.next())
        if self.channels_last:
            real = _channels_last(real)
            cond = tuple(_channels_last(c) for c in cond)
        return real, cond

    def _wrap(self, net: nn.Module) -> nn.Module:
        """The network as trained: itself, or under torchrun a DistributedDataParallel wrapper
        (with synchronized BatchNorm on GPUs). D and G each sync gradients only when their own
        loss is backpropagated: the G step calls D's bare module, and D's step detaches G."""
        if not self.world.distributed:
            return net
        from torch.nn.parallel import DistributedDataParallel

        if self.device.type == "cuda":
            net = nn.SyncBatchNorm.convert_sync_batchnorm(net)
        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(net, device_ids=ids, broadcast_buffers=False)

    def _compile(self) -> None:
        self._eager = (self.G_train, self.D_train, self.D_plain)
        self.G_train = torch.compile(self.G_train)
        self.D_train = torch.compile(self.D_train)
        self.D_plain = torch.compile(self.D_plain)

    def _fall_back_to_eager(self, exc: BaseException) -> None:
        """torch.compile failed on the first step: return to the snapshot taken before it and
        train the uncompiled networks (torch 2.11 fails e.g. on channels_last backward)."""
        first_line = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        log.warning("torch.compile failed (%s: %s); training without it",
                    type(exc).__name__, first_line)
        self.G_train, self.D_train, self.D_plain = self._eager
        self._restore(ckpt.load_checkpoint(self.last_snapshot), self.last_snapshot)

    def _latent(self, local_n: int) -> torch.Tensor:
        """This rank's part of a global latent batch: every rank draws the same global batch
        and takes its slice, so N processes see the latents one process would."""
        w = self.world
        z = self.domain.sample_latent(self.dcfg, local_n * w.size, device=self.device,
                                      generator=self.noise)
        return z[w.rank * local_n: (w.rank + 1) * local_n] if w.distributed else z

    def _average_grads(self, net: nn.Module) -> None:
        import torch.distributed as dist

        grads = [p.grad for p in net.parameters() if p.grad is not None]
        if grads:
            flat = torch.cat([g.flatten() for g in grads])
            dist.all_reduce(flat)
            flat /= self.world.size
            offset = 0
            for g in grads:
                g.copy_(flat[offset: offset + g.numel()].view_as(g))
                offset += g.numel()

    def _module(self, module: Any, method: str) -> nn.Module:
        if not isinstance(module, nn.Module):
            raise RunError(
                f"domain '{self.domain.name}': {method} returned {type(module).__name__},"
                " not a torch.nn.Module"
            )
        if not any(p.requires_grad for p in module.parameters()):
            raise RunError(f"domain '{self.domain.name}': {method} returned a module without"
                           " trainable parameters")
        return module.to(self.device)

    # -- snapshots ------------------------------------------------------------------------------

    def _payload(self) -> dict[str, Any]:
        return {
            "format": ckpt.FORMAT,
            "format_version": ckpt.FORMAT_VERSION,
            "domain": self.domain.name,
            "step": self.step,
            "d_step": self.d_step,
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "G_ema": self.G_ema.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "opt_pre": self.opt_pre.state_dict() if self.opt_pre is not None else {},
            "scalers": self.policy.state_dict(),
            "rng": rng.capture(self.device),
            "noise": self.noise.get_state(),
            "data": self.source.state_dict(),
            "lr_scale": self.lr_scale,
            "config": self.resolved_config(),
            "versions": self.versions,
        }

    def _restore(self, payload: dict[str, Any], path: Path) -> None:
        try:
            self.G.load_state_dict(payload["G"])
            self.D.load_state_dict(payload["D"])
            self.G_ema.load_state_dict(payload["G_ema"])
            self.opt_g.load_state_dict(payload["opt_g"])
            self.opt_d.load_state_dict(payload["opt_d"])
            if self.opt_pre is not None and payload.get("opt_pre"):
                self.opt_pre.load_state_dict(payload["opt_pre"])
        except (RuntimeError, KeyError, ValueError) as exc:
            raise CheckpointError(
                f"{path} does not fit this run's networks (was the domain config changed?):"
                f" {str(exc).splitlines()[0][:200]}"
            ) from None
        self.policy.load_state_dict(payload["scalers"])
        rng.restore(payload["rng"], self.device)
        self.noise.set_state(payload["noise"])
        self.source.load_state_dict(payload["data"])
        self.step, self.d_step = int(payload["step"]), int(payload["d_step"])
        self.lr_scale = float(payload["lr_scale"])
        self._apply_lr()

    def _apply_lr(self) -> None:
        pairs = [(self.opt_g, self.cfg.g_lr), (self.opt_d, self.cfg.d_lr)]
        if self.opt_pre is not None:
            pairs.append((self.opt_pre, self.cfg.pretrain_lr))
        for opt, base in pairs:
            for group in opt.param_groups:
                group["lr"] = base * self.lr_scale

    def _all_finite(self) -> bool:
        tensors = [p.detach() for m in (self.G, self.D) for p in m.parameters()]
        if not tensors:
            return True
        norms = torch._foreach_norm(tensors)
        return bool(torch.isfinite(torch.stack(norms)).all())

    def _snapshot(self) -> Path:
        """Write a snapshot (rank 0 only; ranks hold identical state)."""
        path = self.ckpt_dir / ckpt.snapshot_name(self.step)
        if self.world.writes:
            ckpt.save_atomic(self._payload(), path)
            ckpt.prune(self.ckpt_dir, self.cfg.keep_checkpoints)
        distributed.barrier(self.world)  # the file exists before any rank may roll back to it
        self.last_snapshot = path
        return path

    # -- one training step -----------------------------------------------------------------------

    def _set_d_grad(self, flag: bool) -> None:
        for p in self.D.parameters():
            p.requires_grad_(flag)

    def _d_phase(self, acc: dict[str, torch.Tensor], keep_fake_graph: bool
                 ) -> tuple[torch.Tensor, tuple, torch.Tensor]:
        """One D step. With `keep_fake_graph` the fake batch keeps G's graph for the G step."""
        c, d = self.cfg, self.domain
        real, cond = self._batch()
        z = self._latent(real.shape[0])
        with self.policy.autocast():
            with torch.set_grad_enabled(keep_fake_graph):
                fake = self.G_train(z, *cond)
            real_logits = _split(self.D_train(real, *cond), d)[0]
            fake_logits = _split(self.D_train(fake.detach(), *cond), d)[0]
        loss = d_loss_over(self.loss_fn, real_logits, fake_logits)
        self._add(acc, "loss_d", loss)
        self.d_step += 1
        with self.policy.full_precision():
            if c.r1_gamma > 0 and self.d_step % c.r1_interval == 0:
                penalty = r1_penalty(self.D, real, cond)
                self._add(acc, "r1", penalty)
                loss = loss + penalty * (c.r1_gamma / 2 * c.r1_interval)
            if c.gp_weight > 0:
                penalty = gradient_penalty(self.D, real, fake, cond, generator=self.noise)
                self._add(acc, "gp", penalty)
                loss = loss + penalty * c.gp_weight
        self.opt_d.zero_grad(set_to_none=True)
        self.policy.backward_and_step(loss, self.opt_d, "d")
        return real, cond, fake

    def _g_phase(self, real: torch.Tensor, cond: tuple, fake: torch.Tensor | None,
                 acc: dict[str, torch.Tensor]) -> None:
        d = self.domain
        self._set_d_grad(False)
        try:
            with self.policy.autocast():
                if fake is None:  # d_steps > 1: the last fake is stale, draw a fresh one
                    fake = self.G_train(self._latent(real.shape[0]), *cond)
                d_fake = self.D_plain(fake, *cond)
                fake_features = _split(d_fake, d)[1]
                loss = d.generator_adversarial_loss(
                    self.dcfg, self.G, fake, d_fake,
                    lambda out: g_loss_over(self.loss_fn, _split(out, d)[0]))
                self._add(acc, "loss_g", loss)
                if self.cfg.feature_matching > 0 and fake_features:
                    with torch.no_grad():
                        real_features = _split(self.D_plain(real, *cond), d)[1]
                    fm = feature_matching(fake_features, real_features)
                    self._add(acc, "fm", fm)
                    loss = loss + fm * self.cfg.feature_matching
            loss = loss.float()
            extra = {"generator_net": self.G} if self._extra_losses_take_g else {}
            for name, term in d.extra_generator_losses(self.dcfg, real, cond, fake,
                                                       **extra).items():
                term = term.float()
                self._add(acc, name, term)
                loss = loss + term
            self.opt_g.zero_grad(set_to_none=True)
            self.policy.backward_and_step(loss, self.opt_g, "g")
        finally:
            self._set_d_grad(True)

    @torch.no_grad()
    def _update_ema(self) -> None:
        c = self.cfg
        half_life = float(c.ema_half_life)
        if c.ema_rampup > 0:  # StyleGAN2-ADA's ramp-up: young runs average over less history
            half_life = min(half_life, c.ema_rampup * (self.step + 1) * c.batch_size)
        beta = 0.5 ** (c.batch_size / half_life) if half_life > 0 else 0.0
        ema_params = list(self.G_ema.parameters())
        params = [p.detach() for p in self.G.parameters()]
        if ema_params:
            torch._foreach_lerp_(ema_params, params, 1.0 - beta)
        for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers(), strict=True):
            b_ema.copy_(b)

    @staticmethod
    def _add(acc: dict[str, torch.Tensor], name: str, value: torch.Tensor) -> None:
        value = value.detach().float()
        if name in acc:
            acc[name] += value
            acc[name + "#n"] += 1
        else:
            acc[name] = value.clone()
            acc[name + "#n"] = torch.ones((), device=value.device)

    def _pretrain_step(self, acc: dict[str, torch.Tensor]) -> None:
        """One generator-only step on the domain's pretraining loss."""
        d = self.domain
        real, cond = self._batch()
        with self.policy.autocast():
            terms = d.pretrain_loss(self.dcfg, self.G, real, cond)
        if not terms:
            raise RunError(f"domain '{d.name}': pretrain_loss returned no loss terms")
        loss = torch.zeros((), device=self.device)
        for name, term in terms.items():
            term = term.float()
            self._add(acc, name, term)
            loss = loss + term
        self.opt_pre.zero_grad(set_to_none=True)
        # the domain's loss calls the bare generator, so gradients are averaged by hand here
        sync = (lambda: self._average_grads(self.G)) if self.world.distributed else None
        self.policy.backward_and_step(loss, self.opt_pre, "pre", after_backward=sync)

    def train_step(self, acc: dict[str, torch.Tensor]) -> None:
        """One generator step and `d_steps` discriminator steps before it (or, during the
        domain's pretraining phase, one generator-only step)."""
        label = self.profiler.label
        self.domain.on_train_step(self.dcfg, self.step, self.cfg.steps, self.G)
        if self.step < self.pretrain_steps:
            with label("ganx/pretrain step"):
                self._pretrain_step(acc)
        else:
            reuse = self.cfg.d_steps == 1  # one G forward per step, as in the textbook loop
            for _ in range(self.cfg.d_steps):
                with label("ganx/D step"):
                    real, cond, fake = self._d_phase(acc, keep_fake_graph=reuse)
            with label("ganx/G step"):
                self._g_phase(real, cond, fake if reuse else None, acc)
        with label("ganx/EMA"):
            self._update_ema()
        self.step += 1

    def _first_step(self, acc: dict[str, torch.Tensor]) -> None:
        """The first step, with a plugin's shape and dtype mistakes turned into a clear error."""
        if self.cfg.compile:
            try:
                self.train_step(acc)
                return
            except Exception as exc:  # compilation errors surface on the first call
                if _plugin_method(exc, self.domain) is not None or isinstance(exc, GanxError):
                    raise
                self._fall_back_to_eager(exc)
                acc.clear()
        try:
            self.train_step(acc)
        except RuntimeError as exc:
            if _plugin_method(exc, self.domain) is not None:
                raise
            first_line = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
            raise RunError(
                f"domain '{self.domain.name}': the first training step failed ({first_line});"
                " check that the generator's output fits the discriminator"
                " (ganx.testing.DomainContract checks it)"
            ) from exc

    # -- reading back, samples, metrics ---------------------------------------------------------

    def _read(self, acc: dict[str, torch.Tensor]) -> dict[str, float]:
        """Means of the accumulated values: the one host sync every `log_every` steps."""
        names = [k for k in acc if not k.endswith("#n")]
        if not names:
            return {}
        sums = torch.stack([acc[k] for k in names])
        counts = torch.stack([acc[k + "#n"] for k in names])
        if self.world.distributed:  # every rank sees the same means and decides alike
            distributed.average([sums, counts], self.world)
        sums, counts = sums.tolist(), counts.tolist()
        return {k: s / n for k, s, n in zip(names, sums, counts, strict=True)}

    def _reference(self, n: int, seed: int) -> Reference:
        return reference_set(self.domain, self.dcfg, self.dataset, n, device=self.device,
                             seed=seed, batch_size=self.cfg.batch_size)

    def _generate(self, n: int, seed: int, reference: Reference | None) -> torch.Tensor:
        return generate(self.domain, self.dcfg, self.G_ema, n, device=self.device, seed=seed,
                        batch_size=self.cfg.batch_size, autocast=self.policy.autocast,
                        reference=reference)

    def write_samples(self) -> list[Path]:
        """Samples from G_ema with the same noise (and the same real inputs) at every snapshot."""
        c = self.cfg
        if not self.world.writes:
            return []
        if self._snapshot_reference is None:
            self._snapshot_reference = self._reference(c.n_samples, c.seed + 2)
        ref = self._snapshot_reference
        n = min(c.n_samples, len(ref[0]))
        samples = self._generate(n, c.seed + 2, ref)
        return write_samples(self.domain, self.dcfg, samples, self.samples_dir,
                             f"step-{self.step:08d}", reference=ref)

    def evaluate(self) -> dict[str, float]:
        if not self.world.writes or (not self.metrics and not has_model_metrics(self.domain)):
            return {}
        ref = self._reference(self.cfg.eval_samples, self.cfg.seed)
        results: dict[str, float] = {}
        if self.metrics:
            fake = self._generate(len(ref[0]), self.cfg.seed + 3, ref)
            results = score(self.metrics, fake, ref[0], self.dcfg)
        results.update(model_scores(self.domain, self.dcfg, self.G_ema, ref, self.device))
        return results

    # -- the run --------------------------------------------------------------------------------

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self._stop_signal is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C stops at once
        self._stop_signal = signum

    def _stop_requested(self) -> bool:
        """Whether a signal asked the run to stop. Under torchrun the ranks agree at log points
        only (a per-step agreement would be a per-step host sync), so they stop together."""
        if not self.world.distributed:
            return self._stop_signal is not None
        if self.step % self.cfg.log_every:
            return False
        return distributed.any_rank(self._stop_signal is not None, self.device, self.world)

    def _install_signals(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        return {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}

    def _rollback(self, bad_step: int, reason: str, runlog: RunLog) -> None:
        """Return to the newest good snapshot with a lower learning rate, or stop the run."""
        self.rollbacks += 1
        last = getattr(self, "last_snapshot", None)
        if self.rollbacks > self.cfg.max_rollbacks or last is None:
            raise RunError(
                f"training diverged: {reason} at step {bad_step}, still after"
                f" {self.rollbacks - 1} roll-back(s); last good snapshot: {last}"
            )
        payload = ckpt.load_checkpoint(last)
        self._restore(payload, last)
        self.lr_scale *= self.cfg.lr_backoff
        self._apply_lr()
        runlog.truncate_after(self.step)
        runlog.record(self.step, "event", {"event": "rollback", "reason": reason,
                                           "bad_step": bad_step, "lr_scale": self.lr_scale})
        log.warning("%s at step %d: rolled back to %s, learning rates x%g",
                    reason, bad_step, last.name, self.lr_scale)

    def fit(self) -> RunResult:
        self.ckpt_dir = self.run_dir / "checkpoints"
        self.samples_dir = self.run_dir / "samples"
        writes = self.world.writes
        if writes:
            for directory in (self.run_dir, self.ckpt_dir, self.samples_dir):
                directory.mkdir(parents=True, exist_ok=True)
            ckpt.remove_stale_temporaries(self.ckpt_dir)
        else:  # one log for the job: rank 0's
            log.setLevel(logging.WARNING)
        runlog = RunLog(self.run_dir, write=writes)
        previous_handlers = self._install_signals()
        try:
            return self._fit(runlog)
        finally:
            for signum, handler in previous_handlers.items():
                signal.signal(signum, handler)
            runlog.close()
            distributed.shutdown(self.world)

    def _fit(self, runlog: RunLog) -> RunResult:
        c = self.cfg
        self._build()
        if self.resume is not None:
            path, payload = self.resume
            self._restore(payload, path)
            self.last_snapshot = path
            runlog.truncate_after(self.step)
            log.info("resumed %s from %s at step %d", self.plugin, path, self.step)
        else:
            self._snapshot()  # step 0: a roll-back target before the first interval ends
        log.info("training %s on %s (%s%s) for %d steps, batch %d, run dir %s", self.plugin,
                 self.device, self.policy.name, ", channels_last" if self.channels_last else "",
                 c.steps, c.batch_size, self.run_dir)
        self.profiler.first = self.step + 1  # the first step of a process warms up, unprofiled
        bar = None
        if self.show_progress:
            from tqdm import tqdm

            bar = tqdm(total=c.steps, initial=self.step, desc=self.plugin, unit="step",
                       dynamic_ncols=True)
        acc: dict[str, torch.Tensor] = {}
        started, started_step = time.perf_counter(), self.step
        final_metrics: dict[str, float] = {}
        first = True
        try:
            while self.step < c.steps:
                if self._stop_requested():
                    path = self._snapshot()
                    raise TrainingInterrupted(self._stop_signal or signal.SIGTERM, str(path))
                self.profiler.before_step(self.step)
                try:
                    if first:
                        self._first_step(acc)
                        first = False
                    else:
                        self.train_step(acc)
                except Exception as exc:  # a plugin's bug: name the domain and its method
                    method = _plugin_method(exc, self.domain)
                    if isinstance(exc, GanxError) or method is None:
                        raise
                    raise RunError(f"domain '{self.domain.name}' failed in {method} at step"
                                   f" {self.step + 1}: {type(exc).__name__}: {exc}") from exc
                self.profiler.after_step(self.step)
                if bar is not None:
                    bar.update(1)
                at_end = self.step == c.steps
                if self.step % c.log_every == 0 or at_end:
                    values = self._read(acc)
                    acc = {}
                    bad = [k for k, v in values.items() if not math.isfinite(v)]
                    if bad:
                        self._rollback(self.step, f"non-finite {', '.join(bad)}", runlog)
                        if bar is not None:
                            bar.n = self.step
                            bar.refresh()
                        continue
                    elapsed = time.perf_counter() - started
                    rate = (self.step - started_step) * c.batch_size / max(elapsed, 1e-9)
                    values["samples_per_s"] = rate
                    kind = "pretrain" if self.step <= self.pretrain_steps else "train"
                    runlog.record(self.step, kind, values)
                    text = " ".join(f"{k}={v:.4g}" for k, v in values.items())
                    if bar is not None:
                        bar.set_postfix_str(text, refresh=False)
                    else:
                        log.info("step %d/%d %s", self.step, c.steps, text)
                if self.step % c.sample_every == 0 or at_end:
                    self.write_samples()
                if (c.eval_every > 0 and self.step % c.eval_every == 0) or (
                    at_end and c.eval_every >= 0
                ):
                    final_metrics = self.evaluate()
                    if final_metrics:
                        runlog.record(self.step, "eval", final_metrics)
                        log.info("step %d eval %s", self.step, " ".join(
                            f"{k}={v:.4g}" for k, v in final_metrics.items()))
                if self.step % c.checkpoint_every == 0 or at_end:
                    if not self._all_finite():
                        self._rollback(self.step, "non-finite weights", runlog)
                        continue
                    self._snapshot()
                    self.rollbacks = 0
        finally:
            if bar is not None:
                bar.close()
        log.info("done: %d steps, snapshot %s", self.step, self.last_snapshot)
        return RunResult(self.run_dir, self.step, self.last_snapshot, final_metrics,
                         str(self.device), self.policy.name)


def find_resume_snapshot(run_dir: Path, domain_name: str) -> tuple[Path, dict[str, Any]] | None:
    """The newest loadable snapshot in `run_dir` for `domain_name`, skipping corrupt files with a
    warning. None when the run has no snapshots; RunError when it has some but none is usable."""
    directory = Path(run_dir) / "checkpoints"
    tried: list[str] = []
    for path, result in ckpt.iter_loadable(directory):
        if isinstance(result, CheckpointError):
            log.warning("skipping unusable snapshot: %s", result)
            tried.append(path.name)
            continue
        if result["domain"] != domain_name:
            raise ConfigError(
                f"run dir {run_dir} holds checkpoints of domain '{result['domain']}', not"
                f" '{domain_name}'; choose another --run-dir"
            )
        return path, result
    if tried:
        raise RunError(f"no usable snapshot in {directory} (tried {', '.join(tried)})")
    return None
