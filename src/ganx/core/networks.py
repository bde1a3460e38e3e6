"""The networks of a run, built once into one object: G, D, the EMA of G, the forms the
training step calls them in, and their optimizers.

`G` and `D` are the plain modules (what snapshots hold). The step calls `g_train` and `d_train`,
which under torchrun are DistributedDataParallel wrappers and with `compile` compiled; the G step
calls D as `d_for_g`, the bare module, so that D's gradients are only synchronised when D's own
loss is backpropagated.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import nn

from .errors import ConfigError, RunError
from .precision import PrecisionPolicy

if TYPE_CHECKING:
    from .config import TrainConfig
    from .distributed import World

log = logging.getLogger("ganx")


@dataclass
class Networks:
    """Everything with weights that a training step touches."""

    G: nn.Module
    D: nn.Module
    G_ema: nn.Module
    g_train: nn.Module
    d_train: nn.Module
    d_for_g: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    opt_pre: torch.optim.Optimizer | None
    channels_last: bool
    d_lazy_ratio: float = 1.0
    """StyleGAN2's lazy-regulariser factor for D's Adam: interval / (interval + 1) when R1 runs
    as its own phase every `r1_interval` D steps, else 1 (see `lazy_ratio`)."""
    g_lazy_ratio: float = 1.0
    """The same for G's Adam when the path-length regulariser runs every `pl_interval` G steps."""
    eager: tuple[nn.Module, nn.Module, nn.Module] | None = None
    """The uncompiled (g_train, d_train, d_for_g), kept to fall back to when compiling fails."""
    d_frozen: frozenset[int] = frozenset()
    """ids of D's parameters that `freeze_d` keeps fixed (FreezeD)."""

    def set_d_trainable(self, flag: bool) -> None:
        """Switch D's gradients on or off for the G step; frozen layers stay off."""
        for p in self.D.parameters():
            p.requires_grad_(flag and id(p) not in self.d_frozen)

    def apply_lr(self, cfg: TrainConfig, lr_scale: float, step: int) -> None:
        """Set every optimizer's learning rate (and G's and D's betas) from the config,
        `lr_scale` (lowered at each roll-back), the decay at `step` (G and D only) and the
        lazy-regulariser factors."""
        decay = lr_decay_factor(cfg, step)
        pairs = [(self.opt_g, cfg.g_lr * decay, self.g_lazy_ratio),
                 (self.opt_d, cfg.d_lr * decay, self.d_lazy_ratio)]
        if self.opt_pre is not None:
            pairs.append((self.opt_pre, cfg.pretrain_lr, 1.0))
        for opt, base, ratio in pairs:
            for group in opt.param_groups:
                group["lr"] = base * ratio * lr_scale
        for opt, ratio in ((self.opt_g, self.g_lazy_ratio), (self.opt_d, self.d_lazy_ratio)):
            betas = lazy_betas(cfg.betas, ratio)
            for group in opt.param_groups:
                group["betas"] = betas

    def all_finite(self) -> bool:
        tensors = [p.detach() for m in (self.G, self.D) for p in m.parameters()]
        if not tensors:
            return True
        norms = torch._foreach_norm(tensors)
        return bool(torch.isfinite(torch.stack(norms)).all())

    @torch.no_grad()
    def update_ema(self, cfg: TrainConfig, step: int) -> None:
        """Move G_ema toward G by the half-life in samples (with StyleGAN2-ADA's ramp-up: young
        runs average over less history); buffers are copied."""
        half_life = float(cfg.ema_half_life)
        if cfg.ema_rampup > 0:
            half_life = min(half_life, cfg.ema_rampup * (step + 1) * cfg.batch_size)
        beta = 0.5 ** (cfg.batch_size / half_life) if half_life > 0 else 0.0
        ema_params: list[torch.Tensor] = list(self.G_ema.parameters())
        if ema_params:
            params = [p.detach() for p in self.G.parameters()]
            torch._foreach_lerp_(ema_params, params, 1.0 - beta)
        for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers(), strict=True):
            b_ema.copy_(b)

    def use_eager(self) -> None:
        """Train the uncompiled networks from now on."""
        if self.eager is not None:
            self.g_train, self.d_train, self.d_for_g = self.eager
            self.eager = None


def lazy_ratio(cfg: TrainConfig, network: Literal["G", "D"] = "D") -> float:
    """StyleGAN2's correction for a regulariser that runs as its own optimizer step every
    `interval` steps: Adam's learning rate times, and its betas to the power of,
    interval / (interval + 1), so the regulariser's extra steps do not speed up the optimizer.
    Applies to D when R1 or R2 is on and lazy (`r1_interval` > 1), to G when the path-length
    regulariser is on and lazy (`pl_interval` > 1)."""
    if network == "D":
        on, interval = cfg.r1_gamma > 0 or cfg.r2_gamma > 0, cfg.r1_interval
    else:
        on, interval = cfg.pl_weight > 0, cfg.pl_interval
    return interval / (interval + 1) if on and interval > 1 else 1.0


def lazy_betas(betas: tuple[float, float], ratio: float) -> tuple[float, float]:
    """Adam's betas to the power of a lazy-regulariser factor (see `lazy_ratio`)."""
    return betas[0] ** ratio, betas[1] ** ratio


def checked_module(module: Any, domain_name: str, method: str,
                   device: torch.device) -> nn.Module:
    """A builder's result, checked to be a trainable module and moved to `device`."""
    if not isinstance(module, nn.Module):
        raise RunError(f"domain '{domain_name}': {method} returned {type(module).__name__},"
                       " not a torch.nn.Module")
    if not any(p.requires_grad for p in module.parameters()):
        raise RunError(f"domain '{domain_name}': {method} returned a module without trainable"
                       " parameters")
    return module.to(device)


