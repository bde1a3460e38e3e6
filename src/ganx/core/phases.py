"""One training step, as a list of phases.

A phase is one optimizer step of one network on one loss: D main (the adversarial loss, plus
WGAN-GP when on), D reg (R1 on real data, every `r1_interval` D steps when lazy), G main (the
adversarial loss, feature matching and the domain's extra terms), and pretrain (the domain's own
generator-only loss, during its pretraining phase), G reg (the path-length regulariser, every
`pl_interval` G steps). `plan_phases` says which phases a run has and how often each runs, in
the spirit of StyleGAN2-ADA's loop; `StepRunner` runs them.

Losses accumulate in device tensors (`Accumulator`), read back every `log_every` steps: the step
itself never waits on the device.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

from . import distributed, path_length
from .config import DomainConfig, TrainConfig
from .domain import Domain
from .errors import RunError
from .losses import (
    AdversarialLoss,
    d_loss_over,
    decision_boundary,
    feature_matching,
    g_loss_over,
    gradient_penalty,
    is_paired,
    lecam_penalty,
    r1_penalty,
    split_output,
)
from .networks import Networks
from .precision import PrecisionPolicy

log = logging.getLogger("ganx")

Batch = tuple[torch.Tensor, tuple[torch.Tensor, ...]]


@dataclass(frozen=True)
class Phase:
    """One optimizer step of `network` that runs when its network's step count is a multiple of
    `interval`; `gain` scales its regulariser so a lazy one weighs what an every-step one would."""

    name: Literal["D main", "D reg", "G main", "G reg", "pretrain"]
    network: Literal["G", "D"]
    interval: int = 1
    gain: float = 1.0


def plan_phases(cfg: TrainConfig) -> list[Phase]:
    """The phases of an adversarial step. R1 and R2 with `r1_interval` 1 run inside D main; with
    a longer interval they are their own phase (and D's Adam is rescaled, see
    `networks.lazy_ratio`). The path-length regulariser is always its own G phase."""
    phases = [Phase("D main", "D")]
    if cfg.r1_gamma > 0 or cfg.r2_gamma > 0:
        interval = cfg.r1_interval
        phases.append(Phase("D reg", "D", interval, gain=float(interval)))
    phases.append(Phase("G main", "G"))
    if cfg.pl_weight > 0:
        phases.append(Phase("G reg", "G", cfg.pl_interval, gain=float(cfg.pl_interval)))
    return phases


@dataclass
class Accumulator:
    """Sums and counts of logged values, kept on the device between log points."""

    sums: dict[str, torch.Tensor] = field(default_factory=dict)
    counts: dict[str, torch.Tensor] = field(default_factory=dict)

    def add(self, name: str, value: torch.Tensor) -> None:
        value = value.detach().float()
        if name in self.sums:
            self.sums[name] += value
            self.counts[name] += 1
        else:
            self.sums[name] = value.clone()
            self.counts[name] = torch.ones((), device=value.device)

    def clear(self) -> None:
        self.sums.clear()
        self.counts.clear()

    def means(self, world: distributed.World) -> dict[str, float]:
        """Means of the values added since the last clear, averaged over ranks (so every rank
        decides alike): the one host sync every `log_every` steps."""
        names = list(self.sums)
        if not names:
            return {}
        sums = torch.stack([self.sums[k] for k in names])
        counts = torch.stack([self.counts[k] for k in names])
        distributed.average([sums, counts], world)
        return {k: s / n for k, s, n in zip(names, sums.tolist(), counts.tolist(), strict=True)}


def _split(out: Any, domain: Domain[Any]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    try:
        return split_output(out)
    except TypeError as exc:
        raise RunError(f"domain '{domain.name}': the discriminator {exc}") from None


@dataclass
class StepRunner:
    """Runs the phases of one training step on a run's networks."""

    domain: Domain[Any]
    dcfg: DomainConfig
    cfg: TrainConfig
    nets: Networks
    policy: PrecisionPolicy
    loss_fn: AdversarialLoss
    next_batch: Callable[[], Batch]
    latent: Callable[[int], torch.Tensor]
    """This process's latents for a batch of the given size (the training-noise stream)."""
    label: Callable[[str], AbstractContextManager[Any]]
    """Names a stretch of the step for the profiler."""
    gp_noise: torch.Generator | None = None
    """The generator the penalties draw from (the training-noise stream): WGAN-GP's interpolation
    weights, the path-length regulariser's image-space directions."""
    average_grads: Callable[[torch.nn.Module], None] | None = None
    """Averages a network's gradients over processes (torchrun), where DDP does not."""
    d_step: int = 0
    lecam_averages: torch.Tensor | None = None
    """LeCam's moving averages of D's mean outputs (real, generated), kept in snapshots."""
    pl_mean: torch.Tensor | None = None
    """The path-length regulariser's running mean of the lengths, kept in snapshots."""

    def __post_init__(self) -> None:
        self.phases = plan_phases(self.cfg)
        d_reg = [p for p in self.phases if p.name == "D reg"]
        self.d_reg = d_reg[0] if d_reg and d_reg[0].interval > 1 else None
        self.reg_in_main = bool(d_reg) and self.d_reg is None
        self.g_reg = next((p for p in self.phases if p.name == "G reg"), None)
        if self.g_reg is not None:
            path_length.check_generator(self.nets.G, self.domain.name)
        self.paired = is_paired(self.loss_fn)
        # a discriminator may watch its outputs on real data and report values to log (ADA)
        self.observe_real = getattr(self.nets.D, "observe_real_logits", None)
        self.training_stats = getattr(self.nets.D, "training_stats", None)
        # r_t counts real logits on the real side of the loss's boundary (0.5 under LSGAN);
        # a loss without one is measured from 0, after the warning
        boundary = decision_boundary(self.loss_fn)
        if boundary is None and self.observe_real is not None:
            log.warning("loss %s fixes no real/generated boundary on D's output, so the"
                        " discriminator's overfitting heuristic r_t = E[sign(D(real))] (ADA's)"
                        " may not track overfitting; prefer nonsaturating, hinge or lsgan",
                        self.cfg.loss)
        self.boundary = boundary or 0.0

    def adversarial_step(self, acc: Accumulator) -> None:
        """`d_steps` rounds of D main (and D reg when due), then G main. With one D step the fake
        batch keeps G's graph for G main: one G forward per step, as in the textbook loop."""
        reuse = self.cfg.d_steps == 1
        for _ in range(self.cfg.d_steps):
            with self.label("ganx/D step"):
                real, cond, fake = self.d_main(acc, keep_fake_graph=reuse)
            if self.d_reg is not None and self.d_step % self.d_reg.interval == 0:
                with self.label("ganx/D reg"):
                    self.d_regularise(real, fake, cond, self.d_reg.gain, acc)
        with self.label("ganx/G step"):
            self.g_main(real, cond, fake if reuse else None, acc)
        # G steps so far: one per d_steps D steps (d_step is in snapshots, so resume agrees)
        if self.g_reg is not None and (self.d_step // self.cfg.d_steps) % self.g_reg.interval == 0:
            with self.label("ganx/G reg"):
                self.g_regularise(real.shape[0], cond, self.g_reg.gain, acc)

    def d_main(self, acc: Accumulator, keep_fake_graph: bool) -> tuple[torch.Tensor, tuple[
            torch.Tensor, ...], torch.Tensor]:
        nets, cfg = self.nets, self.cfg
        real, cond = self.next_batch()
        z = self.latent(real.shape[0])
        with self.policy.autocast():
            with torch.set_grad_enabled(keep_fake_graph):
                fake = nets.g_train(z, *cond)
            real_logits = _split(nets.d_train(real, *cond), self.domain)[0]
            fake_logits = _split(nets.d_train(fake.detach(), *cond), self.domain)[0]
        loss = d_loss_over(self.loss_fn, real_logits, fake_logits)
        acc.add("loss_d", loss)
        self.d_step += 1
        self._watch(real_logits, acc)
        if cfg.lecam_weight > 0:
            assert self.lecam_averages is not None
            lecam = lecam_penalty(real_logits, fake_logits, self.lecam_averages, cfg.lecam_decay)
            acc.add("lecam", lecam)
            loss = loss + lecam * cfg.lecam_weight
        with self.policy.full_precision():  # gradient penalties in fp32
            if self.reg_in_main:
                loss = loss + self._penalties(real, fake, cond, 1.0, acc)
            if cfg.gp_weight > 0:
                penalty = gradient_penalty(nets.D, real, fake, cond, generator=self.gp_noise)
                acc.add("gp", penalty)
                loss = loss + penalty * cfg.gp_weight
        nets.opt_d.zero_grad(set_to_none=True)
        self.policy.backward_and_step(loss, nets.opt_d, "d")
        return real, cond, fake

    def _watch(self, real_logits: list[torch.Tensor], acc: Accumulator) -> None:
        # the overfitting heuristic r_t = E[sign(D(real) - boundary)] for every run: near 1 when
        # D has learned the training images by heart (Karras et al. 2020, ADA); no host sync here
        # and no extra kernel in the usual case of a boundary at 0
        centred = [t.detach() - self.boundary if self.boundary else t.detach()
                   for t in real_logits]
        acc.add("rt", centred[0].float().sign().mean())
        if self.observe_real is not None:
            self.observe_real(centred)
        if self.training_stats is not None:
            for name, value in self.training_stats().items():
                acc.add(name, value)

    def _penalties(self, real: torch.Tensor, fake: torch.Tensor, cond: tuple[torch.Tensor, ...],
                   gain: float, acc: Accumulator) -> torch.Tensor:
        """R1 on real and R2 on generated samples, weighted (gamma / 2) and scaled by `gain`."""
        cfg, total = self.cfg, torch.zeros((), device=real.device)
        for name, gamma, samples in (("r1", cfg.r1_gamma, real), ("r2", cfg.r2_gamma, fake)):
            if gamma > 0:
                penalty = r1_penalty(self.nets.D, samples, cond)
                acc.add(name, penalty)
                total = total + penalty * (gamma / 2 * gain)
        return total

    def d_regularise(self, real: torch.Tensor, fake: torch.Tensor,
                     cond: tuple[torch.Tensor, ...], gain: float, acc: Accumulator) -> None:
        """R1 (and R2) as their own D step (lazy regularisation), weighted by `gain` = their
        interval."""
        nets = self.nets
        with self.policy.full_precision():
            loss = self._penalties(real, fake, cond, gain, acc)
        nets.opt_d.zero_grad(set_to_none=True)
        sync = self._sync(nets.D)
        self.policy.backward_and_step(loss, nets.opt_d, "d", after_backward=sync)

    def g_regularise(self, batch: int, cond: tuple[torch.Tensor, ...], gain: float,
                     acc: Accumulator) -> None:
        """The path-length penalty as its own G step on a smaller batch (StyleGAN2's lazy
        regularisation), weighted by `gain` = its interval, in fp32 like the gradient
        penalties."""
        nets = self.nets
        assert self.pl_mean is not None
        n = max(1, batch // path_length.PL_BATCH_SHRINK)
        with self.policy.full_precision():
            lengths = path_length.path_lengths(nets.G, self.latent(n),
                                               tuple(c[:n] for c in cond), self.gp_noise)
            penalty = path_length.path_length_penalty(lengths, self.pl_mean)
        acc.add("pl", penalty)
        nets.opt_g.zero_grad(set_to_none=True)
        self.policy.backward_and_step(penalty * (self.cfg.pl_weight * gain), nets.opt_g, "g",
                                      after_backward=self._sync(nets.G))

    def g_main(self, real: torch.Tensor, cond: tuple[torch.Tensor, ...],
               fake: torch.Tensor | None, acc: Accumulator) -> None:
        nets, d = self.nets, self.domain
        nets.set_d_trainable(False)
        try:
            with self.policy.autocast():
                if fake is None:  # d_steps > 1: the last fake is stale, draw a fresh one
                    fake = nets.g_train(self.latent(real.shape[0]), *cond)
                loss = self._g_adversarial(real, cond, fake, acc)
            loss = loss.float()
            for name, term in d.extra_generator_losses(self.dcfg, real, cond, fake,
                                                       generator_net=nets.G).items():
                term = term.float()
                acc.add(name, term)
                loss = loss + term
            nets.opt_g.zero_grad(set_to_none=True)
            self.policy.backward_and_step(loss, nets.opt_g, "g")
        finally:
            nets.set_d_trainable(True)

    def _g_adversarial(self, real: torch.Tensor, cond: tuple[torch.Tensor, ...],
                       fake: torch.Tensor, acc: Accumulator) -> torch.Tensor:
        nets, d = self.nets, self.domain
        d_fake = nets.d_for_g(fake, *cond)
        fake_features = _split(d_fake, d)[1]
        real_logits = None
        if self.paired:  # a relativistic loss rates each fake against a real sample
            with torch.no_grad():
                real_logits = _split(nets.d_for_g(real, *cond), d)[0]
        loss = d.generator_adversarial_loss(
            self.dcfg, nets.G, fake, d_fake,
            lambda out: g_loss_over(self.loss_fn, _split(out, d)[0], real_logits))
        acc.add("loss_g", loss)
        if self.cfg.feature_matching > 0 and fake_features:
            with torch.no_grad():
                real_features = _split(nets.d_for_g(real, *cond), d)[1]
            fm = feature_matching(fake_features, real_features)
            acc.add("fm", fm)
            loss = loss + fm * self.cfg.feature_matching
        return loss

    def pretrain_step(self, acc: Accumulator) -> None:
        """One generator-only step on the domain's pretraining loss."""
        nets, d = self.nets, self.domain
        assert nets.opt_pre is not None
        real, cond = self.next_batch()
        with self.policy.autocast():
            terms = d.pretrain_loss(self.dcfg, nets.G, real, cond)
        if not terms:
            raise RunError(f"domain '{d.name}': pretrain_loss returned no loss terms")
        loss = torch.zeros((), device=real.device)
        for name, term in terms.items():
            term = term.float()
            acc.add(name, term)
            loss = loss + term
        nets.opt_pre.zero_grad(set_to_none=True)
        # the domain's loss calls the bare generator, so gradients are averaged by hand here
        self.policy.backward_and_step(loss, nets.opt_pre, "pre", after_backward=self._sync(nets.G))

    def _sync(self, net: torch.nn.Module) -> Callable[[], None] | None:
        if self.average_grads is None:
            return None
        average = self.average_grads
        return lambda: average(net)
