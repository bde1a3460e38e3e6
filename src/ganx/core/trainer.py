"""The adversarial-training loop.

One `Trainer` runs one domain. `_build` makes the data source, the networks (`networks`), the
step's phases (`phases`) and the snapshot keeper (`snapshots`); `fit` then steps until the run's
`steps`, and at the intervals the config sets reads losses back (the only host sync), checks
health (rolling back to the last good snapshot on non-finite values), writes samples, evaluates
and snapshots. Run callbacks observe all of it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import checkpoint as ckpt
from . import distributed, rng
from .callbacks import CallbackList, NamedCallback, RunInfo
from .config import DomainConfig, TrainConfig, to_plain
from .data import DataSource, make_source
from .device import resolve_device
from .domain import Domain
from .errors import GanxError, RunError
from .evaluation import EvaluationContext
from .fitted import fitted_record
from .loop import StepLoop
from .losses import AdversarialLoss
from .metric_protocol import MetricProtocol
from .networks import Networks, build_networks, checked_module
from .phases import Accumulator, StepRunner
from .precision import PrecisionPolicy, auto_precision
from .profiling import StepProfiler
from .protocols import Metric
from .runlog import RunLog
from .sampling import (
    Evaluation,
    Reference,
    call_domain,
    generate,
    plugin_method,
    reference_set,
    run_evaluation,
)
from .sampling import write_samples as write_domain_samples
from .signals import StopSignals
from .snapshots import (
    Snapshots,
    TrainingState,
    find_resume_snapshot,
    initialise_run,
    restore,
    rollback_target,
)
from .standing import StandingStats
from .validate import check_train_config

log = logging.getLogger("ganx")

__all__ = ["Metric", "RunResult", "Trainer", "find_resume_snapshot"]


@dataclass
class RunResult:
    """What a finished `train` returns."""

    run_dir: Path
    step: int
    checkpoint: Path | None
    metrics: dict[str, float] = field(default_factory=dict)
    device: str = "cpu"
    precision: str = "fp32"
    stopped_early: str | None = None
    """Why a run callback stopped the run before `steps`, or None."""


def _first_line(exc: BaseException, limit: int) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else ""


def _channels_last(t: torch.Tensor) -> torch.Tensor:
    return t.contiguous(memory_format=torch.channels_last) if t.dim() == 4 else t


class Trainer:
    """Trains `domain` with engine settings `config` and domain settings `domain_config`.

    `loss` is a resolved adversarial loss, `metrics` the resolved metrics to evaluate. `resume`
    is a snapshot payload to continue from (see `find_resume_snapshot`), or None to start fresh.
    `callbacks` observe the run (see `ganx.core.callbacks`).
    """

    def __init__(
        self,
        domain: Domain[Any],
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
        callbacks: Sequence[NamedCallback] = (),
    ) -> None:
        check_train_config(config)
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
        self.callback_entries = list(callbacks)
        self.ckpt_dir = self.run_dir / "checkpoints"
        self.samples_dir = self.run_dir / "samples"

    # -- views of the built run ------------------------------------------------------------------

    @property
    def G(self) -> nn.Module:
        return self.nets.G

    @property
    def D(self) -> nn.Module:
        return self.nets.D

    @property
    def G_ema(self) -> nn.Module:
        return self.nets.G_ema

    @property
    def channels_last(self) -> bool:
        return self.nets.channels_last

    @property
    def step(self) -> int:
        return self.state.step

    def resolved_config(self) -> dict[str, Any]:
        """The configs as snapshots record them (with the domain's fitted state, if any)."""
        config = {"plugin": self.plugin, "train": to_plain(self.cfg),
                  "domain": to_plain(self.dcfg)}
        if self.dcfg.fitted:
            config["fitted"] = fitted_record(self.domain, self.dcfg)
        return config

    # -- setup -----------------------------------------------------------------------------------

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
        G = checked_module(call_domain(d, "build_generator", self.dcfg), d.name,
                           "build_generator", self.device)
        D = checked_module(call_domain(d, "build_discriminator", self.dcfg), d.name,
                           "build_discriminator", self.device)
        self.pretrain_steps = min(int(call_domain(d, "pretrain_steps", self.dcfg)), c.steps)
        self.nets: Networks = build_networks(G, D, c, device=self.device, world=self.world,
                                             policy=self.policy, pretrain=self.pretrain_steps > 0)
        noise = torch.Generator(self.device).manual_seed(rng.stream_seed(c.seed, "training_noise"))
        lecam = torch.zeros(2, device=self.device) if c.lecam_weight > 0 else None
        pl_mean = torch.zeros((), device=self.device) if c.pl_weight > 0 else None
        self.state = TrainingState(noise, lecam=lecam, pl_mean=pl_mean)
        self.profiler = StepProfiler(c.profile_steps if self.world.writes else 0, first=1,
                                     out_dir=self.run_dir / "profile", device=self.device)
        self.runner = StepRunner(
            d, self.dcfg, c, self.nets, self.policy, self.loss_fn, next_batch=self._batch,
            latent=self._latent, label=self.profiler.label, gp_noise=noise,
            average_grads=(partial(distributed.average_gradients, world=self.world)
                           if self.world.distributed else None),
            lecam_averages=lecam, pl_mean=pl_mean)
        self.snapshots = Snapshots(self.ckpt_dir, c.keep_checkpoints, self.world)
        self._snapshot_reference: Reference | None = None
        self.standing = StandingStats(d, self.dcfg, c, self.nets.G_ema, self.device)
        self.rollbacks = 0

    def _batch(self) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """The next prepared batch, 4-D tensors in the run's memory format."""
        with self.profiler.label("ganx/data"):
            real, cond = self.domain.prepare_batch(self.dcfg, self.source.next())
        if self.nets.channels_last:
            real = _channels_last(real)
            cond = tuple(_channels_last(c) for c in cond)
        return real, cond

    def _latent(self, local_n: int) -> torch.Tensor:
        """This rank's part of a global latent batch: every rank draws the same global batch
        and takes its slice, so N processes see the latents one process would."""
        w = self.world
        z = self.domain.sample_latent(self.dcfg, local_n * w.size, device=self.device,
                                      generator=self.state.noise)
        return z[w.rank * local_n: (w.rank + 1) * local_n] if w.distributed else z

    # -- snapshots --------------------------------------------------------------------------------

    def _snapshot(self) -> Path:
        self.standing.refresh(self.state.step)
        header = {"domain": self.domain.name, "config": self.resolved_config(),
                  "versions": self.versions}
        payload = self.snapshots.payload(self.nets, self.state, self.policy, self.source, header)
        path = self.snapshots.write(payload, self.state.step)
        self.callbacks.snapshot(self.state.step, path)
        return path

    def _restore(self, payload: dict[str, Any], path: Path) -> None:
        restore(payload, path, self.nets, self.state, self.policy, self.source)
        self.runner.d_step = self.state.d_step
        self.nets.apply_lr(self.cfg, self.state.lr_scale, self.state.step)

    def _rollback(self, bad_step: int, reason: str, runlog: RunLog) -> None:
        """Return to the newest good snapshot with a lower learning rate, or stop the run."""
        self.rollbacks += 1
        last = rollback_target(self.snapshots, self.rollbacks, self.cfg.max_rollbacks, reason,
                               bad_step)
        self._restore(ckpt.load_checkpoint(last), last)
        self.state.lr_scale *= self.cfg.lr_backoff
        self.nets.apply_lr(self.cfg, self.state.lr_scale, self.state.step)
        runlog.truncate_after(self.state.step)
        self._record(runlog, "event", {"event": "rollback", "reason": reason,
                                       "bad_step": bad_step, "lr_scale": self.state.lr_scale})
        log.warning("%s at step %d: rolled back to %s, learning rates x%g",
                    reason, bad_step, last.name, self.state.lr_scale)

    # -- one training step ------------------------------------------------------------------------

    def train_step(self, acc: Accumulator) -> None:
        """One step: `d_steps` discriminator steps and a generator step (or, during the domain's
        pretraining phase, one generator-only step), then the EMA update."""
        self.domain.on_train_step(self.dcfg, self.state.step, self.cfg.steps, self.nets.G)
        if self.cfg.lr_decay_start < 1.0:
            self.nets.apply_lr(self.cfg, self.state.lr_scale, self.state.step)
        if self.state.step < self.pretrain_steps:
            with self.profiler.label("ganx/pretrain step"):
                self.runner.pretrain_step(acc)
        else:
            self.runner.adversarial_step(acc)
        with self.profiler.label("ganx/EMA"):
            self.nets.update_ema(self.cfg, self.state.step)
        self.state.d_step = self.runner.d_step
        self.state.step += 1

    def _first_step(self, acc: Accumulator) -> None:
        """The first step, with a plugin's shape and dtype mistakes turned into a clear error
        and, with `compile`, a compilation failure turned into eager training."""
        if self.cfg.compile:
            try:
                self.train_step(acc)
                return
            except Exception as exc:  # compilation errors surface on the first call
                if plugin_method(exc, self.domain) is not None or isinstance(exc, GanxError):
                    raise
                log.warning("torch.compile failed (%s: %s); training without it",
                            type(exc).__name__, _first_line(exc, 200))
                self.nets.use_eager()
                assert self.snapshots.last is not None
                self._restore(ckpt.load_checkpoint(self.snapshots.last), self.snapshots.last)
                acc.clear()
        try:
            self.train_step(acc)
        except RuntimeError as exc:
            if plugin_method(exc, self.domain) is not None:
                raise
            raise RunError(
                f"domain '{self.domain.name}': the first training step failed"
                f" ({_first_line(exc, 300)}); check that the generator's output fits the"
                " discriminator (ganx.testing.DomainContract checks it)"
            ) from exc

    # -- reading back, samples, metrics -----------------------------------------------------------

    def _generate(self, n: int, seed: int, reference: Reference | None) -> torch.Tensor:
        self.standing.refresh(self.state.step)
        return generate(self.domain, self.dcfg, self.nets.G_ema, n, device=self.device,
                        seed=seed, batch_size=self.cfg.batch_size,
                        autocast=self.policy.autocast, reference=reference)

    def write_samples(self) -> list[Path]:
        """Samples from G_ema with the same noise (and the same real inputs) at every snapshot."""
        c = self.cfg
        if not self.world.writes:
            return []
        seed = rng.stream_seed(c.seed, "snapshot_samples")
        if self._snapshot_reference is None:
            self._snapshot_reference = reference_set(
                self.domain, self.dcfg, self.dataset, c.n_samples, device=self.device,
                seed=seed, batch_size=c.batch_size)
        ref = self._snapshot_reference
        samples = self._generate(min(c.n_samples, len(ref[0])), seed, ref)
        paths: list[Path] = write_domain_samples(self.domain, self.dcfg, samples,
                                                 self.samples_dir, f"step-{self.state.step:08d}",
                                                 reference=ref)
        return paths

    def evaluate(self) -> Evaluation | None:
        """The metrics of G_ema now, with their protocol (None on ranks that do not write)."""
        if not self.world.writes:
            return None
        c = self.cfg
        self.standing.refresh(self.state.step)
        context = EvaluationContext(c.data, self.run_dir / "evaluation", self.state.step, "train")
        base = MetricProtocol(reference=c.data or "default", reference_split="train",
                              generator="ema", precision=self.policy.name)
        return run_evaluation(self.domain, self.dcfg, self.nets.G_ema, self.dataset, self.metrics,
                              n=c.eval_samples, seed=c.seed, device=self.device, context=context,
                              protocol=base, batch_size=c.batch_size, autocast=self.policy.autocast)

    # -- the run -----------------------------------------------------------------------------------

    def fit(self) -> RunResult:
        writes = self.world.writes
        if writes:
            for directory in (self.run_dir, self.ckpt_dir, self.samples_dir):
                directory.mkdir(parents=True, exist_ok=True)
            ckpt.remove_stale_temporaries(self.ckpt_dir)
        else:  # one log for the job: rank 0's
            log.setLevel(logging.WARNING)
        runlog = RunLog(self.run_dir, write=writes)
        self.signals = StopSignals(self.world)
        self.signals.install()
        self.callbacks = CallbackList([], RunInfo(self.plugin, self.run_dir, self.cfg, self.dcfg))
        error: BaseException | None = None
        try:
            return self._fit(runlog)
        except BaseException as exc:
            error = exc
            raise
        finally:
            self.callbacks.run_end(getattr(getattr(self, "state", None), "step", 0), error)
            self.signals.restore()
            runlog.close()
            distributed.shutdown(self.world)

    def _start(self, runlog: RunLog) -> None:
        """Build, then restore the snapshot to resume from or write the step-0 snapshot (a
        roll-back target before the first interval ends)."""
        c = self.cfg
        self._build()
        run = RunInfo(self.plugin, self.run_dir, c, self.dcfg, str(self.device),
                      self.policy.name, self.world.writes)
        self.callbacks = CallbackList(self.callback_entries, run)
        if self.resume is not None:
            path, payload = self.resume
            self._restore(payload, path)
            self.snapshots.last = path
            runlog.truncate_after(self.state.step)
            log.info("resumed %s from %s at step %d", self.plugin, path, self.state.step)
        elif c.init:
            initialise_run(Path(c.init), self.domain.name, self.nets)
        self.callbacks.run_start(self.state.step)
        if self.resume is None:
            self._snapshot()
        log.info("training %s on %s (%s%s) for %d steps, batch %d, run dir %s", self.plugin,
                 self.device, self.policy.name,
                 ", channels_last" if self.nets.channels_last else "", c.steps, c.batch_size,
                 self.run_dir)
        self.profiler.first = self.state.step + 1  # a process's first step warms up, unprofiled

    def _fit(self, runlog: RunLog) -> RunResult:
        self._start(runlog)
        loop = StepLoop(self, runlog)
        try:
            loop.run()
        finally:
            loop.close()
        log.info("done: %d steps, snapshot %s", self.state.step, self.snapshots.last)
        return RunResult(self.run_dir, self.state.step, self.snapshots.last, loop.final_metrics,
                         str(self.device), self.policy.name, self.callbacks.run.stop_reason)

    def _record(self, runlog: RunLog, kind: str, values: dict[str, Any],
                protocol: MetricProtocol | None = None) -> None:
        runlog.record(self.state.step, kind,
                      {**values, "protocol": protocol.to_dict()} if protocol else values)
        self.callbacks.record(self.state.step, kind, values)