def wants_channels_last(cfg: TrainConfig, device: torch.device, policy: PrecisionPolicy) -> bool:
    """auto: channels_last on CPUs (oneDNN's convolutions: the fp32 DCGAN step measured 1.2x
    faster than contiguous on AVX2, see benchmarks/results; 1.5x with bf16 on an avx512_bf16 CPU
    per REFERENCES.md) and with bf16/fp16 on CUDA (83k vs 42k img/s on an H200); contiguous in
    fp32 on CUDA (not measured), on MPS, and with `compile` (torch 2.11 failed to compile
    channels_last convolution backward)."""
    if cfg.memory_format != "auto":
        return cfg.memory_format == "channels_last"
    if cfg.compile:
        return False
    return device.type == "cpu" or (device.type == "cuda" and policy.name != "fp32")


def discriminator_layers(D: nn.Module) -> list[nn.Module]:
    """D's layers from its input on: `D.layers()` where the discriminator defines it (ganx.nn's
    do; wrappers such as augmentation pass it through), else its child modules in order."""
    layers = getattr(D, "layers", None)
    return list(layers()) if callable(layers) else list(D.children())


def freeze_layers(D: nn.Module, n: int) -> frozenset[int]:
    """Freeze D's first `n` layers (FreezeD, Mo et al. 2020); the ids of the frozen parameters."""
    if n <= 0:
        return frozenset()
    layers = discriminator_layers(D)
    if n > len(layers):
        raise ConfigError(f"freeze_d {n}: this discriminator has {len(layers)} layers; use 0 to"
                          f" {len(layers) - 1}")
    frozen = [p for layer in layers[:n] for p in layer.parameters()]
    if len(frozen) == sum(1 for _ in D.parameters()):
        raise ConfigError(f"freeze_d {n}: that freezes the whole discriminator ({len(layers)}"
                          f" layers); use at most {len(layers) - 1}")
    for p in frozen:
        p.requires_grad_(False)
    return frozenset(id(p) for p in frozen)


def _wrap(net: nn.Module, world: World, device: torch.device) -> nn.Module:
    """The network as trained: itself, or under torchrun a DistributedDataParallel wrapper (with
    synchronized BatchNorm on GPUs)."""
    if not world.distributed:
        return net
    from torch.nn.parallel import DistributedDataParallel

    if device.type == "cuda":
        net = nn.SyncBatchNorm.convert_sync_batchnorm(net)  # type: ignore[no-untyped-call]
    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(net, device_ids=ids, broadcast_buffers=False)


def lr_decay_factor(cfg: TrainConfig, step: int) -> float:
    """The learning rates' factor at `step`: 1 until `lr_decay_start` x `steps`, then falling
    linearly to 1 / (the decay's length) at the last step. A function of the step alone, so a
    resumed run continues the same schedule."""
    start = int(cfg.lr_decay_start * cfg.steps)
    if step < start or start >= cfg.steps:
        return 1.0
    return (cfg.steps - step) / (cfg.steps - start)


def _adam(params: Any, lr: float, betas: tuple[float, float],
          device: torch.device) -> torch.optim.Adam:
    # fused Adam: one kernel per tensor on CUDA, vectorised on CPUs (2x the for-loop there)
    fused = {"fused": True} if device.type in ("cuda", "cpu") else {}
    return torch.optim.Adam(params, lr=lr, betas=betas, **fused)


def build_networks(G: nn.Module, D: nn.Module, cfg: TrainConfig, *, device: torch.device,
                   world: World, policy: PrecisionPolicy, pretrain: bool) -> Networks:
    """Lay out, wrap and (optionally) compile G and D, copy G into its EMA, and make the
    optimizers (one for G's own pretraining when the domain has such a phase: maximum-likelihood
    and adversarial steps differ in scale)."""
    channels_last = wants_channels_last(cfg, device, policy)
    if channels_last:
        G = G.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        D = D.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    G_ema = copy.deepcopy(G).eval().requires_grad_(False)
    d_frozen = freeze_layers(D, cfg.freeze_d)  # before DDP, which then leaves them out
    g_train, d_train = _wrap(G, world, device), _wrap(D, world, device)
    d_for_g: nn.Module = D
    eager = None
    if cfg.compile:
        eager = (g_train, d_train, d_for_g)
        # torch.compile of a module returns an OptimizedModule (an nn.Module)
        g_train, d_train, d_for_g = (torch.compile(m) for m in eager)  # type: ignore[assignment]
    d_ratio, g_ratio = lazy_ratio(cfg, "D"), lazy_ratio(cfg, "G")
    opt_pre = _adam(G.parameters(), cfg.pretrain_lr, (0.9, 0.999), device) if pretrain else None
    nets = Networks(G, D, G_ema, g_train, d_train, d_for_g,
                    opt_g=_adam(G.parameters(), cfg.g_lr * g_ratio, lazy_betas(cfg.betas, g_ratio),
                                device),
                    opt_d=_adam(D.parameters(), cfg.d_lr * d_ratio, lazy_betas(cfg.betas, d_ratio),
                                device),
                    opt_pre=opt_pre, channels_last=channels_last, d_lazy_ratio=d_ratio,
                    g_lazy_ratio=g_ratio, eager=eager, d_frozen=d_frozen)
    for name in ("g", "d", "pre"):
        policy.scaler(name)
    return nets
